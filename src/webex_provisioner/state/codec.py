"""Conversions between the model's values and the rows of the state tables."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import RowMapping

from webex_provisioner.model import (
    Action,
    ActionKind,
    AuditEntry,
    Change,
    CycleKind,
    CycleRecord,
    Grant,
    GroupAction,
    GroupLink,
    InstanceRecord,
    License,
    LicenseAction,
    LicenseItem,
    LicenseRefusal,
    Link,
    LinkState,
    Member,
    Outcome,
    Problem,
    ProblemKind,
    Reason,
)
from webex_provisioner.model.keys import fingerprint, fold_email, normalize_dn
from webex_provisioner.model.users import EncodedAttributes


def link_keys(email: str, dn: str, applied: Mapping[str, str]) -> dict[str, str]:
    """The columns a link's row derives from it: its lookup keys and the fingerprint of what was
    applied (computed by the store, whatever a saved link or an export says)."""
    return {
        "email_lower": fold_email(email),
        "dn_lower": normalize_dn(dn),
        "fingerprint": fingerprint(applied),
    }


def link_row(link: Link, time: datetime) -> dict[str, Any]:
    return {
        "anchor": link.anchor,
        "webex_id": link.webex_id,
        "email": link.email,
        "dn": link.dn,
        "state": link.state.value,
        "applied": dict(link.applied),
        **link_keys(link.email, link.dn, link.applied),
        "deprovisioned_at": link.deprovisioned_at,
        "deprovision_reason": None if link.deprovision_reason is None else link.deprovision_reason.value,
        "created_at": link.created_at or time,
        "updated_at": time,
        "last_error": link.last_error,
    }


_ATTRIBUTES = msgspec.json.Decoder(dict[str, str])


def _decoded(text: str) -> dict[str, str]:
    """Stored attributes (JSON text of text values), decoded by msgspec: a drift check decodes
    those of every link. Anything it refuses (a value not text, a lone surrogate) is decoded by
    ``json`` instead, whose outcome it then is."""
    try:
        return _ATTRIBUTES.decode(text)
    except msgspec.MsgspecError:
        decoded: dict[str, str] = json.loads(text)
        return decoded


class StoredAttributes(EncodedAttributes):
    """What was applied to a linked user, as stored (JSON text), decoded on first use.

    Loading every link for a full cycle keeps 100,000 short strings instead of 100,000 dicts, and
    decodes only those of the users whose fingerprint changed (``peek`` decodes without keeping).
    """

    __slots__ = ("_decoded", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._decoded: dict[str, str] | None = None

    def _values(self) -> dict[str, str]:
        if self._decoded is None:
            self._decoded = _decoded(self._text)
        return self._decoded

    def peek(self) -> Mapping[str, str]:
        if self._decoded is not None:
            return self._decoded
        return _decoded(self._text)

    def encoded(self) -> str:
        return self._text

    def __getitem__(self, key: str) -> str:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def __repr__(self) -> str:
        return f"StoredAttributes({self._text})"


# The columns ``link_of`` reads, in its order (plain SQL, so that no type conversion runs per row).
LINK_COLUMNS = (
    "anchor, webex_id, email, dn, state, applied, fingerprint, deprovisioned_at, "
    "deprovision_reason, created_at, updated_at, last_error"
)
_STATES = {state.value: state for state in LinkState}
_REASONS = {reason.value: reason for reason in Reason}
_from_iso = datetime.fromisoformat


def stored_time(value: datetime | str | None) -> datetime | None:
    """A time as the driver returns it (PostgreSQL: aware datetime; SQLite: UTC text) in UTC."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps the UTC wall time (see schema.UtcDateTime)
        return datetime.fromisoformat(value + "+00:00")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def link_of(values: Sequence[Any]) -> Link:
    """The link of a raw row of ``LINK_COLUMNS``; what was applied stays JSON until used.
    (Positional, with SQLite's text times parsed inline: a full cycle builds 100,000.)"""
    deprovisioned, reason, created, updated = values[7], values[8], values[9], values[10]
    return Link(
        values[0],
        values[1],
        values[2],
        values[3],
        _STATES[values[4]],
        StoredAttributes(values[5]),
        values[6],
        None if deprovisioned is None else stored_time(deprovisioned),
        None if reason is None else _REASONS[reason],
        _from_iso(created + "+00:00") if type(created) is str else stored_time(created),
        _from_iso(updated + "+00:00") if type(updated) is str else stored_time(updated),
        values[11],
    )


