"""Telling operators after each cycle (docs/notifications.md): ``sync`` and ``run`` call
``Notifications.after(report, store)`` once a cycle is recorded.

It reads what the cycle found (its report, and the deprovisions held after it), lets
``rules.notifications`` decide what to tell, queues the notices for every channel, and sends
what is due. A channel that fails is logged and tried again later, waiting longer each time:
nothing here ever fails the cycle, changes its report or exit code, or raises.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.drift import drift_lines
from webex_provisioner.engine.report import CycleReport, utc_now
from webex_provisioner.engine.wiring import config_secrets
from webex_provisioner.errors import NotificationError, ProvisionerError, StateError
from webex_provisioner.model import Action, CycleKind, ProblemKind
from webex_provisioner.model.notifications import NotificationState, PendingNotice
from webex_provisioner.notify import open_notifiers
from webex_provisioner.ports import Notifier, StateStore
from webex_provisioner.rules.notification_text import render
from webex_provisioner.rules.notifications import (
    CycleOutcome,
    after_attempt,
    decide,
    due,
    enqueue,
    retry_delay,
    scrub,
)

log = structlog.get_logger("webex_provisioner.engine.notifications")

T = TypeVar("T")


def outcome_of(
    report: CycleReport,
    held: Sequence[Action] | None,
    secrets: Collection[str] = (),
    drift: Sequence[str] | None = None,
) -> CycleOutcome:
    """What ``report`` says about each condition, every text scrubbed of secrets.

    ``held`` is what the store holds after the cycle (``None`` if it could not be read). ``drift``
    is the hook for a cycle that compares Webex with the directory: the users that differ (the
    report carries no drift yet, so ``None``: not looked at)."""

    def clean(texts: Iterable[str]) -> tuple[str, ...]:
        return tuple(scrub(text, secrets) for text in texts)

    failures = report.applied.failures if report.applied is not None else []
    alone = (p for p in report.plan.problems if p.kind is not ProblemKind.PROTECTED)
    counts = report.counts()
    if held is not None:
        counts["held"] = len(held)
    return CycleOutcome(
        cycle_id=report.cycle_id,
        at=report.started_at,
        error=None if report.error is None else scrub(report.error, secrets),
        held=None
        if held is None
        else clean(f"{a.kind.value} {a.email or a.anchor} ({a.reason.value})" for a in held),
        held_others=0 if held is None else sum(1 for a in held if not a.kind.deprovisions),
        failed_users=clean(f"{action.subject or action.anchor}: {error}" for action, error in failures),
        left_alone=clean(f"{p.email or p.dn or p.anchor}: {p.kind.value}: {p.detail}" for p in alone),
        users_known=report.kind is not CycleKind.USER and report.error is None,
        drift=None if drift is None else clean(drift),
        counts=counts,
    )


def not_started(error: ProvisionerError, now: datetime | None = None) -> CycleReport:
    """The report of a cycle that could not start (``run`` cannot open its change feed): a
    failure to tell like any failed cycle, though no cycle was recorded."""
    at = now or utc_now()
    report = CycleReport(f"{at:%Y%m%dT%H%M%S}-not-started", CycleKind.FULL, at, dry_run=False)
    report.error, report.failure, report.finished_at = error.message, error, at
    return report


class Notifications:
    """The notifications of one configuration: its channels, and what to tell after a cycle."""

    def __init__(
        self,
        config: Config,
        *,
        notifiers: Sequence[Notifier] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._notify = config.notify
        self._secrets = config_secrets(config)
        self._clock = clock
        self._notifiers = list(notifiers) if notifiers is not None else open_notifiers(config)
        self._memory = NotificationState()
        """The state as last decided: stands in for the store while it cannot be read or
        written (a failing state database is a failure to tell, without telling it each cycle)."""

    @property
    def enabled(self) -> bool:
        return self._notify is not None and bool(self._notifiers)

    def close(self) -> None:
        for notifier in self._notifiers:
            notifier.close()

    def after(self, report: CycleReport, store: StateStore) -> None:
        """Decide, queue and send what ``report`` calls for; never raises (a failure is logged)."""
        if not self.enabled or report.dry_run or report.interrupted:
            return
        try:
            self._after(report, store)
        except ProvisionerError as exc:
            log.warning("notify.skipped", cycle=report.cycle_id, error=scrub(exc.message, self._secrets))
        except Exception as exc:  # a notification must never fail the cycle it reports on
            log.error("notify.failed_unexpectedly", cycle=report.cycle_id, error=repr(exc)[:300])

    def _after(self, report: CycleReport, store: StateStore) -> None:
        assert self._notify is not None
        now = self._clock()
        held = None if report.error is not None else _quietly(store.held)
        outcome = outcome_of(report, held, self._secrets, drift_lines(report))
        state = _quietly(store.notification_state) or self._memory
        decision = decide(
            outcome,
            frozenset(self._notify.events),
            state.conditions,
            now=now,
            repeat_after=self._notify.repeat_after,
        )
        channels = [n.channel for n in self._notifiers]
        outbox = enqueue(state.outbox, decision.notices, channels, decision.closed, now=now)
        queued = NotificationState(decision.conditions, outbox)
        if queued != state:
            self._save(store, queued)  # what is decided is kept, even if sending dies
        sent = NotificationState(decision.conditions, self._deliver(outbox, now))
        if sent != queued:
            self._save(store, sent)

    def _save(self, store: StateStore, state: NotificationState) -> None:
        self._memory = state
        try:
            store.set_notification_state(state)
        except StateError as exc:
            log.warning("notify.state_unavailable", error=scrub(exc.message, self._secrets))

    def _deliver(self, outbox: tuple[PendingNotice, ...], now: datetime) -> tuple[PendingNotice, ...]:
        """Send what is due, channel by channel; a channel stops at its first failure (it is
        down: trying its other notices would only add its timeout to this cycle)."""
        for notifier in self._notifiers:
            for pending in due(outbox, notifier.channel, now):
                error = self._send(notifier, pending)
                outbox = after_attempt(outbox, pending, error, now)
                if error is not None:
                    break
        return outbox

    def _send(self, notifier: Notifier, pending: PendingNotice) -> str | None:
        """``None`` once the channel took the notice, else what failed."""
        notice = pending.notice
        try:
            notifier.send(render(notice))
        except NotificationError as exc:
            error = scrub(exc.message, self._secrets)
            log.warning(
                "notify.channel_failed",
                channel=notifier.channel,
                notice=notice.event,
                cycle=notice.cycle_id,
                attempts=pending.attempts + 1,
                retry_in_seconds=int(retry_delay(pending.attempts + 1).total_seconds()),
                error=error,
            )
            return error
        log.info("notify.sent", channel=notifier.channel, notice=notice.event, cycle=notice.cycle_id)
        return None


def _quietly(read: Callable[[], T]) -> T | None:
    """``read()``, or ``None`` when the state store cannot answer (the cycle reports that)."""
    try:
        return read()
    except StateError as exc:
        log.warning("notify.state_unavailable", error=exc.message)
        return None
