"""What only the SQL stores do for groups, beyond the contract: member rows written as a
difference and never left behind, group links loaded in one query and fast, refusals naming the
database. On SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, text

from tests.state.state_helpers import fill_group_links, statements
from webex_provisioner.errors import StateError
from webex_provisioner.state import SqlStateStore, mask_url
from webex_provisioner.testing.contracts.samples import drop_group, group_link, save_group


def _member_rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        query = "SELECT group_anchor, user_anchor FROM group_members ORDER BY 1, 2"
        return [tuple(row) for row in conn.execute(text(query))]


def test_saving_a_group_again_writes_only_the_members_that_change(store: SqlStateStore) -> None:
    """Saving a 300-member group with one member gone and one new deletes one member row and
    inserts one, whatever the size of the group, in a statement each."""
    store.record([save_group(group_link(1, *range(300)))])

    with statements(store) as sent:
        store.record([save_group(group_link(1, *range(1, 301)))])

    writes = [(sql.split()[0], rows) for sql, rows in sent if "group_members" in sql]
    member_writes = [(verb, rows) for verb, rows in writes if verb != "SELECT"]
    assert member_writes == [("DELETE", 1), ("INSERT", 1)]
    got = store.get_group_link("group-1")
    assert got is not None and got.members == group_link(1, *range(1, 301)).members


def test_a_dropped_group_leaves_no_member_rows(store: SqlStateStore, raw_engine: Engine) -> None:
    """Dropping a group link deletes its member rows (and no other group's), even when the batch
    saved it first."""
    store.record([save_group(group_link(1, 1, 2)), save_group(group_link(2, 2))])

    store.record([save_group(group_link(1, 1, 2, 3)), drop_group("group-1")])

    assert _member_rows(raw_engine) == [("group-2", "anchor-2")]


def test_group_links_are_read_in_one_query(store: SqlStateStore, raw_engine: Engine) -> None:
    """Reading every group link, one, or those of a user sends one query, however many groups
    and members there are."""
    fill_group_links(raw_engine, groups=50, members=10)

    with statements(store) as sent:
        got = list(store.group_links())
        one = store.get_group_link("bulk-group-7")
        mine = store.groups_of("bulk-300")

    assert len(got) == 50 and all(len(g.members) == 10 for g in got)
    assert one is not None and len(one.members) == 10
    assert [g.anchor for g in mine] == ["bulk-group-8"]
    assert len([sql for sql, _ in sent if sql.startswith("SELECT")]) == 3


@pytest.mark.slow
def test_1000_groups_of_300_members_load_in_about_a_second(store: SqlStateStore, raw_engine: Engine) -> None:
    """1,000 group links with 300 members each (300,000 member rows) load in well under a second
    on a quiet machine; the bound leaves room for a busy one. With ``-s`` it prints the time (the
    best of three reads)."""
    fill_group_links(raw_engine, groups=1000, members=300)

    times = []
    for _ in range(3):
        started = time.perf_counter()
        got = list(store.group_links())
        times.append(time.perf_counter() - started)

    assert len(got) == 1000 and sum(len(g.members) for g in got) == 300_000
    assert min(times) < 2.5, f"loading 1,000 group links with 300,000 members took {min(times):.2f} s"
    print(f"\n{raw_engine.dialect.name}: 1,000 group links, 300,000 members loaded in {min(times):.3f} s")


def test_a_refused_group_link_names_the_database(store: SqlStateStore, state_url: str) -> None:
    """The refusal of a Webex group linked to another group anchor names the database (password
    masked), both anchors, and what to do."""
    store.record([save_group(group_link(1))])

    with pytest.raises(StateError) as raised:
        store.record([save_group(group_link(2, webex_id="webex-group-1"))])

    assert raised.value.message.startswith(
        f"state database {mask_url(state_url)}: refusing to link group anchor group-2 to Webex group "
        "webex-group-1, which is linked to group anchor group-1; nothing of this batch"
    )
    assert "give them different names (groups.name)" in raised.value.message