def link(row: RowMapping) -> Link:
    reason = row["deprovision_reason"]
    return Link(
        anchor=row["anchor"],
        webex_id=row["webex_id"],
        email=row["email"],
        dn=row["dn"],
        state=LinkState(row["state"]),
        applied=row["applied"],
        fingerprint=row["fingerprint"],
        deprovisioned_at=row["deprovisioned_at"],
        deprovision_reason=None if reason is None else Reason(reason),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_error=row["last_error"],
    )


def audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "cycle_id": entry.cycle_id,
        "time": entry.time,
        "anchor": entry.anchor,
        "email": entry.email,
        "webex_id": entry.webex_id,
        "action": entry.action,
        "reason": entry.reason,
        "outcome": entry.outcome.value,
        "detail": entry.detail,
    }


def audit_entry(row: RowMapping) -> AuditEntry:
    return AuditEntry(
        cycle_id=row["cycle_id"],
        time=row["time"],
        anchor=row["anchor"],
        email=row["email"],
        action=row["action"],
        reason=row["reason"],
        outcome=Outcome(row["outcome"]),
        webex_id=row["webex_id"],
        detail=row["detail"],
    )


def cycle_row(cycle: CycleRecord) -> dict[str, Any]:
    return {
        "id": cycle.id,
        "kind": cycle.kind.value,
        "started_at": cycle.started_at,
        "finished_at": cycle.finished_at,
        "outcome": cycle.outcome,
        "counts": dict(cycle.counts),
        "detail": cycle.detail,
    }


