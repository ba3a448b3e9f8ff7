"""How the executor's units of work reach Webex: single requests, or creates in Bulk requests.

A sender cuts the actions into units (one user's actions, or a batch of creates) and applies a
unit, returning its outcomes; the executor runs units concurrently and records the outcomes.

* ``SingleSender``: every unit is one user's actions, sent as single requests.
* ``BulkSender``: users whose only action is a create are sent up to ``max_batch`` at a time in
  one Bulk request (``webex.bulk``); everything else goes as single requests. Each create's
  result becomes the outcome a single create would have given, by the same no-duplicate rules
  (``rules.outcomes``): a 409 or a lost answer is looked up before anything is sent again; a
  Bulk request refused as a whole is sent again as single creates.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar

from webex_provisioner.engine.steps import UserSteps
from webex_provisioner.engine.units import Step, StoppedError
from webex_provisioner.errors import ProvisionerError, WebexError, WebexOutcomeUnknownError
from webex_provisioner.model import Action, ActionKind, GroupAction, LicenseAction, Link
from webex_provisioner.ports import BulkCreator, CreateOutcome, Record
from webex_provisioner.rules.outcomes import Answer, CreateProgress, answer_of, stops_the_apply

A = TypeVar("A", Action, GroupAction, LicenseAction)

# A unit's outcomes, and the error that stops the apply (None if none came up).
Done = tuple[list[tuple[A, Record]], ProvisionerError | None]


class Sender(Protocol[A]):
    """Cuts actions into units (the actions of one user or group stay together, in order) and
    applies one unit at a time, from worker threads; ``stopped`` says an error stopped it."""

    def units(self, actions: Sequence[A]) -> Iterator[Sequence[A]]: ...

    def send(self, unit: Sequence[A]) -> Done[A]: ...

    def stopped(self) -> bool: ...


class SingleSender:
    """Each user's actions as single requests."""

    def __init__(self, steps: UserSteps) -> None:
        self._steps = steps

    def units(self, actions: Sequence[Action]) -> Iterator[Sequence[Action]]:
        return by_anchor(actions)

    def stopped(self) -> bool:
        return self._steps.stop.is_set()

    def send(self, unit: Sequence[Action]) -> Done[Action]:
        try:
            return self._steps.run(unit), None
        except StoppedError as exc:
            stopped: StoppedError[Action] = exc
            return stopped.results, stopped.error


class _CreateBatch(tuple[Action, ...]):
    """Creates to send in one Bulk request (a unit of work, like one user's actions)."""

    __slots__ = ()


class BulkSender:
    """Lone creates in Bulk requests of up to ``batch`` creates; the rest as single requests."""

    def __init__(self, steps: UserSteps, creator: BulkCreator, *, batch: int | None = None) -> None:
        self._steps = steps
        self._single = SingleSender(steps)
        self._creator = creator
        self._batch = max(1, min(batch or creator.max_batch, creator.max_batch))

    def stopped(self) -> bool:
        return self._steps.stop.is_set()

    def units(self, actions: Sequence[Action]) -> Iterator[Sequence[Action]]:
        batch: list[Action] = []
        for mine in by_anchor(actions):
            if len(mine) == 1 and mine[0].kind is ActionKind.CREATE:
                batch.append(mine[0])
                if len(batch) >= self._batch:
                    yield _CreateBatch(batch)
                    batch = []
            else:
                yield mine
        if batch:
            yield _CreateBatch(batch)

    def send(self, unit: Sequence[Action]) -> Done[Action]:
        if not isinstance(unit, _CreateBatch):
            return self._single.send(unit)
        results: list[tuple[Action, Record]] = []
        for action, outcome in zip(unit, self._create(unit), strict=True):
            if self._steps.stop.is_set():
                break  # not attempted: the next cycle plans it again
            try:
                results += self._steps.run([action], functools.partial(self._created, outcome=outcome))
            except StoppedError as exc:
                stopped: StoppedError[Action] = exc
                return results + stopped.results, stopped.error
        return results, None

    def _create(self, batch: Sequence[Action]) -> list[CreateOutcome | None]:
        """Send the batch; per create its outcome (``None``: the request was refused as a whole,
        nothing was created)."""
        try:
            return list(self._creator.create_users([(a.desired, a.active) for a in batch]))
        except WebexOutcomeUnknownError as exc:
            return [exc] * len(batch)
        except WebexError as exc:
            # An error that stops the apply reaches each create, which stops it with the usual
            # record; another refusal of the whole request means: send them singly.
            return [exc if stops_the_apply(exc) else None] * len(batch)

    def _created(self, action: Action, _link: Link | None, *, outcome: CreateOutcome | None) -> Step[Link]:
        """The step of one create sent in a Bulk request, from its outcome."""
        if isinstance(outcome, str):
            return Step(self._steps.new_link(action, outcome, action.desired, active=action.active))
        if outcome is None:
            return self._steps.create(action, CreateProgress(), Answer.NOT_SENT)
        if stops_the_apply(outcome):
            raise outcome
        return self._steps.create(action, CreateProgress(in_bulk=True), answer_of(outcome), outcome)


def by_anchor(actions: Sequence[A]) -> Iterator[list[A]]:
    """The actions of each user (or group), in order, together (they are applied in order)."""
    groups: dict[str, A | list[A]] = {}
    for action in actions:
        earlier = groups.setdefault(action.anchor, action)
        if earlier is action:
            continue
        if isinstance(earlier, list):
            earlier.append(action)
        else:
            groups[action.anchor] = [earlier, action]
    for group in groups.values():
        yield group if isinstance(group, list) else [group]
