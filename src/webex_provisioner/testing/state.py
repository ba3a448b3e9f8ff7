"""``InMemoryStateStore``: the whole ``StateStore`` port in memory, with the SQL store's rules.

A Webex id (of a user, or of a group) is linked to one anchor at most (a batch that would break
that raises ``StateError`` naming both anchors and writes nothing), records apply in order, the
store keeps ``created_at``, ``updated_at`` and the fingerprint as the port says, a saved group
link's members replace those stored, a dropped link drops its licence grants, saving verified
fingerprints replaces those kept before, and the lock expires. Like ``SqlStateStore``, the lock
and the instances take an optional ``now`` so that tests need not wait.

Thread-safe (one lock around everything). Values come back as copies or immutable values:
changing what a call returned, or what was handed in, never changes what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from webex_provisioner.errors import StateError
from webex_provisioner.model import (
    Action,
    ActionKind,
    AuditEntry,
    CycleRecord,
    Grant,
    GroupAction,
    GroupLink,
    InstanceRecord,
    License,
    LicenseAction,
    LicenseRefusal,
    Link,
    Problem,
)
from webex_provisioner.model.drift import verified_set
from webex_provisioner.model.keys import fingerprint, fold_email, normalize_dn
from webex_provisioner.model.notifications import NotificationState, PendingNotice
from webex_provisioner.ports import Record, StoredRefreshToken
from webex_provisioner.testing.state_batch import Bindings
from webex_provisioner.testing.state_licenses import (
    StagedGrants,
    catalog_in,
    license_action_in,
    refusal_in,
)
from webex_provisioner.testing.state_values import (
    action_copy,
    aware,
    cycle_copy,
    group_action_copy,
    group_link_in,
    instance_in,
    link_copy,
    stolen_id_error,
    taken_group_id_error,
)

if TYPE_CHECKING:
    from webex_provisioner.ports import StateStore as _Port

WHERE = "in-memory state"


@dataclass(frozen=True, slots=True)
class _Stored:
    """A link as kept, with its lookup keys."""

    link: Link
    email_key: str
    dn_key: str


class InMemoryStateStore:
    """Links of users and groups, cycles, the audit trail, the lease and the bookkeeping, in this
    process's memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._links: dict[str, _Stored] = {}
        self._owners: dict[str, str] = {}  # Webex id -> anchor
        self._groups: dict[str, GroupLink] = {}
        self._group_owners: dict[str, str] = {}  # Webex group id -> group anchor
        self._held_groups: tuple[GroupAction, ...] = ()
        self._grants: dict[str, dict[str, Grant]] = {}  # anchor -> licence id -> grant
        self._catalog: tuple[License, ...] = ()
        self._refusals: tuple[LicenseRefusal, ...] = ()
        self._held_licenses: tuple[LicenseAction, ...] = ()
        self._audit: list[AuditEntry] = []
        self._cycles: dict[str, CycleRecord] = {}
        self._lock_holder: tuple[str, datetime] | None = None  # (owner, expires at)
        self._instances: dict[str, InstanceRecord] = {}
        self._watermarks: dict[str, str] = {}
        self._baseline: str | None = None
        self._retry: tuple[str, ...] = ()
        self._problems: tuple[Problem, ...] = ()
        self._held: tuple[Action, ...] = ()
        self._approvals: frozenset[tuple[str, ActionKind]] = frozenset()
        self._refresh: StoredRefreshToken | None = None
        self._notifications = NotificationState()
        self._verified: frozenset[bytes] = frozenset()

    def __repr__(self) -> str:
        return f"InMemoryStateStore({len(self._links)} link(s))"

    def close(self) -> None:
        """Nothing to release; the store stays usable."""

    # -- links -------------------------------------------------------------------------------------

    def links(self) -> Iterator[Link]:
        """Every link, by anchor, as stored when called (records made meanwhile are not seen)."""
        with self._lock:
            found = [link_copy(self._links[anchor].link) for anchor in sorted(self._links)]
        return iter(found)

    def count_links(self) -> int:
        with self._lock:
            return len(self._links)

    def get_link(self, anchor: str) -> Link | None:
        with self._lock:
            stored = self._links.get(anchor)
            return None if stored is None else link_copy(stored.link)

    def find_links(self, key: str) -> list[Link]:
        """Links whose anchor, Webex id, e-mail (folded) or DN (normalized) is ``key``, by anchor."""
        key = key.strip()
        email, dn = fold_email(key), normalize_dn(key)
        with self._lock:
            found = [
                s.link
                for s in self._links.values()
                if key in (s.link.anchor, s.link.webex_id) or s.email_key == email or s.dn_key == dn
            ]
            return [link_copy(link) for link in sorted(found, key=lambda link: link.anchor)]

    def record(self, records: Iterable[Record]) -> None:
        """Write audit entries and their changes to links (users' and groups') and grants, all or
        nothing, in order (each record's drops before its saves; a dropped link's grants with it)."""
        batch = list(records)
        with self._lock:
            users = Bindings(self._links, self._owners, lambda stored: stored.link.webex_id)
            groups = Bindings(self._groups, self._group_owners, lambda group: group.webex_id)
            grants = StagedGrants(self._grants, WHERE)
            entries = [self._stage(rec, users, groups, grants, len(batch)) for rec in batch]
            users.apply()
            groups.apply()
            grants.apply()
            self._audit.extend(entries)

    @staticmethod
    def _stage(
        rec: Record, users: Bindings[_Stored], groups: Bindings[GroupLink], grants: StagedGrants, size: int
    ) -> AuditEntry:
        """Stage what ``rec`` does to the links and grants; its audit entry, with its time in UTC."""
        time = aware(rec.audit.time, WHERE)
        if rec.drop_link is not None:
            users.drop(rec.drop_link)
            grants.clear(rec.drop_link)
        grants.drop(rec.drop_grants)
        if (link := rec.save_link) is not None:
            other = users.owner(link.webex_id)
            if other is not None and other != link.anchor:
                raise stolen_id_error(WHERE, link, other, size)
            users.put(link.anchor, _stored(link, users.get(link.anchor), time))
        grants.save(rec.save_grants)
        if rec.drop_group is not None:
            groups.drop(rec.drop_group)
        if (group := rec.save_group) is not None:
            other = groups.owner(group.webex_id)
            if other is not None and other != group.anchor:
                raise taken_group_id_error(WHERE, group, other, size)
            groups.put(group.anchor, group_link_in(group, groups.get(group.anchor), time, WHERE))
        return replace(rec.audit, time=time)

    # -- group links -------------------------------------------------------------------------------

    def group_links(self) -> Iterator[GroupLink]:
        """Every group link, by anchor, with its members, as stored when called."""
        with self._lock:
            found = [self._groups[anchor] for anchor in sorted(self._groups)]
        return iter(found)

    def get_group_link(self, anchor: str) -> GroupLink | None:
        with self._lock:
            return self._groups.get(anchor)

    def groups_of(self, user_anchor: str) -> list[GroupLink]:
        """The group links whose managed members include ``user_anchor``, by anchor."""
        with self._lock:
            return [self._groups[a] for a in sorted(self._groups) if user_anchor in self._groups[a].members]

    def hold_groups(self, actions: Sequence[GroupAction], cycle_id: str) -> None:
        """Replace the held group actions with these."""
        kept = tuple(group_action_copy(action) for action in actions)
        with self._lock:
            self._held_groups = kept

    def held_groups(self) -> list[GroupAction]:
        with self._lock:
            return list(self._held_groups)

    # -- licences ----------------------------------------------------------------------------------

    def grants(self) -> Iterator[Grant]:
        """Every grant, by anchor then licence id, as stored when called."""
        with self._lock:
            found = [self._grants[a][lid] for a in sorted(self._grants) for lid in sorted(self._grants[a])]
        return iter(found)

    def grants_of(self, anchor: str) -> list[Grant]:
        with self._lock:
            mine = self._grants.get(anchor, {})
            return [mine[license_id] for license_id in sorted(mine)]

    def license_catalog(self) -> list[License]:
        with self._lock:
            return list(self._catalog)

    def set_license_catalog(self, licenses: Sequence[License]) -> None:
        kept = catalog_in(licenses, WHERE)
        with self._lock:
            self._catalog = kept

    def license_refusals(self) -> list[LicenseRefusal]:
        with self._lock:
            return list(self._refusals)

    def set_license_refusals(self, refusals: Sequence[LicenseRefusal]) -> None:
        kept = tuple(refusal_in(refusal, WHERE) for refusal in refusals)
        with self._lock:
            self._refusals = kept

    def hold_licenses(self, actions: Sequence[LicenseAction], cycle_id: str) -> None:
        """Replace the held licence actions with these."""
        kept = tuple(license_action_in(action, cycle_id, WHERE) for action in actions)
        with self._lock:
            self._held_licenses = kept

    def held_licenses(self) -> list[LicenseAction]:
        with self._lock:
            return list(self._held_licenses)

    # -- cycles and audit --------------------------------------------------------------------------

    def start_cycle(self, cycle: CycleRecord) -> None:
        self.finish_cycle(cycle)

    def finish_cycle(self, cycle: CycleRecord) -> None:
        """Store the cycle; it replaces what was stored for its id."""
        stored = cycle_copy(cycle, WHERE)
        with self._lock:
            self._cycles[cycle.id] = stored

    def cycles(self, limit: int = 10) -> list[CycleRecord]:
        """The most recent cycles (by start, then id), newest first."""
        with self._lock:
            ordered = sorted(self._cycles.values(), key=lambda c: (c.started_at, c.id), reverse=True)
            return [cycle_copy(c, WHERE) for c in ordered[: max(limit, 0)]]

    def audit(self, *, anchor: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries (of one anchor when given), newest first."""
        with self._lock:
            newest = (e for e in reversed(self._audit) if anchor is None or e.anchor == anchor)
            return [e for _, e in zip(range(max(limit, 0)), newest, strict=False)]

    # -- the lock and the instances ----------------------------------------------------------------

    def acquire_lock(self, owner: str, ttl_seconds: float, *, now: datetime | None = None) -> bool:
        """Take (or renew) the cycle lock for ``owner``; ``False`` if another live owner has it."""
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        at = _now(now)
        with self._lock:
            holder = self._lock_holder
            if holder is not None and holder[0] != owner and holder[1] > at:
                return False
            self._lock_holder = (owner, at + timedelta(seconds=ttl_seconds))
            return True

    def release_lock(self, owner: str) -> None:
        with self._lock:
            if self._lock_holder is not None and self._lock_holder[0] == owner:
                self._lock_holder = None

    def lock_owner(self, *, now: datetime | None = None) -> str | None:
        at = _now(now)
        with self._lock:
            holder = self._lock_holder
            return holder[0] if holder is not None and holder[1] > at else None

    def announce(self, instance: InstanceRecord) -> None:
        stored = instance_in(instance, WHERE)
        with self._lock:
            self._instances[instance.name] = stored

    def instances(self, max_age_seconds: float, *, now: datetime | None = None) -> list[InstanceRecord]:
        """Instances seen within ``max_age_seconds`` of ``now``: the active ones first, then by start."""
        oldest = _now(now) - timedelta(seconds=max_age_seconds)
        with self._lock:
            found = [i for i in self._instances.values() if i.last_seen >= oldest]
        return sorted(found, key=lambda i: (i.role != "active", i.started_at, i.name))

    def forget_instance(self, name: str) -> None:
        with self._lock:
            self._instances.pop(name, None)

    # -- bookkeeping -------------------------------------------------------------------------------

    def get_watermark(self, name: str) -> str | None:
        with self._lock:
            return self._watermarks.get(name)

    def set_watermark(self, name: str, value: str | None) -> None:
        with self._lock:
            if value is None:
                self._watermarks.pop(name, None)
            else:
                self._watermarks[name] = value

    def baseline(self) -> str | None:
        with self._lock:
            return self._baseline

    def set_baseline(self, token: str | None) -> None:
        with self._lock:
            self._baseline = token

    def retry_anchors(self) -> list[str]:
        with self._lock:
            return list(self._retry)

    def set_retry_anchors(self, anchors: Sequence[str]) -> None:
        kept = tuple(anchors)
        with self._lock:
            self._retry = kept

    def open_problems(self) -> list[Problem]:
        with self._lock:
            return list(self._problems)

    def set_open_problems(self, problems: Sequence[Problem]) -> None:
        kept = tuple(problems)
        with self._lock:
            self._problems = kept

    def hold(self, actions: Sequence[Action], cycle_id: str) -> None:
        """Replace the held actions with these."""
        kept = tuple(action_copy(action) for action in actions)
        with self._lock:
            self._held = kept

    def held(self) -> list[Action]:
        with self._lock:
            return [action_copy(action) for action in self._held]

    def approvals(self) -> set[tuple[str, ActionKind]]:
        with self._lock:
            return set(self._approvals)

    def set_approvals(self, approved: Iterable[tuple[str, ActionKind]]) -> None:
        kept = frozenset((anchor, ActionKind(kind)) for anchor, kind in approved)
        with self._lock:
            self._approvals = kept

    def refresh_token(self) -> StoredRefreshToken | None:
        with self._lock:
            return self._refresh

    def save_refresh_token(self, token: StoredRefreshToken) -> None:
        stored = replace(token, stored_at=aware(token.stored_at, WHERE))
        with self._lock:
            self._refresh = stored

    # -- notifications -----------------------------------------------------------------------------

    def notification_state(self) -> NotificationState:
        with self._lock:
            return self._notifications

    def set_notification_state(self, state: NotificationState) -> None:
        """Replace the open conditions and the notices not delivered (times in UTC, naive refused)."""
        kept = NotificationState(
            tuple(
                replace(c, since=aware(c.since, WHERE), notified_at=aware(c.notified_at, WHERE))
                for c in state.conditions
            ),
            tuple(_pending_copy(p) for p in state.outbox),
        )
        with self._lock:
            self._notifications = kept

    # -- what the drift checks verified ------------------------------------------------------------

    def verified(self) -> frozenset[bytes]:
        with self._lock:
            return self._verified

    def save_verified(self, fingerprints: Collection[bytes]) -> None:
        """Keep ``fingerprints`` in place of those kept before; a bad one refused (``StateError``)
        before anything changes."""
        kept = _verified_in(fingerprints)
        with self._lock:
            self._verified = kept


def _verified_in(fingerprints: Collection[bytes]) -> frozenset[bytes]:
    """``fingerprints`` as stored (``model.drift.verified_set``), or ``StateError``."""
    try:
        return verified_set(fingerprints)
    except ValueError as exc:
        raise StateError(
            f"{WHERE}: could not save {len(fingerprints)} verified fingerprint(s): {exc}; nothing was "
            "written. The drift check computes the fingerprints: report this as a bug"
        ) from None


def _pending_copy(pending: PendingNotice) -> PendingNotice:
    notice = pending.notice
    copied = replace(
        notice,
        since=aware(notice.since, WHERE),
        at=aware(notice.at, WHERE),
        counts=dict(notice.counts),
        details=tuple(notice.details),
    )
    return replace(pending, notice=copied, next_attempt=aware(pending.next_attempt, WHERE))


def _stored(link: Link, previous: _Stored | None, time: datetime) -> _Stored:
    """``link`` as saved at ``time`` over ``previous``: its ``created_at`` kept, the fingerprint
    of what was applied, its own copy of it, its lookup keys."""
    created = aware(link.created_at, WHERE)
    stored = link_copy(
        link,
        created_at=previous.link.created_at if previous is not None else created or time,
        updated_at=time,
        deprovisioned_at=aware(link.deprovisioned_at, WHERE),
        fingerprint=fingerprint(link.applied),
    )
    return _Stored(stored, fold_email(link.email), normalize_dn(link.dn))


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else aware(now, WHERE)


if TYPE_CHECKING:

    def _implements_the_port(store: InMemoryStateStore) -> _Port:
        return store  # mypy checks that the fake is a whole StateStore, with the group links
