"""``BulkExecutor``: the executor with creates sent in SCIM Bulk requests (``webex.bulk: true``).

Users whose only action is a ``create`` are sent up to ``MAX_OPERATIONS`` at a time in one Bulk
request; every other action goes as a single request, as in ``Executor``. Each create's result
becomes the same outcome and record a single create would have given, and the no-duplicate
rules hold per create:

* 201 with the new user's location: linked to the new Webex user;
* 409: looked up by e-mail and linked (as a 409 on a single create);
* an operation whose result is missing, a 5xx or 429 inside the Bulk answer, or a Bulk request
  whose answer is lost: looked up by e-mail first, linked if found, created (singly) only if not;
* another failure of one operation (400, ...): that user fails, the others go on;
* a Bulk request refused as a whole (nothing applied): its creates are sent singly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, runtime_checkable

from webex_provisioner.engine.executor import Executor, _Done, _Step, _StoppedError, stops_the_cycle
from webex_provisioner.errors import (
    ProvisionerError,
    WebexConflictError,
    WebexError,
    WebexOutcomeUnknownError,
)
from webex_provisioner.model import Action, ActionKind, Attributes, Link, LinkState
from webex_provisioner.ports import Record, StateStore, WebexClient
from webex_provisioner.webex.bulk import MAX_OPERATIONS, CreateOutcome


@runtime_checkable
class BulkCreator(Protocol):
    """A Webex client that can create many users in one request (``ScimWebexClient``)."""

    def create_users(self, users: Sequence[tuple[Attributes, bool]]) -> list[CreateOutcome]: ...


class _CreateBatch(tuple[Action, ...]):
    """Creates to send in one Bulk request (a unit of work, like one user's actions)."""

    __slots__ = ()


# The outcome of a Bulk request refused as a whole: nothing was created, send singly.
_NOT_SENT = None


class BulkExecutor(Executor):
    """Applies actions like ``Executor``, sending lone creates in Bulk requests of up to
    ``batch`` operations (at most ``MAX_OPERATIONS``). ``webex`` must be a ``BulkCreator``."""

    def __init__(
        self,
        webex: WebexClient,
        store: StateStore,
        links: Mapping[str, Link],
        *,
        batch: int = MAX_OPERATIONS,
        **options: Any,
    ) -> None:
        super().__init__(webex, store, links, **options)
        if not isinstance(webex, BulkCreator):
            raise TypeError(f"{type(webex).__name__} cannot send Bulk requests (it has no create_users)")
        self._creator: BulkCreator = webex
        self._batch = max(1, min(batch, MAX_OPERATIONS))

    def _units(self, groups: Iterable[list[Action]]) -> Iterator[Sequence[Action]]:
        batch: list[Action] = []
        for group in groups:
            if len(group) == 1 and group[0].kind is ActionKind.CREATE:
                batch.append(group[0])
                if len(batch) >= self._batch:
                    yield _CreateBatch(batch)
                    batch = []
            else:
                yield group
        if batch:
            yield _CreateBatch(batch)

    def _run_unit(self, unit: Sequence[Action]) -> _Done:
        if not isinstance(unit, _CreateBatch):
            return super()._run_unit(unit)
        outcomes = self._send(unit)
        results: list[tuple[Action, Record]] = []
        for action, outcome in zip(unit, outcomes, strict=True):
            if self._stop.is_set():
                break  # not attempted: the next cycle plans it again
            step = partial(self._created_in_bulk, outcome=outcome)
            try:
                results += self._apply_user([action], step)
            except _StoppedError as exc:
                return results + exc.results, exc.error
        return results, None

    def _send(self, batch: Sequence[Action]) -> list[CreateOutcome | WebexOutcomeUnknownError | None]:
        """Send the batch; per create its outcome (``None``: the request was refused as a whole,
        nothing was created)."""
        try:
            return list(self._creator.create_users([(a.desired, a.active) for a in batch]))
        except WebexOutcomeUnknownError as exc:
            return [exc] * len(batch)
        except ProvisionerError as exc:
            if stops_the_cycle(exc):
                # each create then fails the same way and stops the apply, with the usual record
                return [exc if isinstance(exc, WebexError) else _NOT_SENT] * len(batch)
            return [_NOT_SENT] * len(batch)

    def _created_in_bulk(
        self, action: Action, link: Link | None, *, outcome: CreateOutcome | WebexOutcomeUnknownError | None
    ) -> _Step:
        """The step of one create sent in a Bulk request, from its outcome."""
        desired, active = action.desired, action.active
        state = LinkState.ACTIVE if active else LinkState.DISABLED
        if isinstance(outcome, str):
            return _Step(self._new_link(action, outcome, desired, state))
        if outcome is _NOT_SENT:
            return self._create(action, desired, active=active)
        if isinstance(outcome, WebexConflictError | WebexOutcomeUnknownError):
            found = self._webex.find_by_email(desired["email"])
            if found is not None:
                user = self._adopt(action, found, desired, active)
                detail = (
                    "409 on create: linked the existing user"
                    if isinstance(outcome, WebexConflictError)
                    else "create outcome unknown (Bulk): found and linked"
                )
                return _Step(self._new_link(action, user.id, desired, state), detail)
            if isinstance(outcome, WebexConflictError):
                raise outcome
            step = self._create(action, desired, active=active)
            detail = "create outcome unknown (Bulk): not found, created again"
            return _Step(step.link, f"{detail}; {step.detail}" if step.detail else detail)
        raise outcome
