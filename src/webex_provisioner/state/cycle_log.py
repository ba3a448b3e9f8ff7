"""``SqlCycleLog``: the ``CycleLog`` port in SQL: the cycles run and the audit trail.

Audit entries are written by ``SqlLinks.record``, with the link changes they explain.
"""

from __future__ import annotations

from sqlalchemy import select

from webex_provisioner.model import AuditEntry, CycleRecord
from webex_provisioner.state import codec
from webex_provisioner.state.base import SqlBase
from webex_provisioner.state.schema import audit, cycles


class SqlCycleLog(SqlBase):
    """The cycles (one row each, replaced by its end) and the audit trail."""

    def start_cycle(self, cycle: CycleRecord) -> None:
        self._save_cycle(cycle, f"record the start of cycle {cycle.id}")

    def finish_cycle(self, cycle: CycleRecord) -> None:
        """Store the cycle's end; it replaces what ``start_cycle`` stored (or is the first row)."""
        self._save_cycle(cycle, f"record the end of cycle {cycle.id}")

    def _save_cycle(self, cycle: CycleRecord, what: str) -> None:
        with self._transaction(what, write=True) as conn:
            conn.execute(self._upsert(cycles, codec.cycle_row(cycle)))

    def cycles(self, limit: int = 10) -> list[CycleRecord]:
        """The most recent cycles, newest first."""
        stmt = select(cycles).order_by(cycles.c.started_at.desc(), cycles.c.id.desc()).limit(limit)
        with self._transaction("read the recent cycles") as conn:
            return [codec.cycle(row) for row in conn.execute(stmt).mappings()]

    def audit(self, *, anchor: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries (of one anchor when given), newest first."""
        stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if anchor is not None:
            stmt = stmt.where(audit.c.anchor == anchor)
        with self._transaction("read the audit trail") as conn:
            return [codec.audit_entry(row) for row in conn.execute(stmt).mappings()]
