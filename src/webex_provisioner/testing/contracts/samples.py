"""Sample values for the contract suites: links of users and groups, licence grants, audit entries
and the records that carry them.

Every time is timezone-aware (UTC), from ``T0`` on, so that tests never depend on the clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from webex_provisioner.model import AuditEntry, Grant, GroupLink, Link, Outcome
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def later(seconds: float) -> datetime:
    """``seconds`` after ``T0``."""
    return T0 + timedelta(seconds=seconds)


def link(n: int | str, **changes: Any) -> Link:
    """The link of ``anchor-N`` to ``webex-N`` (``User{n}@Example.com``, ``uid=user{n},ou=People,...``),
    with ``changes``; its fingerprint is that of what it applied, as a store keeps it."""
    base = Link(
        anchor=f"anchor-{n}",
        webex_id=f"webex-{n}",
        email=f"User{n}@Example.com",
        dn=f"uid=user{n},ou=People,dc=example,dc=com",
        applied={"email": f"user{n}@example.com", "firstName": f"First{n}"},
    )
    made = replace(base, **changes)
    return replace(made, fingerprint=fingerprint(made.applied))


def entry(anchor: str, *, at: datetime = T0, action: str = "create", **changes: Any) -> AuditEntry:
    """An applied audit entry of cycle ``cycle-1`` for ``anchor``, at ``at``."""
    base = AuditEntry(
        cycle_id="cycle-1",
        time=at,
        anchor=anchor,
        email=f"{anchor}@example.com",
        action=action,
        reason="entered_scope",
        outcome=Outcome.APPLIED,
    )
    return replace(base, **changes)


def save(item: Link, *, at: datetime = T0) -> Record:
    """The record saving ``item``, at ``at``."""
    return Record(audit=entry(item.anchor, at=at, webex_id=item.webex_id), save_link=item)


def drop(anchor: str, *, at: datetime = T0) -> Record:
    """The record dropping the link of ``anchor``, at ``at``."""
    return Record(audit=entry(anchor, at=at, action="delete"), drop_link=anchor)


def group_link(n: int | str, *members: int | str, **changes: Any) -> GroupLink:
    """The link of directory group ``group-N`` (``cn=team{n},ou=Groups,...``) to Webex group
    ``webex-group-N`` named ``Team {n}``, managing the members ``anchor-M`` of ``members``."""
    base = GroupLink(
        anchor=f"group-{n}",
        webex_id=f"webex-group-{n}",
        name=f"Team {n}",
        dn=f"cn=team{n},ou=Groups,dc=example,dc=com",
        members=frozenset(f"anchor-{m}" for m in members),
    )
    return replace(base, **changes)


def save_group(item: GroupLink, *, at: datetime = T0) -> Record:
    """The record saving the group link ``item``, at ``at``."""
    audit = entry(item.anchor, at=at, action="create_group", webex_id=item.webex_id, email=item.name)
    return Record(audit=audit, save_group=item)


def drop_group(anchor: str, *, at: datetime = T0) -> Record:
    """The record dropping the group link of ``anchor``, at ``at``."""
    return Record(audit=entry(anchor, at=at, action="delete_group"), drop_group=anchor)


def grant(n: int | str, license_id: str, *, ours: bool = True, since: datetime | None = T0) -> Grant:
    """The grant of licence ``license_id`` to ``anchor-N``, since ``since`` (T0)."""
    return Grant(f"anchor-{n}", license_id, ours, since)


def save_grants(*grants: Grant, at: datetime = T0, **changes: Any) -> Record:
    """The record saving ``grants`` (of the first one's anchor), at ``at``, with ``changes``
    (``save_link``, ``drop_link``, ``drop_grants``)."""
    anchor = grants[0].anchor if grants else "anchor-0"
    return Record(audit=entry(anchor, at=at, action="assign_license"), save_grants=grants, **changes)


def drop_grants(*keys: tuple[str, str], at: datetime = T0) -> Record:
    """The record forgetting the grants of ``keys`` ((anchor, licence id)), at ``at``."""
    anchor = keys[0][0] if keys else "anchor-0"
    return Record(audit=entry(anchor, at=at, action="reclaim_license"), drop_grants=keys)
