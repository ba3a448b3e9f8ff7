"""Safety guards (docs/lifecycle.md, "Safety"). Pure: they look at a plan and numbers, never at a server.

* The directory health gate refuses to plan from a read that returned (almost) nobody while
  links exist: an empty answer is far more often an outage or a wrong base DN than a company
  that fired everyone.
* The deprovision guard holds deprovisions beyond ``safety.max_deprovisions`` until an
  administrator approves them; everything else in the plan proceeds.
* The same limits hold the re-creations and reactivations that undo deletions and deactivations
  made in Webex (drift, docs/drift.md) beyond them.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model import Action, ActionKind, GroupAction, Plan, Reason


@dataclass(frozen=True, slots=True)
class DeprovisionLimits:
    count: int | None = 50
    percent: float | None = 10.0

    def allowed(self, link_count: int) -> int | None:
        """How many deprovisions one cycle may apply without approval (None: no limit).

        The percentage never holds a single deprovision: one leaver is not a mass event.
        """
        limits = []
        if self.count is not None:
            limits.append(self.count)
        if self.percent is not None:
            limits.append(max(1, math.floor(link_count * self.percent / 100)))
        return min(limits) if limits else None


def check_directory_health(users_read: int, link_count: int, min_users: int, source: str) -> None:
    """Raise if the directory answered with too few users to be trusted while links exist."""
    if link_count == 0:
        return
    if users_read == 0 or users_read < min_users:
        raise DirectoryIncompleteError(
            f"the directory returned {users_read} user(s) under {source} while {link_count} user(s) are "
            f"linked (safety.min_users is {min_users}); nothing was planned or deprovisioned. Check "
            "directory.base_dn, directory.user_filter and the bind account's read rights"
        )


def guard_deprovisions(plan: Plan, link_count: int, limits: DeprovisionLimits) -> Plan:
    """Move every deprovision of ``plan`` to ``held`` when there are more than the limits allow."""
    deprovisions = [a for a in plan.actions if a.kind.deprovisions]
    allowed = limits.allowed(link_count)
    if allowed is None or len(deprovisions) <= allowed:
        return plan
    kept = tuple(a for a in plan.actions if not a.kind.deprovisions)
    return replace(plan, actions=kept, held=(*plan.held, *deprovisions))


GUARD_WINDOW = timedelta(hours=1)
"""Incremental cycles share ``safety.max_deprovisions`` over this long (changes applied as they
arrive would otherwise pass any limit a few at a time)."""


def remaining_limits(
    limits: DeprovisionLimits,
    link_count: int,
    recent: Sequence[datetime],
    now: datetime,
    window: timedelta = GUARD_WINDOW,
) -> DeprovisionLimits:
    """What is left of ``limits`` for one more incremental cycle, given the times of the
    deprovisions applied recently (those older than ``window`` no longer count)."""
    allowed = limits.allowed(link_count)
    if allowed is None:
        return limits
    spent = sum(1 for at in recent if at > now - window)
    return DeprovisionLimits(count=max(0, allowed - spent), percent=None)


def guard_with_approvals(
    plan: Plan, approved: Collection[tuple[str, ActionKind]], link_count: int, limits: DeprovisionLimits
) -> Plan:
    """Guard the deprovisions of ``plan``, except those an operator approved (they are applied,
    after everything else, whatever the limits)."""
    chosen = [a for a in plan.actions if (a.anchor, a.kind) in approved]
    if not chosen:
        return guard_deprovisions(plan, link_count, limits)
    rest = replace(plan, actions=tuple(a for a in plan.actions if (a.anchor, a.kind) not in approved))
    guarded = guard_deprovisions(rest, link_count, limits)
    return replace(guarded, actions=(*guarded.actions, *chosen))


def guard_groups(
    actions: Sequence[GroupAction],
    managed: Mapping[str, int],
    group_links: int,
    limits: DeprovisionLimits,
    approved: Collection[tuple[str, ActionKind]] = frozenset(),
) -> tuple[tuple[GroupAction, ...], tuple[GroupAction, ...]]:
    """Hold what takes too much away from Webex groups: the removals from a group beyond
    ``max_deprovisions.percent`` of the members this tool manages there (a single removal is
    never held), and every group deletion when there are more than the limits allow for the
    ``group_links``. Approved actions go ahead. Returns (kept, held)."""
    held: list[GroupAction] = []
    deletions = [
        a for a in actions if a.kind is ActionKind.DELETE_GROUP and (a.anchor, a.kind) not in approved
    ]
    allowed = limits.allowed(group_links)
    if allowed is not None and len(deletions) > allowed:
        held += deletions
    for action in actions:
        if action.kind is not ActionKind.REMOVE_MEMBERS or (action.anchor, action.kind) in approved:
            continue
        if limits.percent is None:
            continue
        share = max(1, math.floor(managed.get(action.anchor, 0) * limits.percent / 100))
        if len(action.members) > share:
            held.append(action)
    held_ids = {id(a) for a in held}
    return tuple(a for a in actions if id(a) not in held_ids), tuple(held)


def restores(action: Action) -> bool:
    """An action that gives back a Webex account someone deleted or deactivated there (drift):
    what ``guard_restorations`` counts."""
    if action.reason is Reason.DELETED_IN_WEBEX:
        return action.kind in (ActionKind.CREATE, ActionKind.LINK)
    return action.reason is Reason.DEACTIVATED_IN_WEBEX and action.kind is ActionKind.REACTIVATE


def guard_restorations(
    plan: Plan, approved: Collection[tuple[str, ActionKind]], link_count: int, limits: DeprovisionLimits
) -> Plan:
    """Hold every re-creation and reactivation drift calls for (with the other actions of those
    users) when there are more than ``limits`` allow for ``link_count`` links, as for
    deprovisions: a mass deletion in Webex waits for an administrator instead of being undone
    wholesale. Approved ones go ahead and are not counted."""
    restoring = {a.anchor for a in plan.actions if restores(a) and (a.anchor, a.kind) not in approved}
    allowed = limits.allowed(link_count)
    if allowed is None or len(restoring) <= allowed:
        return plan
    return replace(
        plan,
        actions=tuple(a for a in plan.actions if a.anchor not in restoring),
        held=(*plan.held, *(a for a in plan.actions if a.anchor in restoring)),
        followups=tuple(a for a in plan.followups if a.anchor not in restoring),
    )
