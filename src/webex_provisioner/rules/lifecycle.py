"""The lifecycle rules of docs/lifecycle.md for one user: what a link, a directory user and a Webex
match call for. Pure: no I/O, no clock (``now`` is passed in), no globals.

``linked_actions`` decides for a linked directory user (update, reactivate, deprovision per
trigger, delete after the grace period); ``candidate_actions`` for an unlinked one (link to a
matching Webex user, or create); ``out_of_service`` for a linked user that should not be active.
The planner (``planner.py``) applies them to a whole directory and adds the rules that need
everyone at once (shared e-mails, reused addresses, users gone from the directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from webex_provisioner.model import (
    Action,
    ActionKind,
    Attributes,
    Change,
    Deprovision,
    DirectoryUser,
    Link,
    LinkState,
    Reason,
    WebexUser,
)
from webex_provisioner.model.keys import fingerprint, fold_email


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """The provisioning switches the planner obeys (``provisioning:`` in the config)."""

    create: bool = True
    update: bool = True
    deprovision: bool = True
    provision_disabled: bool = False
    on_deleted: Deprovision = Deprovision.DISABLE
    on_disabled: Deprovision = Deprovision.DISABLE
    on_left_scope: Deprovision = Deprovision.DISABLE
    protected: frozenset[str] = frozenset()
    delete_after: timedelta | None = None
    create_only: frozenset[str] = frozenset()
    managed: frozenset[str] | None = None

    def managed_view(self, attributes: Attributes) -> Attributes:
        """Only the Webex attributes the mapping manages: others are never changed or removed."""
        if self.managed is None:
            return attributes
        return {k: v for k, v in attributes.items() if k in self.managed}

    def is_protected(self, *keys: str | None) -> bool:
        if not self.protected:
            return False
        return any(k is not None and fold_email(k) in self.protected for k in keys)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An unlinked directory user that should exist in Webex."""

    anchor: str
    dn: str
    desired: Attributes
    active: bool


def diff(
    desired: Attributes, current: Attributes, *, skip: frozenset[str] = frozenset()
) -> tuple[Change, ...]:
    """The changes that turn ``current`` into ``desired`` (only differing keys, sorted)."""
    keys = (set(desired) | set(current)) - skip
    return tuple(
        Change(key, current.get(key), desired.get(key))
        for key in sorted(keys)
        if desired.get(key) != current.get(key)
    )


def _deprovision(policy: Deprovision, link: Link, reason: Reason, options: PlanOptions) -> Action | None:
    if not options.deprovision or policy is Deprovision.NONE:
        return None
    if policy is Deprovision.DELETE:
        kind = ActionKind.DELETE
    elif link.state is LinkState.ACTIVE:
        kind = ActionKind.DISABLE
    else:
        return None
    return Action(
        kind=kind, reason=reason, anchor=link.anchor, email=link.email, dn=link.dn, webex_id=link.webex_id
    )


def _grace_elapsed(link: Link, options: PlanOptions, now: datetime) -> Action | None:
    if (
        options.delete_after is None
        or not options.deprovision
        or link.state is not LinkState.DISABLED
        or link.deprovisioned_at is None
        or link.deprovisioned_at + options.delete_after > now
    ):
        return None
    return Action(
        kind=ActionKind.DELETE,
        reason=Reason.GRACE_PERIOD_ELAPSED,
        anchor=link.anchor,
        email=link.email,
        dn=link.dn,
        webex_id=link.webex_id,
        detail=f"disabled since {link.deprovisioned_at.isoformat()}, delete_after is {options.delete_after}",
    )


def out_of_service(
    link: Link, policy: Deprovision, reason: Reason, options: PlanOptions, now: datetime
) -> list[Action]:
    """A linked user who should not be active: deprovision once, delete after the grace period."""
    if link.state is LinkState.ACTIVE:
        action = _deprovision(policy, link, reason, options)
        return [action] if action else []
    if policy is Deprovision.DELETE and options.deprovision:
        action = _deprovision(policy, link, reason, options)
        return [action] if action else []
    grace = _grace_elapsed(link, options, now)
    return [grace] if grace else []


def linked_actions(
    user: DirectoryUser,
    link: Link,
    desired: Attributes,
    options: PlanOptions,
    now: datetime,
    *,
    skip: frozenset[str],
) -> list[Action]:
    unchanged = not options.update or (link.fingerprint and link.fingerprint == fingerprint(desired))
    if unchanged and link.state is LinkState.ACTIVE and user.in_scope and not user.disabled:
        return []  # the common case of a full cycle: nothing to do
    if unchanged:
        updates: tuple[Change, ...] = ()  # what was applied is what is desired
    else:
        current = options.managed_view(link.applied)
        updates = diff(desired, current, skip=options.create_only | skip)

    def update(reason: Reason = Reason.ATTRIBUTES_CHANGED) -> list[Action]:
        if not updates:
            return []
        return [
            Action(
                kind=ActionKind.UPDATE,
                reason=reason,
                anchor=link.anchor,
                email=desired.get("email", link.email),
                dn=user.dn,
                webex_id=link.webex_id,
                changes=updates,
            )
        ]

    if user.in_scope and not user.disabled:
        if link.state is LinkState.DISABLED:
            reason = (
                Reason.RE_ENABLED
                if link.deprovision_reason is Reason.DISABLED_IN_DIRECTORY
                else Reason.RE_ENTERED_SCOPE
            )
            reactivate = Action(
                kind=ActionKind.REACTIVATE,
                reason=reason,
                anchor=link.anchor,
                email=link.email,
                dn=user.dn,
                webex_id=link.webex_id,
            )
            return [reactivate, *update(reason)]
        return update()
    if user.in_scope and user.disabled:
        if options.provision_disabled:
            actions = update()
            if link.state is LinkState.ACTIVE and options.deprovision:
                actions.append(
                    Action(
                        kind=ActionKind.DISABLE,
                        reason=Reason.DISABLED_IN_DIRECTORY,
                        anchor=link.anchor,
                        email=link.email,
                        dn=user.dn,
                        webex_id=link.webex_id,
                    )
                )
            return actions
        return out_of_service(link, options.on_disabled, Reason.DISABLED_IN_DIRECTORY, options, now)
    return out_of_service(link, options.on_left_scope, Reason.LEFT_SCOPE, options, now)


def candidate_actions(
    candidate: Candidate,
    match: WebexUser | None,
    options: PlanOptions,
) -> list[Action]:
    email = candidate.desired["email"]
    if match is None:
        if not options.create:
            return []
        return [
            Action(
                kind=ActionKind.CREATE,
                reason=Reason.ENTERED_SCOPE,
                anchor=candidate.anchor,
                email=email,
                dn=candidate.dn,
                desired=candidate.desired,
                active=candidate.active,
            )
        ]

    def on_match(kind: ActionKind, reason: Reason = Reason.MATCHED_EXISTING, **fields: Any) -> Action:
        return Action(kind, reason, candidate.anchor, email, candidate.dn, match.id, **fields)

    current = options.managed_view(match.attributes)
    actions = [on_match(ActionKind.LINK, desired=current, active=match.active)]
    changes = diff(candidate.desired, current, skip=options.create_only) if options.update else ()
    if changes:
        actions.append(on_match(ActionKind.UPDATE, changes=changes))
    if candidate.active and not match.active:
        actions.append(on_match(ActionKind.REACTIVATE))
    elif not candidate.active and match.active and options.deprovision:
        actions.append(on_match(ActionKind.DISABLE, Reason.DISABLED_IN_DIRECTORY))
    return actions
