"""Migration 0009_drift_verified from a real database at revision 0008_licenses (SQLite and
PostgreSQL): ``drift_verified`` is added empty and everything else is kept; the downgrade drops it
and gives revision 0008_licenses back its schema. Also the row the store writes there, and one it
cannot read."""

from __future__ import annotations

from contextlib import closing

from sqlalchemy import Engine, inspect, text

from tests.state.state_helpers import OpenStore, insert_link_a1, link, migrate_to, save, table_shapes
from webex_provisioner.model import ActionKind
from webex_provisioner.state import head_revision, open_state_store
from webex_provisioner.state.migrations import current_revision
from webex_provisioner.testing.contracts.samples import grant, save_grants


def _database_at_0008(engine: Engine) -> None:
    """A state as revision 0008_licenses left it: a link with a grant, an approval."""
    migrate_to(engine, "0008_licenses")
    with engine.begin() as conn:
        insert_link_a1(conn)
        conn.execute(
            text("INSERT INTO license_grants (anchor, license_id, ours) VALUES ('a1', 'lic-a', :ours)"),
            {"ours": True},
        )
        conn.execute(text("INSERT INTO approvals (anchor, kind) VALUES ('a1', 'delete')"))


def test_upgrade_from_0008_adds_an_empty_drift_verified_and_keeps_the_rest(
    state_url: str, raw_engine: Engine
) -> None:
    """Opening a 0008_licenses database adds ``drift_verified``, empty (one row at most, keyed by
    ``id``); its links, grants and approvals are kept, and fingerprints can then be saved."""
    _database_at_0008(raw_engine)
    assert "drift_verified" not in inspect(raw_engine).get_table_names()

    with closing(open_state_store(state_url)) as store:
        assert current_revision(raw_engine) == head_revision() == "0009_drift_verified"
        assert store.verified() == frozenset()
        assert [x.webex_id for x in store.links()] == ["w1"]
        assert [g.license_id for g in store.grants_of("a1")] == ["lic-a"]
        assert store.approvals() == {("a1", ActionKind.DELETE)}
        store.save_verified([b"\x01" * 16])
        assert store.verified() == {b"\x01" * 16}

    key = inspect(raw_engine).get_pk_constraint("drift_verified")
    assert (key["name"], key["constrained_columns"]) == ("pk_drift_verified", ["id"])


def test_downgrade_to_0008_drops_drift_verified_and_nothing_else(state_url: str, raw_engine: Engine) -> None:
    """Downgrading to 0008_licenses drops ``drift_verified`` with its fingerprints; every other
    table is as 0008_licenses made it, with its rows; upgrading again gives no fingerprint."""
    _database_at_0008(raw_engine)
    shapes_at_0008 = table_shapes(raw_engine)
    with closing(open_state_store(state_url)) as store:
        store.record([save(link(2)), save_grants(grant(2, "lic-b"))])
        store.save_verified([b"\x01" * 16, b"\x02" * 16])

    migrate_to(raw_engine, "0008_licenses", down=True)

    assert current_revision(raw_engine) == "0008_licenses"
    assert table_shapes(raw_engine) == shapes_at_0008
    with raw_engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT anchor FROM links")).scalars()) == ["a1", "anchor-2"]
        assert conn.execute(text("SELECT count(*) FROM license_grants")).scalar() == 2

    with closing(open_state_store(state_url)) as store:
        assert store.verified() == frozenset()
        assert [x.anchor for x in store.links()] == ["a1", "anchor-2"]


def test_the_fingerprints_are_one_row_sorted_once_and_a_damaged_row_reads_as_none(
    open_store: OpenStore, raw_engine: Engine
) -> None:
    """A save writes one row (``id`` 1): the fingerprints sorted, each once, concatenated, with
    their ``count``; a row whose blob is not ``count`` fingerprints long reads as none kept."""
    store = open_store()
    store.save_verified([b"\x02" * 16, b"\x01" * 16, b"\x02" * 16])

    with raw_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, fingerprints, count, saved_at FROM drift_verified")).all()
    assert [(row[0], bytes(row[1]), row[2]) for row in rows] == [(1, b"\x01" * 16 + b"\x02" * 16, 2)]
    assert rows[0][3] is not None

    with raw_engine.begin() as conn:
        conn.execute(text("UPDATE drift_verified SET count = 3"))
    assert store.verified() == frozenset()
