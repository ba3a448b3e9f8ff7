"""The executor: applies a plan's actions to Webex and records each outcome durably.

Actions of one user run in order on one worker; different users run concurrently (bounded by
``webex.concurrency``). Workers only talk to Webex; the calling thread writes the outcomes to
the state store in batches, so the store never sees two writers from one process.

No-duplicate rules (design.md §5): a create that answers 409 becomes a link; a create whose
outcome is unknown is resolved by a lookup by e-mail before it is sent again (up to
``CREATE_ATTEMPTS`` sends); an update that finds the Webex user gone (404) re-creates it (drift)
after the same lookup.

A refused token (401, or a refresh that fails) and Webex being unreachable after the retries
stop the apply: every further request would fail the same way. What was applied is recorded;
the actions not attempted are left to the next cycle, and the error is raised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from webex_provisioner.engine.workers import run_concurrently
from webex_provisioner.errors import (
    ProvisionerError,
    WebexAuthError,
    WebexConflictError,
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexUnavailableError,
)
from webex_provisioner.model import (
    Action,
    ActionKind,
    Attributes,
    AuditEntry,
    Change,
    Link,
    LinkState,
    Outcome,
    Reason,
    WebexUser,
)
from webex_provisioner.ports import Record, StateStore, WebexClient
from webex_provisioner.rules.planner import diff

log = structlog.get_logger("webex_provisioner.engine.executor")

CREATE_ATTEMPTS = 3
"""How many times one create is sent when each answer is lost (each time after a lookup)."""


@dataclass
class ApplyResult:
    """What applying a plan did: counts by (action, outcome), and the failures."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: list[tuple[Action, str]] = field(default_factory=list)

    @property
    def applied(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome == Outcome.APPLIED)

    @property
    def failed(self) -> int:
        return len(self.failures)


def apply_changes(current: Attributes, changes: Sequence[Change]) -> dict[str, str]:
    """``current`` with ``changes`` applied."""
    result = dict(current)
    for change in changes:
        if change.new is None:
            result.pop(change.attribute, None)
        else:
            result[change.attribute] = change.new
    return result


class _LinkedElsewhereError(WebexConflictError):
    pass


def stops_the_cycle(exc: ProvisionerError) -> bool:
    """Whether every further Webex request would fail like this: the token was refused (401) or
    could not be renewed, or Webex stayed unreachable through the retries. A 403 (one user
    beyond the token's rights) and a create whose outcome is unknown concern one user only."""
    if isinstance(exc, WebexAuthError):
        return exc.status != 403
    return isinstance(exc, WebexUnavailableError) and not isinstance(exc, WebexOutcomeUnknownError)


class _StoppedError(Exception):
    """A worker hit an error that stops the apply; ``results`` are its user's earlier outcomes."""

    def __init__(self, error: ProvisionerError, results: list[tuple[Action, Record]]) -> None:
        super().__init__(error.message)
        self.error = error
        self.results = results


# One unit's outcomes, and the error that stops the apply (None if none came up).
_Done = tuple[list[tuple[Action, Record]], ProvisionerError | None]


@dataclass
class _Step:
    link: Link | None
    detail: str = ""
    drop: bool = False


