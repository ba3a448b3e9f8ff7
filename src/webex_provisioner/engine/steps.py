"""One user's actions against Webex: the requests each action sends, and the link it leaves.

``UserSteps.run`` applies one user's actions in order; each action becomes one step: a create
(with the no-duplicate rules of ``rules.outcomes``), a link, an update, a reactivation, a disable
or a delete. A failure fails that action, skips the user's later actions, and is recorded; an
error that would fail every further request too (``rules.outcomes.stops_the_apply``) stops the
apply instead. Both senders (single requests, Bulk) use these steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.engine.units import Step, run_in_order
from webex_provisioner.errors import ProvisionerError, WebexConflictError, WebexError, WebexNotFoundError
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
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record, WebexClient
from webex_provisioner.rules.lifecycle import diff
from webex_provisioner.rules.outcomes import (
    Answer,
    CreateProgress,
    Missing,
    Next,
    after_answer,
    after_lookup,
    answer_of,
    stops_the_apply,
    when_missing,
)

log = structlog.get_logger("webex_provisioner.engine.steps")


class LinkedElsewhereError(WebexConflictError):
    """The Webex user to link is linked to another directory user."""


def apply_changes(current: Attributes, changes: Sequence[Change]) -> dict[str, str]:
    """``current`` with ``changes`` applied."""
    result = dict(current)
    for change in changes:
        if change.new is None:
            result.pop(change.attribute, None)
        else:
            result[change.attribute] = change.new
    return result


# How one action becomes a step (the single-request steps, or a Bulk create's outcome).
StepFn = Callable[[Action, Link | None], Step[Link]]


class UserSteps:
    """The steps of one cycle's user actions, against one Webex client."""

    def __init__(
        self,
        webex: WebexClient,
        links: Mapping[str, Link],
        *,
        cycle_id: str,
        clock: Callable[[], datetime],
        managed: frozenset[str] | None,
        stop: threading.Event,
    ) -> None:
        self.webex = webex
        self._links = links
        self._owner_map: dict[str, str] | None = None  # Webex id -> anchor, built on first use
        self._owner_lock = threading.Lock()
        self.cycle_id = cycle_id
        self._clock = clock
        self._managed = managed
        self.stop = stop

    # -- one user ------------------------------------------------------------------------------

    def run(self, actions: Sequence[Action], step: StepFn | None = None) -> list[tuple[Action, Record]]:
        """One user's actions in order, each by ``step`` (default: single requests). Raises
        ``StoppedError`` (with the outcomes so far) on an error that stops the apply."""
        return run_in_order(actions, self._links.get(actions[0].anchor), step or self.single, self, self.stop)

    def applied(self, action: Action, done: Step[Link], started: float) -> Record:
        record = Record(
            self.audit(action, Outcome.APPLIED, done.link, done.detail),
            save_link=None if done.drop else done.link,
            drop_link=action.anchor if done.drop else None,
        )
        log.info(
            "action applied",
            cycle=self.cycle_id,
            anchor=action.anchor,
            email=action.email,
            webex_id=record.audit.webex_id,
            action=action.kind.value,
            reason=action.reason.value,
            outcome="applied",
            ms=round((time.monotonic() - started) * 1000, 1),
            detail=done.detail or None,
        )
        return record

    def failed(
        self, action: Action, link: Link | None, message: str, later: Sequence[Action]
    ) -> list[tuple[Action, Record]]:
        failed_link = replace(link, last_error=message, updated_at=self._clock()) if link else None
        log.warning(
            "action failed",
            cycle=self.cycle_id,
            anchor=action.anchor,
            email=action.email,
            webex_id=action.webex_id or (link.webex_id if link else None),
            action=action.kind.value,
            reason=action.reason.value,
            outcome="failed",
            error=message,
        )
        results = [(action, Record(self.audit(action, Outcome.FAILED, link, message), save_link=failed_link))]
        detail = f"skipped: the {action.kind.value} before it failed"
        results += [
            (skipped, Record(self.audit(skipped, Outcome.SKIPPED, link, detail))) for skipped in later
        ]
        return results

    def audit(self, action: Action, outcome: Outcome, link: Link | None, detail: str) -> AuditEntry:
        return AuditEntry.of(
            action,
            self.cycle_id,
            self._clock(),
            outcome,
            subject=action.email,
            webex_id=action.webex_id or (link.webex_id if link else None),
            detail=detail or action.detail,
        )

    # -- one action ----------------------------------------------------------------------------

    def single(self, action: Action, link: Link | None) -> Step[Link]:
        """An action as single requests."""
        kind = action.kind
        if kind is ActionKind.CREATE:
            return self.create(action, CreateProgress())
        if kind is ActionKind.LINK:
            assert action.webex_id is not None
            self._check_owner(action.webex_id, action)
            return Step(self.new_link(action, action.webex_id, action.desired, active=action.active))
        if link is None:
            raise ProvisionerError(f"{kind.value} for {action.email} ({action.anchor}) has no link to act on")
        if kind is ActionKind.UPDATE:
            return self._update(action, link)
        if kind in (ActionKind.REACTIVATE, ActionKind.DISABLE):
            return self._set_active(action, link, active=kind is ActionKind.REACTIVATE)
        self.webex.delete_user(link.webex_id)
        return Step(None, drop=True)

    def create(
        self,
        action: Action,
        progress: CreateProgress,
        answer: Answer | None = None,
        error: WebexError | None = None,
    ) -> Step[Link]:
        """Create ``action``'s user by the no-duplicate rules, from ``answer`` (the answer a send
        already got, e.g. in a Bulk request) or by sending it now."""
        desired, active = action.desired, action.active
        created: WebexUser | None = None
        while True:
            if answer is None:
                created, error = self._send(desired, active)
                answer = answer_of(error)
            step, progress = after_answer(progress, answer)
            if step is Next.LOOK_UP:
                found = self.webex.find_by_email(desired["email"])
                step, progress = after_lookup(progress, answer, found=found is not None)
                if step is Next.ADOPT:
                    assert found is not None
                    created = self._adopt(action, found)
            if step in (Next.DONE, Next.ADOPT):
                assert created is not None
                return Step(self.new_link(action, created.id, desired, active=active), progress.detail)
            if step is Next.FAIL:
                assert error is not None
                raise error
            answer, error = None, None  # Next.SEND

    def _send(self, desired: Attributes, active: bool) -> tuple[WebexUser | None, WebexError | None]:
        try:
            return self.webex.create_user(desired, active=active), None
        except WebexError as exc:
            if stops_the_apply(exc):
                raise
            return None, exc

    def new_link(self, action: Action, webex_id: str, applied: Attributes, *, active: bool) -> Link:
        now = self._clock()
        state = LinkState.ACTIVE if active else LinkState.DISABLED
        return Link(
            anchor=action.anchor,
            webex_id=webex_id,
            email=applied.get("email", action.email),
            dn=action.dn,
            state=state,
            applied=dict(applied),
            fingerprint=fingerprint(applied),
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
            raise LinkedElsewhereError(
                f"the Webex user {webex_id} with e-mail {action.email} is already linked to directory user "
                f"{owner}; not linking it to {action.anchor}. If the address was reused, check and run "
                f"'webex-provisioner users forget {owner}'",
                status=409,
            )

    def _adopt(self, action: Action, found: WebexUser) -> WebexUser:
        """Make an existing Webex user (found after a 409 or a lost answer) match the desired user."""
        self._check_owner(found.id, action)
        current = found.attributes
        if self._managed is not None:
            current = {k: v for k, v in current.items() if k in self._managed}
        changes = diff(action.desired, current)
        if changes or found.active != action.active:
            active = None if found.active == action.active else action.active
            return self.webex.update_user(found.id, changes, active=active)
        return found

    def _update(self, action: Action, link: Link) -> Step[Link]:
        applied = apply_changes(link.applied, action.changes)
        try:
            self.webex.update_user(link.webex_id, action.changes)
        except WebexNotFoundError:
            return self._recreate(action, link, applied)
        return Step(
            replace(
                link,
                applied=applied,
                fingerprint=fingerprint(applied),
                email=applied.get("email", link.email),
                dn=action.dn or link.dn,
                last_error=None,
                updated_at=self._clock(),
            )
        )

    def _recreate(self, action: Action, link: Link, desired: Attributes) -> Step[Link]:
        log.warning(
            "drift: linked Webex user is gone, re-creating",
            cycle=self.cycle_id,
            anchor=link.anchor,
            email=link.email,
            webex_id=link.webex_id,
        )
        self._owners().pop(link.webex_id, None)
        again = replace(
            action, reason=Reason.WEBEX_USER_MISSING, desired=desired, active=link.state is LinkState.ACTIVE
        )
        step = self.create(again, CreateProgress())
        detail = f"the Webex user {link.webex_id} was deleted outside webex-provisioner; re-created"
        return Step(step.link, f"{detail}; {step.detail}" if step.detail else detail)

    def _set_active(self, action: Action, link: Link, *, active: bool) -> Step[Link]:
        now = self._clock()
        try:
            self.webex.update_user(link.webex_id, (), active=active)
        except WebexNotFoundError:
            if when_missing(action.kind) is Missing.DROP_LINK:
                return Step(None, "the Webex user was already gone; link dropped", drop=True)
            return self._recreate(action, link, link.applied)
        if active:
            return Step(
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
        return Step(
            replace(
                link,
                state=LinkState.DISABLED,
                deprovisioned_at=now,
                deprovision_reason=action.reason,
                last_error=None,
                updated_at=now,
            )
        )
