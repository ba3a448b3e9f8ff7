"""Migration 0006_groups from a real database at revision 0005 (SQLite and PostgreSQL): the group
tables are added empty, the existing open problems become problems of users, and the downgrade
gives revision 0005 back a schema and rows it reads."""

from __future__ import annotations

from contextlib import closing

from sqlalchemy import Engine, inspect, text

from tests.state.state_helpers import insert_link_a1, link, migrate_to, save
from webex_provisioner.model import ActionKind, Problem, ProblemKind
from webex_provisioner.state import head_revision, open_state_store
from webex_provisioner.state.migrations import current_revision
from webex_provisioner.testing.contracts.group_holds import HELD
from webex_provisioner.testing.contracts.samples import group_link, save_group

GROUP_TABLES = {"group_links", "group_members", "held_group_actions"}


def _database_at_0005(engine: Engine) -> None:
    """A state as revision 0005 left it: a link, two open problems, an approval."""
    migrate_to(engine, "0005")
    with engine.begin() as conn:
        insert_link_a1(conn)
        conn.execute(
            text(
                "INSERT INTO open_problems (position, kind, anchor, dn, email, detail) VALUES "
                "(0, 'conflict', 'a2', 'uid=b', 'b@x', 'taken by w9'), (1, 'invalid', 'a1', '', NULL, '')"
            )
        )
        conn.execute(text("INSERT INTO approvals (anchor, kind) VALUES ('a1', 'delete')"))


def _shape(engine: Engine, table: str) -> tuple[object, ...]:
    """A table's columns (name, type, nullable) and primary key, as the database reports them."""
    found = inspect(engine)
    columns = [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)]
    return columns, found.get_pk_constraint(table), found.get_indexes(table)


def test_upgrade_from_0005_adds_empty_group_tables_and_makes_problems_about_users(
    state_url: str, raw_engine: Engine
) -> None:
    """Opening a 0005 database adds the group tables, empty, and the problems' resource column,
    ``user`` for every existing problem; links and approvals are kept; groups can be recorded."""
    _database_at_0005(raw_engine)
    assert not GROUP_TABLES & set(inspect(raw_engine).get_table_names())

    with closing(open_state_store(state_url)) as store:
        assert current_revision(raw_engine) == head_revision() == "0009_drift_verified"
        assert store.open_problems() == [
            Problem(ProblemKind.CONFLICT, "a2", "uid=b", "b@x", "taken by w9", resource="user"),
            Problem(ProblemKind.INVALID, "a1", "", None, "", resource="user"),
        ]
        assert (list(store.group_links()), store.held_groups()) == ([], [])
        assert [x.webex_id for x in store.links()] == ["w1"]
        assert store.approvals() == {("a1", ActionKind.DELETE)}
        store.record([save_group(group_link(1, 1))])
        assert [g.anchor for g in store.groups_of("anchor-1")] == ["group-1"]

    assert set(inspect(raw_engine).get_table_names()) >= GROUP_TABLES


def test_downgrade_to_0005_drops_the_groups_and_what_0005_cannot_read(
    state_url: str, raw_engine: Engine
) -> None:
    """Downgrading to 0005 drops the group tables and the resource column (open_problems is as
    0005 made it), with the problems and approvals about groups; the users' links, problems and
    approvals stay, and upgrading again gives an empty group state back."""
    _database_at_0005(raw_engine)
    problems_at_0005 = _shape(raw_engine, "open_problems")
    with closing(open_state_store(state_url)) as store:
        store.record([save(link(2)), save_group(group_link(1, 1, 2))])
        store.hold_groups(HELD, "c1")
        store.set_open_problems(
            [
                Problem(ProblemKind.CONFLICT, "group-1", "cn=g1", "Team 1", "name taken", resource="group"),
                Problem(ProblemKind.INVALID, "a1", "uid=a", None, "no e-mail"),
            ]
        )
        store.set_approvals([("a1", ActionKind.DELETE), ("group-1", ActionKind.DELETE_GROUP)])

    migrate_to(raw_engine, "0005", down=True)

    assert current_revision(raw_engine) == "0005"
    assert not GROUP_TABLES & set(inspect(raw_engine).get_table_names())
    assert _shape(raw_engine, "open_problems") == problems_at_0005
    with raw_engine.connect() as conn:
        assert conn.execute(text("SELECT anchor FROM open_problems")).scalars().all() == ["a1"]
        assert conn.execute(text("SELECT anchor, kind FROM approvals")).all() == [("a1", "delete")]
        assert sorted(conn.execute(text("SELECT anchor FROM links")).scalars()) == ["a1", "anchor-2"]

    with closing(open_state_store(state_url)) as store:
        assert store.open_problems() == [Problem(ProblemKind.INVALID, "a1", "uid=a", None, "no e-mail")]
        assert (list(store.group_links()), store.held_groups()) == ([], [])