class Executor:
    """Applies actions for one cycle."""

    def __init__(
        self,
        webex: WebexClient,
        store: StateStore,
        links: Mapping[str, Link],
        *,
        cycle_id: str,
        concurrency: int = 8,
        clock: Callable[[], datetime],
        on_records: Callable[[Sequence[Record]], None] | None = None,
        progress: Callable[[int], None] | None = None,
        managed: frozenset[str] | None = None,
        batch_size: int = 200,
        batch_seconds: float = 0.5,
    ) -> None:
        self._webex = webex
        self._store = store
        self._links = links
        self._owner_map: dict[str, str] | None = None  # Webex id -> anchor, built on first use
        self._owner_lock = threading.Lock()
        self._cycle_id = cycle_id
        self._concurrency = max(1, concurrency)
        self._clock = clock
        self._on_records = on_records
        self._progress = progress
        self._managed = managed
        self._batch_size = batch_size
        self._batch_seconds = batch_seconds
        self._stop = threading.Event()

    # -- driving -------------------------------------------------------------------------

    def apply(self, actions: Sequence[Action]) -> ApplyResult:
        groups = _by_user(actions)
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

        def collect(done: _Done) -> None:
            nonlocal stopped
            outcomes, error = done
            if error is not None:
                stopped = stopped or error
            for action, record in outcomes:
                pending.append(record)
                result.counts[(action.kind.value, record.audit.outcome.value)] += 1
                if record.audit.outcome is Outcome.FAILED:
                    result.failures.append((action, record.audit.detail))
            if self._progress and outcomes:
                self._progress(len(outcomes))
            if len(pending) >= self._batch_size:
                flush()

        def tick() -> None:
            if time.monotonic() - last_flush >= self._batch_seconds:
                flush()

        try:
            run_concurrently(
                self._units(_as_lists(groups.values())),
                self._run_unit,
                concurrency=self._concurrency,
                on_result=collect,
                on_tick=tick,
                tick_seconds=self._batch_seconds,
                should_stop=self._stop.is_set,
                name="webex",
            )
        finally:
            flush()
        if stopped is not None:
            recorded = sum(result.counts.values())
            log.error("apply stopped", cycle=self._cycle_id, recorded=recorded, planned=len(actions))
            stopped.args = (
                f"{stopped.message}. The cycle stopped after {recorded} of {len(actions)} action(s), "
                "which are recorded; the next cycle applies the rest",
                *stopped.args[1:],
            )
            raise stopped
        return result

    def _units(self, groups: Iterable[list[Action]]) -> Iterator[Sequence[Action]]:
        """The units the workers take: here each user's actions (``BulkExecutor`` also batches creates)."""
        return iter(groups)

    def _run_unit(self, unit: Sequence[Action]) -> _Done:
        """Apply one unit; its outcomes, and the error that stops the apply if one came up."""
        try:
            return self._apply_user(unit), None
        except _StoppedError as exc:
            return exc.results, exc.error

    def _apply_user(
        self, actions: Sequence[Action], apply_one: Callable[[Action, Link | None], _Step] | None = None
    ) -> list[tuple[Action, Record]]:
        """One user's actions in order, each by ``apply_one`` (default: the single-request steps)."""
        apply_one = apply_one or self._apply_one
        link = self._links.get(actions[0].anchor)
        results: list[tuple[Action, Record]] = []
        for index, action in enumerate(actions):
            if self._stop.is_set():
                break  # not attempted: the next cycle plans it again
            started = time.monotonic()
            try:
                step = apply_one(action, link)
            except ProvisionerError as exc:
                if stops_the_cycle(exc):
                    self._stop.set()
                    raise _StoppedError(exc, results) from exc
                message = exc.message
                failed_link = replace(link, last_error=message, updated_at=self._clock()) if link else None
                results.append(
                    (
                        action,
                        Record(self._audit(action, Outcome.FAILED, link, message), save_link=failed_link),
                    )
                )
                log.warning(
                    "action failed",
                    cycle=self._cycle_id,
                    anchor=action.anchor,
                    email=action.email,
                    webex_id=action.webex_id or (link.webex_id if link else None),
                    action=action.kind.value,
                    reason=action.reason.value,
                    outcome="failed",
                    error=message,
                )
                for skipped in actions[index + 1 :]:
                    detail = f"skipped: the {action.kind.value} before it failed"
                    results.append((skipped, Record(self._audit(skipped, Outcome.SKIPPED, link, detail))))
                break
            link = step.link
            record = Record(
                self._audit(action, Outcome.APPLIED, link, step.detail),
                save_link=None if step.drop else link,
                drop_link=action.anchor if step.drop else None,
            )
            results.append((action, record))
            log.info(
                "action applied",
                cycle=self._cycle_id,
                anchor=action.anchor,
                email=action.email,
                webex_id=record.audit.webex_id,
                action=action.kind.value,
                reason=action.reason.value,
                outcome="applied",
                ms=round((time.monotonic() - started) * 1000, 1),
                detail=step.detail or None,
            )
        return results

    def _audit(self, action: Action, outcome: Outcome, link: Link | None, detail: str) -> AuditEntry:
        return AuditEntry(
            cycle_id=self._cycle_id,
            time=self._clock(),
            anchor=action.anchor,
            email=action.email,
            action=action.kind.value,
            reason=action.reason.value,
            outcome=outcome,
            webex_id=action.webex_id or (link.webex_id if link else None),
            detail=detail or action.detail,
        )

    # -- one action ----------------------------------------------------------------------

    def _apply_one(self, action: Action, link: Link | None) -> _Step:
        kind = action.kind
        if kind is ActionKind.CREATE:
            return self._create(action, action.desired, active=action.active)
        if kind is ActionKind.LINK:
            assert action.webex_id is not None
            self._check_owner(action.webex_id, action)
            state = LinkState.ACTIVE if action.active else LinkState.DISABLED
            return _Step(self._new_link(action, action.webex_id, action.desired, state))
        if link is None:
            raise ProvisionerError(f"{kind.value} for {action.email} ({action.anchor}) has no link to act on")
        if kind is ActionKind.UPDATE:
            return self._update(action, link)
        if kind is ActionKind.REACTIVATE:
            return self._set_active(action, link, active=True)
        if kind is ActionKind.DISABLE:
            return self._set_active(action, link, active=False)
        self._webex.delete_user(link.webex_id)
        return _Step(None, drop=True)

    def _new_link(self, action: Action, webex_id: str, applied: Attributes, state: LinkState) -> Link:
        now = self._clock()
        return Link(
            anchor=action.anchor,
            webex_id=webex_id,
            email=applied.get("email", action.email),
            dn=action.dn,
            state=state,
            applied=dict(applied),
            deprovisioned_at=now if state is LinkState.DISABLED else None,
            deprovision_reason=Reason.DISABLED_IN_DIRECTORY if state is LinkState.DISABLED else None,
            created_at=now,
            updated_at=now,
        )

    def _owners(self) -> dict[str, str]:
        """Which anchor each linked Webex id belongs to (built when a link or re-create needs it)."""
        with self._owner_lock:
            if self._owner_map is None:
                self._owner_map = {link.webex_id: link.anchor for link in self._links.values()}
            return self._owner_map

    def _check_owner(self, webex_id: str, action: Action) -> None:
        owner = self._owners().get(webex_id)
        if owner is not None and owner != action.anchor:
            raise _LinkedElsewhereError(
                f"the Webex user {webex_id} with e-mail {action.email} is already linked to directory user "
                f"{owner}; not linking it to {action.anchor}. If the address was reused, check and run "
                f"'webex-provisioner users forget {owner}'",
                status=409,
            )

    def _create(self, action: Action, desired: Attributes, *, active: bool) -> _Step:
        email = desired["email"]
        unknown = 0
        while True:
            try:
                user = self._webex.create_user(desired, active=active)
                detail = "create outcome unknown: not found, created again" if unknown else ""
                break
            except WebexConflictError:
                found = self._webex.find_by_email(email)
                if found is None:
                    raise
                user, detail = (
                    self._adopt(action, found, desired, active),
                    "409 on create: linked the existing user",
                )
                break
            except WebexOutcomeUnknownError:
                unknown += 1
                found = self._webex.find_by_email(email)
                if found is not None:
                    user, detail = (
                        self._adopt(action, found, desired, active),
                        "create outcome unknown: found and linked",
                    )
                    break
                if unknown >= CREATE_ATTEMPTS:
                    raise
        state = LinkState.ACTIVE if active else LinkState.DISABLED
        return _Step(self._new_link(action, user.id, desired, state), detail)

    def _adopt(self, action: Action, found: WebexUser, desired: Attributes, active: bool) -> WebexUser:
        """Make an existing Webex user (found after a 409 or a lost answer) match ``desired``."""
        self._check_owner(found.id, action)
        current = found.attributes
        if self._managed is not None:
            current = {k: v for k, v in current.items() if k in self._managed}
        changes = diff(desired, current)
        if changes or found.active != active:
            return self._webex.update_user(
                found.id, changes, active=None if found.active == active else active
            )
        return found

    def _update(self, action: Action, link: Link) -> _Step:
        assert action.webex_id is not None
        applied = apply_changes(link.applied, action.changes)
        try:
            self._webex.update_user(link.webex_id, action.changes)
        except WebexNotFoundError:
            return self._recreate(action, link, applied)
        return _Step(
            replace(
                link,
                applied=applied,
                email=applied.get("email", link.email),
                dn=action.dn or link.dn,
                last_error=None,
                updated_at=self._clock(),
            )
        )

    def _recreate(self, action: Action, link: Link, desired: Attributes) -> _Step:
        active = link.state is LinkState.ACTIVE
        log.warning(
            "drift: linked Webex user is gone, re-creating",
            cycle=self._cycle_id,
            anchor=link.anchor,
            email=link.email,
            webex_id=link.webex_id,
        )
        self._owners().pop(link.webex_id, None)
        step = self._create(replace(action, reason=Reason.WEBEX_USER_MISSING), desired, active=active)
        detail = f"the Webex user {link.webex_id} was deleted outside webex-provisioner; re-created"
        return _Step(step.link, f"{detail}; {step.detail}" if step.detail else detail)

    def _set_active(self, action: Action, link: Link, *, active: bool) -> _Step:
        now = self._clock()
        try:
            self._webex.update_user(link.webex_id, (), active=active)
        except WebexNotFoundError:
            if not active:
                return _Step(None, "the Webex user was already gone; link dropped", drop=True)
            return self._recreate(action, link, link.applied)
        if active:
            return _Step(
                replace(
                    link,
                    state=LinkState.ACTIVE,
                    deprovisioned_at=None,
                    deprovision_reason=None,
                    dn=action.dn or link.dn,
                    last_error=None,
                    updated_at=now,
                )
            )
        return _Step(
            replace(
                link,
                state=LinkState.DISABLED,
                deprovisioned_at=now,
                deprovision_reason=action.reason,
                last_error=None,
                updated_at=now,
            )
        )


def _by_user(actions: Sequence[Action]) -> dict[str, Action | list[Action]]:
    """The actions of each user, in order: the action itself for the (many) users with one."""
    groups: dict[str, Action | list[Action]] = {}
    for action in actions:
        earlier = groups.setdefault(action.anchor, action)
        if earlier is action:
            continue
        if isinstance(earlier, list):
            earlier.append(action)
        else:
            groups[action.anchor] = [earlier, action]
    return groups


def _as_lists(groups: Iterable[Action | list[Action]]) -> Iterator[list[Action]]:
    for group in groups:
        yield [group] if isinstance(group, Action) else group


__all__ = ["ApplyResult", "Executor", "WebexError", "apply_changes"]
