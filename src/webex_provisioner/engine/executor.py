"""The executor: applies a plan's actions to Webex and records each outcome durably.

Actions of one user run in order on one worker; different users run concurrently (bounded by
``webex.concurrency``). Workers only talk to Webex, through a sender (``engine.senders``: single
requests, or creates in Bulk requests); the calling thread writes the outcomes to the state store
in batches, so the store never sees two writers from one process.

Asked to stop (``should_stop``: a daemon told to stop, a lost lease), the workers take no further
unit; what is in flight finishes and is recorded, and the rest is left to the next cycle, which
plans it again. A refused token (401, or a refresh that fails) and Webex being unreachable after
the retries stop the apply too: every further request would fail the same way. What was applied
is recorded, and the error is raised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic

import structlog

from webex_provisioner.engine.senders import A, BulkSender, Done, Sender, SingleSender
from webex_provisioner.engine.steps import UserSteps
from webex_provisioner.engine.workers import run_concurrently
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import Action, AnyAction, Link, Outcome
from webex_provisioner.ports import BulkCreator, LinkStore, Record, WebexClient

log = structlog.get_logger("webex_provisioner.engine.executor")


@dataclass
class ApplyResult:
    """What applying a plan did: counts by (action, outcome), the failures, and the actions
    skipped (a user's actions after one that failed, follow-ups that wait), each with why."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[tuple[AnyAction, str]] = field(default_factory=list)
    skipped: list[tuple[AnyAction, str]] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome == Outcome.APPLIED)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def recorded(self) -> int:
        return sum(self.counts.values())

    def add(self, other: ApplyResult) -> None:
        self.counts.update(other.counts)
        self.failures.extend(other.failures)
        self.skipped.extend(other.skipped)


class Executor(Generic[A]):
    """Applies one cycle's actions of one kind (users, groups), through one sender; tells
    ``progress(done, failed)`` of each batch of outcomes as they are collected."""

    def __init__(
        self,
        sender: Sender[A],
        store: LinkStore,
        *,
        cycle_id: str,
        concurrency: int = 8,
        on_records: Callable[[Sequence[Record]], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        batch_size: int = 200,
        batch_seconds: float = 0.5,
    ) -> None:
        self._sender: Sender[A] = sender
        self._store = store
        self._cycle_id = cycle_id
        self._concurrency = max(1, concurrency)
        self._on_records = on_records
        self._progress = progress
        self._should_stop = should_stop or (lambda: False)
        self._batch_size = batch_size
        self._batch_seconds = batch_seconds

    def apply(self, actions: Sequence[A]) -> ApplyResult:
        """Apply ``actions``; the result counts what was recorded (less than planned when the
        apply was asked to stop). Raises the error that stopped it, once the rest is recorded."""
        result = ApplyResult()
        pending: list[Record] = []
        last_flush = time.monotonic()
        stopped: ProvisionerError | None = None

        def flush() -> None:
            nonlocal last_flush
            if pending:
                self._store.record(pending)
                if self._on_records:
                    self._on_records(pending)
                pending.clear()
            last_flush = time.monotonic()

        def collect(done: Done[A]) -> None:
            nonlocal stopped
            outcomes, error = done
            stopped = stopped or error
            failed = len(result.failures)
            for action, record in outcomes:
                pending.append(record)
                result.counts[(action.kind.value, record.audit.outcome.value)] += 1
                if record.audit.outcome is Outcome.FAILED:
                    result.failures.append((action, record.audit.detail))
                elif record.audit.outcome is Outcome.SKIPPED:
                    result.skipped.append((action, record.audit.detail))
            if self._progress and outcomes:
                self._progress(len(outcomes), len(result.failures) - failed)
            if len(pending) >= self._batch_size:
                flush()

        def tick() -> None:
            if time.monotonic() - last_flush >= self._batch_seconds:
                flush()

        try:
            run_concurrently(
                self._sender.units(actions),
                self._sender.send,
                concurrency=self._concurrency,
                on_result=collect,
                on_tick=tick,
                tick_seconds=self._batch_seconds,
                should_stop=lambda: self._sender.stopped() or self._should_stop(),
                name="webex",
            )
        finally:
            flush()
        if stopped is not None:
            raise self._stopped(stopped, result.recorded, len(actions))
        return result

    def _stopped(self, error: ProvisionerError, recorded: int, planned: int) -> ProvisionerError:
        log.error("apply stopped", cycle=self._cycle_id, recorded=recorded, planned=planned)
        error.args = (
            f"{error.message}. The cycle stopped after {recorded} of {planned} action(s), "
            "which are recorded; the next cycle applies the rest",
            *error.args[1:],
        )
        return error


def user_sender(
    webex: WebexClient,
    links: Mapping[str, Link],
    *,
    cycle_id: str,
    clock: Callable[[], datetime],
    bulk: bool,
    managed: frozenset[str] | None,
) -> Sender[Action]:
    """The sender of one cycle's user actions: creates in Bulk requests when ``bulk`` and the
    client can, single requests otherwise."""
    steps = UserSteps(webex, links, cycle_id=cycle_id, clock=clock, managed=managed, stop=threading.Event())
    if bulk and isinstance(webex, BulkCreator):
        return BulkSender(steps, webex)
    return SingleSender(steps)
