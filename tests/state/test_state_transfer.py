"""state export / import: every row survives a move between SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.state.state_helpers import T0, entry, link
from webex_provisioner.errors import StateError
from webex_provisioner.model import Action, ActionKind, Change, CycleKind, CycleRecord, LinkState, Reason
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.state import SqliteStateStore, open_state_store
from webex_provisioner.state.transfer import export_state, import_state


def fill(store: SqliteStateStore, n: int = 250) -> None:
    store.record(
        Record(entry(f"anchor-{i}", at=T0 + timedelta(seconds=i)), save_link=link(i)) for i in range(n)
    )
    store.record(
        [
            Record(
                entry("anchor-0", action="disable"),
                save_link=link(
                    0, state=LinkState.DISABLED, deprovisioned_at=T0, deprovision_reason=Reason.LEFT_SCOPE
                ),
            )
        ]
    )
    store.start_cycle(CycleRecord("c1", CycleKind.FULL, T0))
    store.finish_cycle(
        CycleRecord("c1", CycleKind.FULL, T0, T0 + timedelta(seconds=3), "succeeded", {"create": n})
    )
    store.set_watermark("directory.content_sync.cookie", "rid=000,csn=1")
    store.hold(
        [
            Action(
                ActionKind.DISABLE,
                Reason.LEFT_SCOPE,
                "anchor-1",
                "user1@example.com",
                webex_id="webex-1",
                changes=(Change("title", "a", None),),
            )
        ],
        "c1",
    )


def snapshot(store: StateStore) -> tuple[object, ...]:
    return (
        sorted(store.links(), key=lambda x: x.anchor),
        store.cycles(100),
        store.audit(limit=10_000),
        store.get_watermark("directory.content_sync.cookie"),
        store.held(),
    )


@pytest.mark.postgresql
def test_export_from_sqlite_import_into_postgresql_preserves_everything(
    tmp_path: Path, postgres_url: str
) -> None:
    """Every link, cycle, audit entry, watermark and held action arrives unchanged in PostgreSQL."""
    source = SqliteStateStore(tmp_path / "state.db")
    fill(source)
    counts = export_state(source, tmp_path / "state.jsonl")
    assert counts["links"] == 250 and counts["audit"] == 251
    assert (tmp_path / "state.jsonl").stat().st_mode & 0o077 == 0
    target = open_state_store(postgres_url)
    try:
        imported = import_state(target, tmp_path / "state.jsonl")
        assert imported == counts
        assert snapshot(target)[0] == snapshot(source)[0]
        assert snapshot(target)[1:] == snapshot(source)[1:]
    finally:
        target.close()
        source.close()


def test_import_refuses_a_store_with_links_unless_replace(tmp_path: Path) -> None:
    """Importing into a store that has links is refused; --replace empties it first."""
    source = SqliteStateStore(tmp_path / "a.db")
    fill(source, 5)
    export_state(source, tmp_path / "x.jsonl")
    target = SqliteStateStore(tmp_path / "b.db")
    target.record([Record(entry("other"), save_link=link("other"))])
    with pytest.raises(StateError, match="already has 1 link"):
        import_state(target, tmp_path / "x.jsonl")
    import_state(target, tmp_path / "x.jsonl", replace=True)
    assert {x.anchor for x in target.links()} == {f"anchor-{i}" for i in range(5)}
    source.close()
    target.close()


def test_import_rejects_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    """A file without the export header is refused with a clear message, and nothing is written."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    store = SqliteStateStore(tmp_path / "c.db")
    with pytest.raises(StateError, match="not a webex-provisioner state export"):
        import_state(store, bad)
    assert list(store.links()) == []
    store.close()
