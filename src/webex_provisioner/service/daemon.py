"""``run``: the long-running service that keeps Webex in step (docs/daemon.md).

* **Schedule.** A full cycle at start and every ``schedule.full_every``; incremental cycles
  every ``schedule.interval``, or, with a persistent content sync (``schedule.persist``), as soon
  as the directory reports a change, after ``schedule.batch_delay`` to gather the changes that
  come together. With ``directory.change_detection: none`` every cycle is a full one.
* **Outages.** A cycle that fails (directory or Webex unreachable, say) is retried with
  exponential backoff (1 s, 2 s, 4 s, ... up to a minute). A failed read never deprovisions
  anyone, and an incremental cycle stores its watermark only once its actions are applied and
  recorded, so the retry reads the same changes again. Users whose action failed are retried by
  the following cycles.
* **One instance per state store.** The daemon holds the state store's cycle lock for its whole
  life. A second ``run`` waits as a standby (and says so, and /healthz answers 503) until the
  lock is free, then takes over; a ``sync`` meanwhile exits 1 naming the holder.
* **Stopping.** SIGTERM or SIGINT: the cycle in progress finishes the actions in flight, records
  them, skips the rest (the next cycle plans them again), the lock is released, exit code 0. A
  second signal stops at once.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Callable
from contextlib import closing
from types import FrameType
from typing import TypeVar

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.bookkeeping import held_keys
from webex_provisioner.engine.cycle import Cycle
from webex_provisioner.engine.notifications import Notifications, not_started
from webex_provisioner.engine.report import EXIT_OK, CycleReport, utc_now
from webex_provisioner.engine.wiring import Engine, open_engine, open_feed
from webex_provisioner.errors import (
    DirectoryUnavailableError,
    ProvisionerError,
    StateError,
    StateLockedError,
)
from webex_provisioner.model import CycleKind
from webex_provisioner.ports import (
    NO_ANSWER,
    ChangeFeed,
    ChangeNotifier,
    CountsRequests,
    NotifyingFeed,
    StatsSnapshot,
)
from webex_provisioner.service.health import Health, StatusServer
from webex_provisioner.service.lease import ACTIVE, STANDBY, Announcer, cycle_lock, instance_name
from webex_provisioner.service.metrics import Metrics

log = structlog.get_logger("webex_provisioner.service.daemon")

MAX_BACKOFF = 60.0

T = TypeVar("T")


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row: 1, 2, 4, ... 60, ±10%."""
    base = min(MAX_BACKOFF, 2.0 ** max(0, failures - 1))
    return base * random.uniform(0.9, 1.1)  # noqa: S311 - jitter, not cryptography


