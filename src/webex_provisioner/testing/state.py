"""``InMemoryStateStore``: the whole ``StateStore`` port in memory, with the SQL store's rules.

A Webex id is linked to one anchor at most (a batch that would break that raises ``StateError``
naming both anchors and writes nothing), records apply in order, the store keeps ``created_at``,
``updated_at`` and the fingerprint as the port says, and the lock expires. Like
``SqlStateStore``, the lock and the instances take an optional ``now`` so that tests need not wait.

Thread-safe (one lock around everything). Values come back as copies or immutable values:
changing what a call returned, or what was handed in, never changes what is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from webex_provisioner.model import Action, ActionKind, AuditEntry, CycleRecord, InstanceRecord, Link, Problem
from webex_provisioner.model.keys import fingerprint, fold_email, normalize_dn
from webex_provisioner.model.notifications import NotificationState, PendingNotice
from webex_provisioner.ports import Record, StoredRefreshToken
from webex_provisioner.testing.state_values import (
    action_copy,
    aware,
    cycle_copy,
    instance_in,
    link_copy,
    stolen_id_error,
)

if TYPE_CHECKING:
    from webex_provisioner.ports import StateStore

WHERE = "in-memory state"


@dataclass(frozen=True, slots=True)
class _Stored:
    """A link as kept, with its lookup keys."""

    link: Link
    email_key: str
    dn_key: str


class _Batch:
    """The links as a batch of records leaves them, staged over the stored ones."""

    def __init__(self, links: dict[str, _Stored], owners: dict[str, str]) -> None:
        self._links, self._owners = links, owners
        self.links: dict[str, _Stored | None] = {}  # anchor -> link after the batch (None: dropped)
        self.owners: dict[str, str | None] = {}  # Webex id -> anchor after the batch (None: free)

    def link(self, anchor: str) -> _Stored | None:
        return self.links[anchor] if anchor in self.links else self._links.get(anchor)

    def owner(self, webex_id: str) -> str | None:
        return self.owners[webex_id] if webex_id in self.owners else self._owners.get(webex_id)

    def drop(self, anchor: str) -> None:
        if (old := self.link(anchor)) is not None:
            self.links[anchor] = None
            if self.owner(old.link.webex_id) == anchor:
                self.owners[old.link.webex_id] = None

    def save(self, link: Link, time: datetime) -> None:
        previous = self.link(link.anchor)
        if previous is not None:
            self.drop(link.anchor)
        created = previous.link.created_at if previous is not None else aware(link.created_at, WHERE) or time
        stored = link_copy(
            link,
            created_at=created,
            updated_at=time,
            deprovisioned_at=aware(link.deprovisioned_at, WHERE),
            fingerprint=fingerprint(link.applied),
        )
        self.links[link.anchor] = _Stored(stored, fold_email(link.email), normalize_dn(link.dn))
        self.owners[link.webex_id] = link.anchor


class InMemoryStateStore:
    """Links, cycles, the audit trail, the lease and the bookkeeping, in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._links: dict[str, _Stored] = {}
        self._owners: dict[str, str] = {}  # Webex id -> anchor
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
        """Write audit entries and their link changes, all or nothing, in order (each record's
        ``drop_link`` before its ``save_link``)."""
        batch = list(records)
        with self._lock:
            staged = _Batch(self._links, self._owners)
            entries = []
            for rec in batch:
                time = aware(rec.audit.time, WHERE)
                entries.append(replace(rec.audit, time=time))
                if rec.drop_link is not None:
                    staged.drop(rec.drop_link)
                link = rec.save_link
                if link is not None:
                    other = staged.owner(link.webex_id)
                    if other is not None and other != link.anchor:
                        raise stolen_id_error(WHERE, link, other, len(batch))
                    staged.save(link, time)
            self._apply(staged)
            self._audit.extend(entries)

    def _apply(self, staged: _Batch) -> None:
        for anchor, stored in staged.links.items():
            if stored is None:
                self._links.pop(anchor, None)
            else:
                self._links[anchor] = stored
        for webex_id, owner in staged.owners.items():
            if owner is None:
                self._owners.pop(webex_id, None)
            else:
                self._owners[webex_id] = owner

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


def _now(now: datetime | None) -> datetime:
    return datetime.now(UTC) if now is None else aware(now, WHERE)


if TYPE_CHECKING:

    def _implements_the_port(store: InMemoryStateStore) -> StateStore:
        return store  # mypy checks that the fake is a whole StateStore
