"""Migration 0008_licenses from a real database at revision 0007 (SQLite and PostgreSQL): the
licence tables are added empty and everything else is kept; the downgrade gives revision 0007
back its schema and the rows it reads."""

from __future__ import annotations

from contextlib import closing

from sqlalchemy import Engine, inspect, text

from tests.state.state_helpers import T0, insert_link_a1, link, migrate_to, save, table_shapes
from webex_provisioner.model import ActionKind
from webex_provisioner.state import head_revision, open_state_store
from webex_provisioner.state.migrations import current_revision
from webex_provisioner.testing.contracts.group_holds import HELD as HELD_GROUPS
from webex_provisioner.testing.contracts.license_holds import CATALOG, HELD, REFUSALS
from webex_provisioner.testing.contracts.samples import grant, group_link, save_grants, save_group

LICENSE_TABLES = {"license_grants", "license_catalog", "license_refusals", "held_license_actions"}


def _database_at_0007(engine: Engine) -> None:
    """A state as revision 0007 left it: a link, a group link with a member, an approval, an open
    notification condition."""
    migrate_to(engine, "0007")
    at = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    with engine.begin() as conn:
        insert_link_a1(conn)
        conn.execute(
            text(
                "INSERT INTO group_links (anchor, webex_id, name, name_lower, dn, dn_lower, created_at, "
                "updated_at) VALUES ('g1', 'wg1', 'Team', 'team', 'cn=t', 'cn=t', :t, :t)"
            ),
            {"t": at},
        )
        conn.execute(text("INSERT INTO group_members (group_anchor, user_anchor) VALUES ('g1', 'a1')"))
        conn.execute(text("INSERT INTO approvals (anchor, kind) VALUES ('a1', 'delete')"))
        conn.execute(
            text(
                "INSERT INTO notification_conditions (condition, since, cycle_id) VALUES ('failed', :t, 'c1')"
            ),
            {"t": at},
        )


def test_upgrade_from_0007_adds_empty_licence_tables_and_keeps_the_rest(
    state_url: str, raw_engine: Engine
) -> None:
    """Opening a 0007 database adds the licence tables, empty; its links, group links with their
    members, approvals and notification conditions are kept; grants can then be recorded and a
    dropped link takes its grants."""
    _database_at_0007(raw_engine)
    assert not LICENSE_TABLES & set(inspect(raw_engine).get_table_names())

    with closing(open_state_store(state_url)) as store:
        assert current_revision(raw_engine) == head_revision() == "0009_drift_verified"
        assert (list(store.grants()), store.license_catalog(), store.license_refusals()) == ([], [], [])
        assert store.held_licenses() == []
        assert [x.webex_id for x in store.links()] == ["w1"]
        assert [g.anchor for g in store.groups_of("a1")] == ["g1"]
        assert store.approvals() == {("a1", ActionKind.DELETE)}
        assert [c.condition for c in store.notification_state().conditions] == ["failed"]
        store.record([save(link(2)), save_grants(grant(2, "lic-a"), grant(2, "lic-b"))])
        assert store.grants_of("anchor-2") == [grant(2, "lic-a"), grant(2, "lic-b")]

    assert set(inspect(raw_engine).get_table_names()) >= LICENSE_TABLES


def test_downgrade_to_0007_drops_the_licences_and_what_0007_cannot_read(
    state_url: str, raw_engine: Engine
) -> None:
    """Downgrading to 0007 drops the licence tables with the approvals of licence actions; every
    other table is as 0007 made it, with its rows; upgrading again gives an empty licence state."""
    _database_at_0007(raw_engine)
    shapes_at_0007 = table_shapes(raw_engine)
    with closing(open_state_store(state_url)) as store:
        store.record([save(link(2)), save_grants(grant(2, "lic-a")), save_group(group_link(1, 2))])
        store.set_license_catalog(CATALOG)
        store.set_license_refusals(REFUSALS)
        store.hold_licenses(HELD, "c1")
        store.hold_groups(HELD_GROUPS, "c1")
        store.set_approvals(
            [
                ("a1", ActionKind.DELETE),
                ("anchor-2", ActionKind.RECLAIM_LICENSE),
                ("group-1", ActionKind.DELETE_GROUP),
            ]
        )

    migrate_to(raw_engine, "0007", down=True)

    assert current_revision(raw_engine) == "0007"
    assert table_shapes(raw_engine) == shapes_at_0007
    with raw_engine.connect() as conn:
        approvals = conn.execute(text("SELECT anchor, kind FROM approvals ORDER BY anchor")).all()
        assert [tuple(row) for row in approvals] == [("a1", "delete"), ("group-1", "delete_group")]
        assert sorted(conn.execute(text("SELECT anchor FROM links")).scalars()) == ["a1", "anchor-2"]
        assert conn.execute(text("SELECT count(*) FROM held_group_actions")).scalar() == len(HELD_GROUPS)

    with closing(open_state_store(state_url)) as store:
        assert (list(store.grants()), store.license_catalog(), store.held_licenses()) == ([], [], [])
        assert store.approvals() == {("a1", ActionKind.DELETE), ("group-1", ActionKind.DELETE_GROUP)}