def cycle(row: RowMapping) -> CycleRecord:
    counts: Mapping[str, int] = row["counts"]
    return CycleRecord(
        id=row["id"],
        kind=CycleKind(row["kind"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        outcome=row["outcome"],
        counts=dict(counts),
        detail=row["detail"],
    )


def held_row(action: Action, cycle_id: str, position: int) -> dict[str, Any]:
    return {
        "cycle_id": cycle_id,
        "position": position,
        "kind": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "email": action.email,
        "dn": action.dn,
        "webex_id": action.webex_id,
        "changes": [{"attribute": c.attribute, "old": c.old, "new": c.new} for c in action.changes],
        "desired": dict(action.desired),
        "active": action.active,
        "detail": action.detail,
    }


def action(row: RowMapping) -> Action:
    return Action(
        kind=ActionKind(row["kind"]),
        reason=Reason(row["reason"]),
        anchor=row["anchor"],
        email=row["email"],
        dn=row["dn"],
        webex_id=row["webex_id"],
        changes=tuple(Change(c["attribute"], c["old"], c["new"]) for c in row["changes"]),
        desired=row["desired"],
        active=bool(row["active"]),
        detail=row["detail"],
    )


def instance_row(instance: InstanceRecord) -> dict[str, Any]:
    return {
        "name": instance.name,
        "host": instance.host,
        "pid": instance.pid,
        "role": instance.role,
        "started_at": instance.started_at,
        "role_since": instance.role_since,
        "last_seen": instance.last_seen,
    }


def instance(row: RowMapping) -> InstanceRecord:
    return InstanceRecord(
        name=row["name"],
        host=row["host"],
        pid=int(row["pid"]),
        role=row["role"],
        started_at=row["started_at"],
        role_since=row["role_since"],
        last_seen=row["last_seen"],
    )


def problem_row(problem: Problem, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "kind": problem.kind.value,
        "anchor": problem.anchor,
        "dn": problem.dn,
        "email": problem.email,
        "detail": problem.detail,
        "resource": problem.resource,
    }


def problem(row: RowMapping) -> Problem:
    return Problem(
        kind=ProblemKind(row["kind"]),
        anchor=row["anchor"],
        dn=row["dn"],
        email=row["email"],
        detail=row["detail"],
        resource=row["resource"],
    )


# -- Webex groups ---------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """The form Webex group names are compared in (case-insensitively): blanks around dropped,
    lower case."""
    return name.strip().lower()


def group_keys(name: str, dn: str) -> dict[str, str]:
    """The lookup keys a group link's row derives from its name and DN."""
    return {"name_lower": name_key(name), "dn_lower": normalize_dn(dn)}


def group_link_row(link: GroupLink, time: datetime) -> dict[str, Any]:
    """The ``group_links`` row of ``link`` saved at ``time`` (its members go to ``group_members``)."""
    return {
        "anchor": link.anchor,
        "webex_id": link.webex_id,
        "name": link.name,
        "dn": link.dn,
        **group_keys(link.name, link.dn),
        "created_at": link.created_at or time,
        "updated_at": time,
        "last_error": link.last_error,
    }


def group_link(row: RowMapping, members: Iterable[str]) -> GroupLink:
    return GroupLink(
        anchor=row["anchor"],
        webex_id=row["webex_id"],
        name=row["name"],
        dn=row["dn"],
        members=frozenset(members),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_error=row["last_error"],
    )


def held_group_row(action: GroupAction, cycle_id: str, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "cycle_id": cycle_id,
        "kind": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "name": action.name,
        "dn": action.dn,
        "webex_id": action.webex_id,
        "members": [[member.anchor, member.email] for member in action.members],
        "old_name": action.old_name,
        "skipped": action.skipped,
        "detail": action.detail,
    }


def group_action(row: RowMapping) -> GroupAction:
    return GroupAction(
        kind=ActionKind(row["kind"]),
        reason=Reason(row["reason"]),
        anchor=row["anchor"],
        name=row["name"],
        dn=row["dn"],
        webex_id=row["webex_id"],
        members=tuple(Member(anchor, email) for anchor, email in row["members"]),
        old_name=row["old_name"],
        skipped=int(row["skipped"]),
        detail=row["detail"],
    )


# -- licences -------------------------------------------------------------------------------------


def grant_row(grant: Grant) -> dict[str, Any]:
    return {"anchor": grant.anchor, "license_id": grant.license_id, "ours": grant.ours, "since": grant.since}


# The columns ``grant_of`` reads, in its order (plain SQL: every grant is read for a full cycle).
GRANT_COLUMNS = "anchor, license_id, ours, since"


@functools.lru_cache(maxsize=4096)
def _sqlite_time(text: str) -> datetime:
    """A time as SQLite keeps it (UTC wall time): grants recorded together share theirs."""
    return _from_iso(text + "+00:00")


def grant_of(values: Sequence[Any]) -> Grant:
    """The grant of a raw row of ``GRANT_COLUMNS`` (positional, times parsed inline)."""
    since = values[3]
    return Grant(
        values[0],
        values[1],
        bool(values[2]),
        None if since is None else _sqlite_time(since) if type(since) is str else stored_time(since),
    )


def grant(row: RowMapping) -> Grant:
    return Grant(row["anchor"], row["license_id"], bool(row["ours"]), row["since"])


def license_row(item: License, read_at: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "total": item.total,
        "consumed": item.consumed,
        "calling": item.calling,
        "read_at": read_at,
    }


def license_of(row: RowMapping) -> License:
    return License(row["id"], row["name"], int(row["total"]), int(row["consumed"]), bool(row["calling"]))


def refusal_row(refusal: LicenseRefusal, position: int) -> dict[str, Any]:
    return {
        "position": position,
        "anchor": refusal.anchor,
        "license_id": refusal.license_id,
        "code": refusal.code,
        "detail": refusal.detail,
        "rules": refusal.rules,
        "at": refusal.at,
    }


def refusal(row: RowMapping) -> LicenseRefusal:
    code = row["code"]
    return LicenseRefusal(
        anchor=row["anchor"],
        license_id=row["license_id"],
        code=None if code is None else int(code),
        detail=row["detail"],
        rules=row["rules"],
        at=row["at"],
    )


def held_license_row(action: LicenseAction, cycle_id: str, position: int) -> dict[str, Any]:
    """The ``held_license_actions`` row of ``action``: its items as a JSON list of [licence id,
    name, why] (escaped by JSON, whatever their text)."""
    return {
        "position": position,
        "cycle_id": cycle_id,
        "kind": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "email": action.email,
        "webex_id": action.webex_id,
        "detail": action.detail,
        "items": [[item.license_id, item.name, item.why] for item in action.licenses],
    }


def license_action(row: RowMapping) -> LicenseAction:
    return LicenseAction(
        kind=ActionKind(row["kind"]),
        reason=Reason(row["reason"]),
        anchor=row["anchor"],
        email=row["email"],
        licenses=tuple(LicenseItem(license_id, name, why) for license_id, name, why in row["items"]),
        webex_id=row["webex_id"],
        detail=row["detail"],
    )
