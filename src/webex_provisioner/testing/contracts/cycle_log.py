"""The ``CycleLog`` part of the state contract: the cycles run and the audit trail."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from webex_provisioner.model import CycleKind, CycleRecord, Outcome
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.testing.contracts.samples import T0, entry, later


class CycleLogContract:
    """A cycle is one entry, replaced by its end; cycles and audit entries come newest first."""

    def test_a_finished_cycle_replaces_its_start_and_cycles_come_newest_first(
        self, store: StateStore
    ) -> None:
        """``finish_cycle`` replaces what ``start_cycle`` stored; ``cycles()`` lists the most
        recent first, at most ``limit``."""
        first = CycleRecord(id="c1", kind=CycleKind.FULL, started_at=T0)
        second = CycleRecord(id="c2", kind=CycleKind.INCREMENTAL, started_at=later(60))
        store.start_cycle(first)
        store.start_cycle(second)
        done = replace(
            first, finished_at=later(30), outcome="done", counts={"create": 2, "update": 1}, detail="ok"
        )
        store.finish_cycle(done)

        assert store.cycles() == [second, done]
        assert store.cycles(limit=1) == [second]

    def test_finishing_an_unstarted_cycle_records_it(self, store: StateStore) -> None:
        """``finish_cycle`` stores the cycle even when ``start_cycle`` was never called for it."""
        cycle = CycleRecord(
            id="c9", kind=CycleKind.USER, started_at=T0, finished_at=later(1), outcome="failed"
        )
        store.finish_cycle(cycle)

        assert store.cycles() == [cycle]

    def test_cycle_times_come_back_in_utc(self, store: StateStore) -> None:
        """A cycle's times, given in any time zone, come back as the same instants in UTC."""
        tokyo = timezone(timedelta(hours=9))
        store.start_cycle(
            CycleRecord("c1", CycleKind.FULL, started_at=datetime(2024, 5, 1, 21, 0, tzinfo=tokyo))
        )

        (got,) = store.cycles()

        assert got.started_at == T0 and got.started_at.tzinfo == UTC

    def test_a_stored_cycle_is_not_the_callers(self, store: StateStore) -> None:
        """Changing the counts handed to ``finish_cycle``, or those read back, changes nothing stored."""
        counts = {"create": 1}
        store.finish_cycle(CycleRecord("c1", CycleKind.FULL, T0, later(1), "done", counts))
        counts["create"] = 99
        (read,) = store.cycles()
        if isinstance(read.counts, MutableMapping):  # else it cannot be changed at all
            read.counts["create"] = 98

        (again,) = store.cycles()

        assert dict(again.counts) == {"create": 1}

    def test_audit_comes_newest_first_by_anchor_and_limited(self, store: StateStore) -> None:
        """``audit()`` returns the most recent entries first, of one anchor when asked, at most ``limit``."""
        failed = entry("anchor-2", at=later(2), outcome=Outcome.FAILED, detail="HTTP 400", webex_id=None)
        store.record([Record(entry("anchor-1", at=later(1))), Record(failed)])
        store.record([Record(entry("anchor-1", at=later(3), action="update"))])

        assert [(e.anchor, e.action) for e in store.audit()] == [
            ("anchor-1", "update"),
            ("anchor-2", "create"),
            ("anchor-1", "create"),
        ]
        assert store.audit(anchor="anchor-2") == [failed]
        assert [e.time for e in store.audit(anchor="anchor-1", limit=1)] == [later(3)]
        assert store.audit(anchor="nobody") == []
