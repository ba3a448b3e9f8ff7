"""The group links part of the state contract: the links of Webex groups with the members this
tool manages, written by ``record`` with the links of users.

``ports.GroupStore`` states what a store offers for groups.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.testing.contracts.samples import (
    T0,
    drop,
    drop_group,
    entry,
    group_link,
    later,
    link,
    save,
    save_group,
)


class GroupLinksContract:
    """Group links with their members, written by ``record`` all or nothing and in order; a Webex
    group id linked to one group anchor at most."""

    def test_an_empty_store_has_no_group_links(self, store: StateStore) -> None:
        """An empty store has no group link: none listed, read, or holding a user; nothing held."""
        assert list(store.group_links()) == []
        assert store.get_group_link("group-1") is None
        assert store.groups_of("anchor-1") == []
        assert store.held_groups() == []

    def test_a_saved_group_link_reads_back_with_its_members(self, store: StateStore) -> None:
        """A saved group link reads back equal, members included, its times in UTC, ``created_at``
        its own and ``updated_at`` the record's time; a link without members has none."""
        paris = timezone(timedelta(hours=2))
        saved = group_link(
            1, 1, 2, 3, created_at=datetime(2023, 1, 1, 14, 0, tzinfo=paris), last_error="HTTP 500"
        )
        store.record([save_group(saved, at=later(5)), save_group(group_link(2))])

        got = store.get_group_link("group-1")

        assert got == replace(saved, created_at=datetime(2023, 1, 1, 12, 0, tzinfo=UTC), updated_at=later(5))
        assert got is not None and got.created_at is not None and got.created_at.tzinfo == UTC
        assert store.get_group_link("group-2") == replace(group_link(2), created_at=T0, updated_at=T0)

    def test_created_at_is_kept_from_the_first_save(self, store: StateStore) -> None:
        """A group link's ``created_at`` is its first record's time (when it has none) and survives
        later saves; ``updated_at`` is the time of the record that last saved it."""
        store.record([save_group(group_link(1), at=T0)])
        store.record([save_group(group_link(1, name="Renamed", created_at=later(30)), at=later(60))])

        got = store.get_group_link("group-1")

        assert got is not None
        assert (got.name, got.created_at, got.updated_at) == ("Renamed", T0, later(60))

    def test_saving_a_group_link_again_replaces_its_members(self, store: StateStore) -> None:
        """Saving a group link again replaces it and its member set (members added, removed,
        kept), never duplicating it; other groups' members are left alone."""
        store.record([save_group(group_link(1, 1, 2, 3)), save_group(group_link(2, 1, 2))])
        store.record([save_group(group_link(1, 2, 3, 4, name="Team one"))])

        assert [g.anchor for g in store.group_links()] == ["group-1", "group-2"]
        got = store.get_group_link("group-1")
        assert got is not None and (got.name, got.members) == ("Team one", group_link(1, 2, 3, 4).members)
        assert store.get_group_link("group-2") == replace(group_link(2, 1, 2), created_at=T0, updated_at=T0)

        store.record([save_group(group_link(1))])
        emptied = store.get_group_link("group-1")
        assert emptied is not None and emptied.members == frozenset()

    def test_member_anchors_of_any_text_are_kept_exactly(self, store: StateStore) -> None:
        """Member anchors with quotes, backslashes, blanks, non-ASCII or JSON-looking text are
        saved, replaced and read back exactly (a user anchor is the directory's text)."""
        odd = frozenset({'quote"d', "back\\slash", "Ünïcode ✓", "[1, 2]", " spaced ", "null", "a,b"})
        store.record([save_group(replace(group_link(1), members=odd))])
        store.record([save_group(replace(group_link(1), members=odd - {"null", "a,b"} | {"{}"}))])

        got = store.get_group_link("group-1")

        assert got is not None and got.members == odd - {"null", "a,b"} | {"{}"}
        assert [g.anchor for g in store.groups_of('quote"d')] == ["group-1"]
        assert store.groups_of("null") == []

    def test_drop_group_removes_the_link_and_its_members(self, store: StateStore) -> None:
        """A record's ``drop_group`` deletes that group link and its members, and no other;
        dropping a group anchor without a link is no error; a group saved again after its drop
        starts afresh."""
        store.record([save_group(group_link(1, 1, 2)), save_group(group_link(2, 1))])
        store.record([drop_group("group-1"), drop_group("never-linked")])

        assert store.get_group_link("group-1") is None
        assert [g.anchor for g in store.group_links()] == ["group-2"]
        assert [g.anchor for g in store.groups_of("anchor-1")] == ["group-2"]
        assert store.groups_of("anchor-2") == []

        store.record([save_group(group_link(1, 3), at=later(9))])
        assert store.get_group_link("group-1") == replace(
            group_link(1, 3), created_at=later(9), updated_at=later(9)
        )

    def test_a_webex_group_linked_to_another_anchor_is_refused_naming_both(self, store: StateStore) -> None:
        """Saving a group link to a Webex group linked to another group anchor raises
        ``StateError`` naming both anchors and the Webex group; the stored link is left as it was."""
        store.record([save_group(group_link(1, 1))])

        with pytest.raises(StateError) as raised:
            store.record([save_group(group_link(2, 2, webex_id="webex-group-1"))])

        message = raised.value.message
        assert "group-2" in message and "group-1" in message and "webex-group-1" in message
        assert store.get_group_link("group-1") == replace(group_link(1, 1), created_at=T0, updated_at=T0)
        assert store.get_group_link("group-2") is None
        assert store.groups_of("anchor-2") == []

    def test_a_refused_group_writes_nothing_of_the_batch(self, store: StateStore) -> None:
        """When a group link of a batch is refused, none of the batch's user links, group links,
        members, drops or audit entries is written."""
        store.record([save(link(1)), save_group(group_link(1, 1))])
        batch = [
            save(link(2)),
            save_group(group_link(2, 2)),
            save_group(group_link(1, 1, 2, 3)),
            drop("anchor-1"),
            save_group(group_link(3, 3, webex_id="webex-group-2")),
        ]

        with pytest.raises(StateError, match="group-3"):
            store.record(batch)

        assert [x.anchor for x in store.links()] == ["anchor-1"]
        assert [g.anchor for g in store.group_links()] == ["group-1"]
        assert store.get_group_link("group-1") == replace(group_link(1, 1), created_at=T0, updated_at=T0)
        assert store.groups_of("anchor-2") == []
        assert len(store.audit(limit=100)) == 2

    def test_a_refused_user_link_writes_no_group_of_the_batch(self, store: StateStore) -> None:
        """When a user link of a batch is refused, the batch's group links and members are not
        written either."""
        store.record([save(link(1))])

        with pytest.raises(StateError, match="anchor-2"):
            store.record([save_group(group_link(1, 1)), save(link(2, webex_id="webex-1"))])

        assert list(store.group_links()) == []
        assert store.groups_of("anchor-1") == []

    def test_two_group_anchors_taking_one_webex_group_in_one_batch_are_refused(
        self, store: StateStore
    ) -> None:
        """Two saves of one batch giving one Webex group to two group anchors are refused, the
        later anchor named first."""
        with pytest.raises(StateError, match=r"group-2.*group-1"):
            store.record(
                [save_group(group_link(1, webex_id="shared")), save_group(group_link(2, webex_id="shared"))]
            )

        assert list(store.group_links()) == []
        assert store.audit() == []

    def test_group_records_apply_in_order_so_a_freed_webex_group_can_be_reused(
        self, store: StateStore
    ) -> None:
        """Records apply in order: a Webex group an earlier record released (moved off or dropped)
        may be linked by a later one; in one record, ``drop_group`` applies before ``save_group``."""
        store.record([save_group(group_link(1, 1)), save_group(group_link(3, 3))])

        store.record(
            [
                save_group(group_link(1, 1, webex_id="webex-group-1b")),
                save_group(group_link(2, 2, webex_id="webex-group-1")),
                Record(
                    entry("group-4"),
                    drop_group="group-3",
                    save_group=group_link(4, 4, webex_id="webex-group-3"),
                ),
            ]
        )

        assert {g.anchor: (g.webex_id, g.members) for g in store.group_links()} == {
            "group-1": ("webex-group-1b", group_link(1, 1).members),
            "group-2": ("webex-group-1", group_link(2, 2).members),
            "group-4": ("webex-group-3", group_link(4, 4).members),
        }

    def test_user_and_group_records_in_one_batch_apply_in_order(self, store: StateStore) -> None:
        """One batch mixing user and group records applies each in order: a group saved, dropped
        and saved again ends with its last members; a user link dropped then saved again is
        there; the audit entries are all written."""
        store.record([save(link(1)), save_group(group_link(1, 1))])

        store.record(
            [
                save(link(2)),
                save_group(group_link(1, 1, 2)),
                drop("anchor-1"),
                drop_group("group-1"),
                save_group(group_link(1, 2, 3), at=later(1)),
                save(link(1, webex_id="webex-1b")),
                save_group(group_link(2, 1, 2)),
            ]
        )

        assert {x.anchor: x.webex_id for x in store.links()} == {
            "anchor-1": "webex-1b",
            "anchor-2": "webex-2",
        }
        assert {g.anchor: g.members for g in store.group_links()} == {
            "group-1": group_link(1, 2, 3).members,
            "group-2": group_link(2, 1, 2).members,
        }
        assert len(store.audit(limit=100)) == 9

    def test_user_and_group_webex_ids_are_apart(self, store: StateStore) -> None:
        """A Webex group id and a Webex user id are never confused: equal strings do not conflict,
        and an anchor may name a user link and a group link at once."""
        store.record([save(link(1, webex_id="same-id")), save_group(group_link(1, webex_id="same-id"))])
        store.record([save_group(group_link(9, anchor="anchor-1", webex_id="webex-group-9"))])

        assert [x.webex_id for x in store.links()] == ["same-id"]
        assert [(g.anchor, g.webex_id) for g in store.group_links()] == [
            ("anchor-1", "webex-group-9"),
            ("group-1", "same-id"),
        ]

    def test_group_links_lists_every_link_by_anchor_with_its_members(self, store: StateStore) -> None:
        """``group_links()`` yields every group link ordered by anchor, each with its own members."""
        store.record([save_group(group_link(n, n, n + 1)) for n in (3, 1, 2)])

        got = list(store.group_links())

        assert [g.anchor for g in got] == ["group-1", "group-2", "group-3"]
        assert [g.members for g in got] == [group_link(n, n, n + 1).members for n in (1, 2, 3)]

    def test_group_links_can_be_read_while_the_store_records(self, store: StateStore) -> None:
        """A record made while ``group_links()`` is being read succeeds, and the read still finishes
        with the members each link had."""
        store.record([save_group(group_link(n, n)) for n in range(5)])

        stream = store.group_links()
        first = next(stream)
        store.record([save_group(group_link(99, 1)), drop_group("group-4")])
        rest = list(stream)

        assert (first.anchor, first.members) == ("group-0", group_link(0, 0).members)
        assert [(g.anchor, g.members) for g in rest][:3] == [
            (f"group-{n}", group_link(n, n).members) for n in (1, 2, 3)
        ]
        assert store.get_group_link("group-99") is not None

    def test_groups_of_lists_the_groups_a_user_was_made_member_of(self, store: StateStore) -> None:
        """``groups_of`` gives the group links whose members include the user, by anchor, with all
        their members; it follows saves and drops, and knows no user it never saw."""
        store.record([save_group(group_link(3, 1, 2)), save_group(group_link(1, 1))])
        store.record([save_group(group_link(2, 2))])

        assert [(g.anchor, g.members) for g in store.groups_of("anchor-1")] == [
            ("group-1", group_link(1, 1).members),
            ("group-3", group_link(3, 1, 2).members),
        ]
        store.record([save_group(group_link(3, 2)), drop_group("group-1"), save_group(group_link(2, 1, 2))])
        assert [g.anchor for g in store.groups_of("anchor-1")] == ["group-2"]
        assert [g.anchor for g in store.groups_of("anchor-2")] == ["group-2", "group-3"]
        assert store.groups_of("anchor-9") == []
        assert store.groups_of("group-2") == []

    def test_a_naive_datetime_in_a_group_link_is_refused_and_nothing_is_written(
        self, store: StateStore
    ) -> None:
        """A group link with a naive ``created_at`` is refused with ``StateError``; nothing of the
        batch is written."""
        naive = datetime(2024, 5, 1, 12, 0)

        with pytest.raises(StateError, match="naive datetime"):
            store.record([save(link(1)), save_group(group_link(1, 1, created_at=naive))])

        assert (store.count_links(), list(store.group_links()), store.audit()) == (0, [], [])

    def test_group_links_read_or_handed_in_are_the_callers_own(self, store: StateStore) -> None:
        """Changing the member set handed to ``record`` changes nothing stored, and the members
        read back cannot be changed (or changing them changes nothing stored)."""
        members = {"anchor-1", "anchor-2"}
        store.record([save_group(replace(group_link(1), members=cast(frozenset[str], members)))])
        members.add("anchor-3")
        got = store.get_group_link("group-1")
        assert got is not None
        if isinstance(got.members, set):  # else it cannot be changed at all
            got.members.add("anchor-4")

        again = store.get_group_link("group-1")

        assert again is not None and again.members == {"anchor-1", "anchor-2"}
