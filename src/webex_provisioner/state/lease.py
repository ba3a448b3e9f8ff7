"""``SqlLease``: the ``Lease`` port in SQL: the cycle lock, and the instances that announce themselves.

Both accept an explicit ``now`` (default: the current time), so that expiry can be tested
without waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select

from webex_provisioner.model import InstanceRecord
from webex_provisioner.state import codec
from webex_provisioner.state.base import SqlBase
from webex_provisioner.state.schema import instances, locks

CYCLE_LOCK = "cycle"


class SqlLease(SqlBase):
    """One cycle lock row (taken atomically), and a row per announced instance."""

    def acquire_lock(self, owner: str, ttl_seconds: float, *, now: datetime | None = None) -> bool:
        """Take (or renew) the cycle lock for ``owner``; ``False`` if another live owner has it.

        Atomic: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` that only overwrites a lock
        held by ``owner`` or expired at ``now`` (default: the current time).
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        now = now or datetime.now(UTC)
        values = {"owner": owner, "expires_at": now + timedelta(seconds=ttl_seconds), "heartbeat_at": now}
        stmt = self._dialect_insert(locks).values(name=CYCLE_LOCK, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={k: stmt.excluded[k] for k in values},
            where=or_(locks.c.owner == owner, locks.c.expires_at <= now),
        )
        with self._transaction("take the cycle lock", write=True) as conn:
            return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1

    def release_lock(self, owner: str) -> None:
        """Release the cycle lock if ``owner`` holds it; someone else's lock is left alone."""
        stmt = delete(locks).where(locks.c.name == CYCLE_LOCK, locks.c.owner == owner)
        with self._transaction("release the cycle lock", write=True) as conn:
            conn.execute(stmt)

    def lock_owner(self, *, now: datetime | None = None) -> str | None:
        """Who holds the cycle lock and has not let it expire at ``now``, or ``None``."""
        now = now or datetime.now(UTC)
        stmt = select(locks.c.owner).where(locks.c.name == CYCLE_LOCK, locks.c.expires_at > now)
        with self._transaction("read the cycle lock") as conn:
            owner = conn.execute(stmt).scalar()
        return None if owner is None else str(owner)

    def announce(self, instance: InstanceRecord) -> None:
        """Record (or refresh) a running instance and its role; its ``last_seen`` is the heartbeat."""
        with self._transaction(f"announce instance {instance.name}", write=True) as conn:
            conn.execute(self._upsert(instances, codec.instance_row(instance)))

    def instances(self, max_age_seconds: float, *, now: datetime | None = None) -> list[InstanceRecord]:
        """Instances seen within ``max_age_seconds`` of ``now``: the active ones first, then by start."""
        now = now or datetime.now(UTC)
        stmt = select(instances).where(instances.c.last_seen >= now - timedelta(seconds=max_age_seconds))
        with self._transaction("read the running instances") as conn:
            found = [codec.instance(row) for row in conn.execute(stmt).mappings()]
        return sorted(found, key=lambda i: (i.role != "active", i.started_at, i.name))

    def forget_instance(self, name: str) -> None:
        with self._transaction(f"forget instance {name}", write=True) as conn:
            conn.execute(delete(instances).where(instances.c.name == name))