class Daemon:
    """The service behind ``run``; ``run()`` returns the exit code once stopped."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.health = Health()
        self.metrics = Metrics()
        self.status_port: int | None = None
        self._stop = threading.Event()
        self._listener: ChangeNotifier | None = None
        self._stats: Callable[[], StatsSnapshot] | None = None
        self._polling = False
        self._lease_lost: threading.Event | None = None
        self._notifications = Notifications(config, notifiers=[])  # the configured ones once running

    def stop(self) -> None:
        """Ask the daemon to stop after the actions in flight (any thread)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.wake()

    def run(self, *, handle_signals: bool = True) -> int:
        restore = self._handle_signals() if handle_signals else None
        server = None
        try:
            listen = self.config.schedule.listen_at()
            if listen is not None:
                server = StatusServer(*listen, self.health, self.metrics)
                server.start()
                self.status_port = server.port
            with open_engine(self.config) as engine, closing(Notifications(self.config)) as notifications:
                self._notifications = notifications
                if isinstance(engine.webex, CountsRequests):
                    self._stats = engine.webex.request_stats
                    self.metrics.watch_webex(engine.webex.request_stats)
                self._hold_lock(engine)
        finally:
            if server is not None:
                server.close()
            if restore is not None:
                restore()
        log.info("daemon.stopped")
        return EXIT_OK

    # -- the lock -----------------------------------------------------------------------------

    def _hold_lock(self, engine: Engine) -> None:
        owner, waiting, failures = instance_name(), False, 0
        ha = self.config.ha
        announcer = Announcer(engine.store, owner, interval=ha.poll_seconds, clock=utc_now)
        announcer.start()
        try:
            while not self._stop.is_set():
                try:
                    with cycle_lock(engine.store, owner, ttl=ha.lease_seconds) as lost:
                        self._lease_lost = lost
                        announcer.become(ACTIVE)
                        self.health.active()
                        log.info(
                            "daemon.started",
                            instance=owner,
                            change_detection=self.config.directory.change_detection,
                        )
                        self._serve(engine)
                    if not lost.is_set():
                        return
                    log.error("daemon.lease_lost", instance=owner, detail="another instance took over")
                    announcer.become(STANDBY)
                    waiting = False
                except StateLockedError:
                    holder = _quietly(engine.store.lock_owner)
                    self.health.standby(holder)
                    announcer.become(STANDBY)
                    if not waiting:
                        log.warning(
                            "daemon.standby",
                            holder=holder,
                            detail="another instance holds the cycle lock of this state store; this one "
                            f"takes over within {ha.takeover_after.total_seconds():g} s of it stopping",
                        )
                        waiting = True
                    self._stop.wait(ha.poll_seconds)
                except StateError as exc:
                    failures += 1
                    log.error(
                        "daemon.state_unavailable",
                        error=exc.message,
                        retry_in_seconds=round(backoff(failures)),
                    )
                    self._stop.wait(backoff(failures))
        finally:
            announcer.close()

    def _should_stop(self) -> bool:
        return self._stop.is_set() or (self._lease_lost is not None and self._lease_lost.is_set())

    # -- cycles -------------------------------------------------------------------------------

    def _serve(self, engine: Engine) -> None:
        schedule = self.config.schedule
        cycle = engine.cycle()
        feed: ChangeFeed | None = None
        next_full, errors, partial = 0.0, 0, 0
        try:
            while not self._should_stop():
                if feed is None and self.config.directory.change_detection != "none":
                    try:
                        feed = open_feed(self.config, engine.directory)
                    except ProvisionerError as exc:
                        errors += 1
                        self._reachability(None, exc)
                        log.error("daemon.change_detection_unavailable", error=exc.message)
                        self._notifications.after(not_started(exc), engine.store)
                        self._pause(backoff(errors), listen=False)
                        continue
                report = self._cycle(engine, cycle, feed, full=time.monotonic() >= next_full)
                if report.interrupted or self._should_stop():
                    break
                if report.error is not None:
                    errors += 1
                    self._pause(backoff(errors), listen=False)
                    continue
                errors = 0
                if report.kind is CycleKind.FULL:
                    next_full = time.monotonic() + schedule.full_every.total_seconds()
                self._listen(feed)
                partial = partial + 1 if report.applied is not None and report.applied.failed else 0
                wait = schedule.interval.total_seconds()
                if partial:  # some users failed: try them again sooner
                    wait = min(wait, backoff(partial))
                self._pause(min(wait, max(0.0, next_full - time.monotonic())), listen=True)
        finally:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            if feed is not None:
                feed.close()

    def _cycle(self, engine: Engine, cycle: Cycle, feed: ChangeFeed | None, *, full: bool) -> CycleReport:
        before = self._stats() if self._stats is not None else None
        started = time.monotonic()
        self.health.change_detection = _kind(feed) + (" (persistent)" if self._listener else "")
        report = cycle.run(apply=True, feed=feed, full=full, should_stop=self._should_stop)
        self._notifications.after(report, engine.store)  # never raises, never fails the cycle
        held = _quietly(lambda: len(held_keys(engine.store)))
        self.metrics.observe(report, held=held or 0)
        self.health.cycle_finished(report)
        after = self._stats() if self._stats is not None else None
        self._reachability(_webex_answered(before, after), report.failure)
        counts = report.applied.counts if report.applied is not None else {}
        log.info(
            "daemon.cycle",
            cycle=report.cycle_id,
            kind=report.kind.value,
            change_detection=_kind(feed),
            outcome=report.outcome,
            applied=sum(n for (_, outcome), n in counts.items() if outcome == "applied"),
            failed=report.applied.failed if report.applied is not None else 0,
            held=len(report.plan.held) + len(report.plan.held_groups) + len(report.plan.held_licenses),
            seconds=round(time.monotonic() - started, 3),
            directory_seconds=round(report.directory_seconds, 3),
            error=report.error,
        )
        return report

    def _reachability(self, webex_answered: bool | None, failure: ProvisionerError | None) -> None:
        if isinstance(failure, DirectoryUnavailableError):
            self.health.reachable("directory", failure.message)
            self.metrics.reachable("directory", False)
        elif failure is None or not isinstance(failure, StateError):
            self.health.reachable("directory", None)
            self.metrics.reachable("directory", True)
        if webex_answered is not None:
            self.health.reachable("webex", None if webex_answered else "no answer from Webex (or only 5xx)")
            self.metrics.reachable("webex", webex_answered)

    def _listen(self, feed: ChangeFeed | None) -> None:
        """Start the persistent content sync once, when ``schedule.persist`` allows it."""
        persist = self.config.schedule.persist
        if self._listener is not None or persist is False or self._polling:
            return
        if not isinstance(feed, NotifyingFeed):
            self._polling = True
            if persist is True:
                log.warning(
                    "daemon.persist_unavailable",
                    change_detection=_kind(feed),
                    detail="schedule.persist needs content sync; polling every schedule.interval instead",
                )
            return
        self._listener = feed.notifier()
        self._listener.start()
        log.info("daemon.persist", detail="changes are applied as the directory reports them")

    def _pause(self, seconds: float, *, listen: bool) -> None:
        """Wait ``seconds``, until stopped, or (``listen``) until the directory reports a change
        plus ``schedule.batch_delay``."""
        deadline = time.monotonic() + seconds
        listener = self._listener if listen else None
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if listener is None:
                self._stop.wait(min(left, 1.0))
            elif listener.wait(min(left, 1.0)):
                self._stop.wait(self.config.schedule.batch_delay.total_seconds())
                listener.clear()
                return

    # -- signals ------------------------------------------------------------------------------

    def _handle_signals(self) -> Callable[[], None] | None:
        if threading.current_thread() is not threading.main_thread():
            return None
        stops = (signal.SIGTERM, signal.SIGINT)
        previous = {sig: signal.getsignal(sig) for sig in stops}

        def handler(signum: int, frame: FrameType | None) -> None:
            if self._stop.is_set():
                raise KeyboardInterrupt
            log.info(
                "daemon.stopping",
                signal=signal.Signals(signum).name,
                detail="finishing the actions in flight; send the signal again to stop at once",
            )
            self.stop()

        for sig in stops:
            signal.signal(sig, handler)

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


def _webex_answered(before: StatsSnapshot | None, after: StatsSnapshot | None) -> bool | None:
    """Whether Webex answered during a cycle: ``None`` when no request was sent."""
    if before is None or after is None:
        return None
    answered = failed = 0
    for key, count in after.requests.items():
        delta = count - before.requests.get(key, 0)
        if delta <= 0:
            continue
        status = key[1]
        if status == NO_ANSWER or status.startswith("5"):
            failed += delta
        else:
            answered += delta
    if not answered and not failed:
        return None
    return answered > 0


def _quietly(read: Callable[[], T]) -> T | None:
    """``read()``, or ``None`` when the state store cannot answer (it is reported elsewhere)."""
    try:
        return read()
    except StateError:
        return None


def _kind(feed: ChangeFeed | None) -> str:
    """How the directory's changes are found (``none`` without a feed), for logs and /healthz."""
    return "none" if feed is None else feed.kind
