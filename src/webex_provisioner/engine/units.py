"""Applying the actions of one user or one group, in order: the part every sender shares.

Each action becomes a *step* (what it leaves: the link to save or drop, a detail for the audit
trail). An error fails that action and skips the unit's later actions (each recorded); an error
that would fail every further request too (``rules.outcomes.stops_the_apply``) stops the apply
instead (``StoppedError``, carrying the outcomes recorded so far).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from webex_provisioner.errors import ProvisionerError
from webex_provisioner.ports import Record
from webex_provisioner.rules.outcomes import stops_the_apply

L = TypeVar("L")
A = TypeVar("A")
A_contra = TypeVar("A_contra", contravariant=True)


@dataclass(frozen=True, slots=True)
class Step(Generic[L]):
    """What one applied action leaves: the link to save (``None`` with ``drop``: drop it)."""

    link: L | None
    detail: str = ""
    drop: bool = False


class StoppedError(Exception, Generic[A]):
    """An error that stops the apply; ``results`` are the outcomes of the unit's earlier actions."""

    def __init__(self, error: ProvisionerError, results: list[tuple[A, Record]]) -> None:
        super().__init__(error.message)
        self.error = error
        self.results = results


class Outcomes(Protocol[A, L]):
    """How a unit's outcomes are recorded (and logged)."""

    def applied(self, action: A, done: Step[L], started: float) -> Record: ...

    def failed(
        self, action: A, link: L | None, message: str, later: Sequence[A]
    ) -> list[tuple[A, Record]]: ...


def run_in_order(
    actions: Sequence[A],
    link: L | None,
    step: Callable[[A, L | None], Step[L]],
    outcomes: Outcomes[A, L],
    stop: threading.Event,
) -> list[tuple[A, Record]]:
    """The unit's actions in order, each by ``step``, starting from its ``link``."""
    results: list[tuple[A, Record]] = []
    for index, action in enumerate(actions):
        if stop.is_set():
            break  # not attempted: the next cycle plans it again
        started = time.monotonic()
        try:
            done = step(action, link)
        except ProvisionerError as exc:
            if stops_the_apply(exc):
                stop.set()
                raise StoppedError(exc, list(results)) from exc
            results += outcomes.failed(action, link, exc.message, actions[index + 1 :])
            break
        link = done.link
        results.append((action, outcomes.applied(action, done, started)))
    return results
