"""How ``InMemoryStateStore`` keeps values as the SQL store does: datetimes in UTC (a naive one
refused), mappings copied in and out, collections made immutable, and the refusal of a Webex id
linked to another anchor."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, overload

from webex_provisioner.errors import StateError
from webex_provisioner.model import Action, CycleRecord, GroupAction, GroupLink, InstanceRecord, Link


@overload
def aware(value: datetime, where: str) -> datetime: ...


@overload
def aware(value: None, where: str) -> None: ...


def aware(value: datetime | None, where: str) -> datetime | None:
    """``value`` in UTC; ``StateError`` when it is naive (its instant is unknown)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise StateError(f"{where}: naive datetime {value.isoformat()} cannot be stored; give it a timezone")
    return value.astimezone(UTC)


def link_copy(link: Link, **changes: Any) -> Link:
    """``link`` (with ``changes``) holding its own copy of what was applied."""
    return replace(link, applied=dict(link.applied), **changes)


def action_copy(action: Action) -> Action:
    return replace(action, desired=dict(action.desired))


def group_action_copy(action: GroupAction) -> GroupAction:
    """``action`` with its members as a tuple of its own."""
    return replace(action, members=tuple(action.members))


def group_link_in(link: GroupLink, previous: GroupLink | None, time: datetime, where: str) -> GroupLink:
    """``link`` as saved at ``time`` over ``previous``: its ``created_at`` kept from the first
    save, ``updated_at`` the save's time, its members a frozenset of its own."""
    created = aware(link.created_at, where)
    return replace(
        link,
        members=frozenset(link.members),
        created_at=previous.created_at if previous is not None else created or time,
        updated_at=time,
    )


def cycle_copy(cycle: CycleRecord, where: str) -> CycleRecord:
    """``cycle`` with its own counts and its times in UTC."""
    return replace(
        cycle,
        started_at=aware(cycle.started_at, where),
        finished_at=aware(cycle.finished_at, where),
        counts=dict(cycle.counts),
    )


def instance_in(instance: InstanceRecord, where: str) -> InstanceRecord:
    """``instance`` with its times in UTC."""
    return replace(
        instance,
        started_at=aware(instance.started_at, where),
        role_since=aware(instance.role_since, where),
        last_seen=aware(instance.last_seen, where),
    )


def stolen_id_error(where: str, link: Link, other: str, batch: int) -> StateError:
    """The refusal to link ``link.anchor`` to a Webex user linked to anchor ``other``."""
    return StateError(
        f"{where}: refusing to link anchor {link.anchor} to Webex user {link.webex_id}, which is "
        f"linked to anchor {other}; nothing of this batch of {batch} record(s) was written. If the "
        f"link of {other} is wrong, remove it with `webex-provisioner users forget {other}`"
    )


def taken_group_id_error(where: str, link: GroupLink, other: str, batch: int) -> StateError:
    """The refusal to link group ``link.anchor`` to a Webex group linked to group anchor ``other``."""
    return StateError(
        f"{where}: refusing to link group anchor {link.anchor} to Webex group {link.webex_id}, which "
        f"is linked to group anchor {other}; nothing of this batch of {batch} record(s) was written. "
        "Two directory groups cannot share one Webex group: give them different names (groups.name) "
        "or leave one of them out of groups:"
    )
