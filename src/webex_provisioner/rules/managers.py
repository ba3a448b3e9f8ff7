"""Managers provisioned in the same cycle as their reports. Pure.

Webex takes a manager as the manager's Webex id, which a manager created in this cycle does not
have yet. Such a report is planned without its manager (created or updated first), and the plan
carries a *follow-up*: an update that sets the manager once the first pass has created it. The
follow-ups are part of the plan, so ``plan`` shows exactly what ``sync`` applies; ``resolve``
turns them into ordinary updates with the Webex ids the first pass recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from webex_provisioner.model import Action, ActionKind, Change, DirectoryUser, Link, Reason
from webex_provisioner.model.keys import normalize_dn

MANAGER = "manager"


@dataclass(frozen=True, slots=True)
class Deferred:
    """A directory user whose manager (``manager_dn``) this cycle provisions first."""

    user: DirectoryUser
    manager_dn: str


def followups(
    deferred: Iterable[Deferred],
    links: Mapping[str, Link],
    actions: Sequence[Action],
    emails: Mapping[str, str],
) -> tuple[Action, ...]:
    """The manager updates to apply after ``actions``: one per deferred user that exists in Webex
    once ``actions`` are applied (linked already, or created or linked by them). ``emails`` holds
    the desired e-mail of each deferred user."""
    joining = {a.anchor for a in actions if a.kind in (ActionKind.CREATE, ActionKind.LINK)}
    result: list[Action] = []
    for item in deferred:
        anchor = item.user.anchor
        link = links.get(anchor)
        if link is None and anchor not in joining:
            continue  # left alone (a conflict, a failed lookup): nothing to follow up
        old = link.applied.get(MANAGER) if link is not None else None
        result.append(
            Action(
                kind=ActionKind.UPDATE,
                reason=Reason.ATTRIBUTES_CHANGED,
                anchor=anchor,
                email=emails.get(anchor) or (link.email if link else ""),
                dn=item.user.dn,
                webex_id=link.webex_id if link is not None else None,
                changes=(Change(MANAGER, old, None),),
                pending=((MANAGER, item.manager_dn),),
                detail=f"the manager {item.manager_dn} is provisioned earlier in this cycle",
            )
        )
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Resolved:
    """Follow-ups made ready to apply, and those whose manager or user did not make it."""

    ready: tuple[Action, ...]
    waiting: tuple[Action, ...]


def resolve(pending: Sequence[Action], links: Mapping[str, Link], webex_ids: Mapping[str, str]) -> Resolved:
    """The follow-ups with their pending attributes set: ``links`` holds the links of the users
    to update (as the first pass left them), ``webex_ids`` the Webex ids by normalized DN of the
    users they refer to. A follow-up whose user or manager is still not in Webex (its create
    failed) waits: the next cycle plans it again."""
    ready: list[Action] = []
    waiting: list[Action] = []
    for action in pending:
        link = links.get(action.anchor)
        ids = {attribute: webex_ids.get(normalize_dn(dn)) for attribute, dn in action.pending}
        if link is None or any(value is None for value in ids.values()):
            waiting.append(action)
            continue
        changes = tuple(
            Change(c.attribute, link.applied.get(c.attribute), ids.get(c.attribute, c.new))
            for c in action.changes
        )
        changes = tuple(c for c in changes if c.old != c.new)
        if changes:
            ready.append(replace(action, webex_id=link.webex_id, changes=changes, pending=()))
    return Resolved(tuple(ready), tuple(waiting))
