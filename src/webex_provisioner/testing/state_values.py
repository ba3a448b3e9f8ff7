"""How ``InMemoryStateStore`` keeps values as the SQL store does: datetimes in UTC (a naive one
refused), mappings copied in and out, and the refusal of a Webex id linked to another anchor."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, overload

from webex_provisioner.errors import StateError
from webex_provisioner.model import Action, CycleRecord, InstanceRecord, Link


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
