"""The licence grants part of the state contract: the licences linked users hold as far as
webex-provisioner knows, written by ``record`` with the links (a record's ``drop_link`` drops its
anchor's grants, then its ``drop_grants`` apply, then its ``save_grants``).

``ports.LicenseStore`` states what a store offers for licences.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.model import Grant
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.testing.contracts.samples import (
    T0,
    drop,
    drop_grants,
    entry,
    grant,
    later,
    link,
    save,
    save_grants,
)

HOSTILE = ('quote"d', "back\\slash", "Ünïcode ✓", "[1, 2]", " spaced ", "\x1b[31mred\x1b[0m", "a\nb\tc\u202e")
"""Texts a directory or Webex may hand over: quotes, escapes, control characters, a line break,
a right-to-left override. A store keeps them as they are."""


def _grants(store: StateStore) -> dict[tuple[str, str], Grant]:
    """Every grant, by (anchor, licence id)."""
    return {(g.anchor, g.license_id): g for g in store.grants()}


class GrantsContract:
    """Grants written by ``record`` all or nothing and in order, one per (anchor, licence), gone
    with their anchor's link."""

    def test_an_empty_store_has_no_grants(self, store: StateStore) -> None:
        """An empty store has no grant, catalogue, refusal or held licence action."""
        assert list(store.grants()) == []
        assert store.grants_of("anchor-1") == []
        assert (store.license_catalog(), store.license_refusals(), store.held_licenses()) == ([], [], [])

    def test_saved_grants_read_back_by_anchor_then_licence(self, store: StateStore) -> None:
        """Saved grants read back equal, ``grants()`` by anchor then licence id, ``grants_of`` one
        user's by licence id; ``since`` comes back in UTC, or ``None`` when it was."""
        paris = timezone(timedelta(hours=2))
        store.record(
            [
                save_grants(grant(2, "lic-b"), grant(2, "lic-a", ours=False, since=None)),
                save_grants(
                    grant(1, "lic-c", since=datetime(2024, 5, 1, 16, 0, tzinfo=paris)), grant(1, "lic-a")
                ),
            ]
        )

        got = list(store.grants())

        assert [(g.anchor, g.license_id) for g in got] == [
            ("anchor-1", "lic-a"),
            ("anchor-1", "lic-c"),
            ("anchor-2", "lic-a"),
            ("anchor-2", "lic-b"),
        ]
        assert got[1] == grant(1, "lic-c", since=datetime(2024, 5, 1, 14, 0, tzinfo=UTC))
        assert got[1].since is not None and got[1].since.utcoffset() == timedelta(0)
        assert store.grants_of("anchor-2") == [grant(2, "lic-a", ours=False, since=None), grant(2, "lic-b")]
        assert store.grants_of("anchor-3") == []

    def test_a_grant_saved_again_replaces_that_of_its_anchor_and_licence(self, store: StateStore) -> None:
        """Saving a grant of an (anchor, licence) that has one replaces it (``ours`` and
        ``since`` included), never adding a second; within one record the last one wins; the
        other grants are left alone."""
        store.record(
            [save_grants(grant(1, "lic-a", ours=False), grant(1, "lic-b")), save_grants(grant(2, "lic-a"))]
        )

        store.record(
            [save_grants(grant(1, "lic-a", since=later(5)), grant(1, "lic-b", ours=False, since=None))]
        )
        store.record([save_grants(grant(2, "lic-a", ours=False), grant(2, "lic-a", since=later(9)))])

        assert list(store.grants()) == [
            grant(1, "lic-a", since=later(5)),
            grant(1, "lic-b", ours=False, since=None),
            grant(2, "lic-a", since=later(9)),
        ]

    def test_drop_grants_forgets_only_the_grants_named(self, store: StateStore) -> None:
        """``drop_grants`` forgets the grants of its (anchor, licence id) pairs and no other (not
        the anchor's other licences, not that licence of other users); naming a grant that does
        not exist is no error."""
        store.record([save_grants(grant(1, "lic-a"), grant(1, "lic-b")), save_grants(grant(2, "lic-a"))])

        store.record([drop_grants(("anchor-1", "lic-a"), ("anchor-1", "lic-z"), ("anchor-9", "lic-a"))])

        assert list(_grants(store)) == [("anchor-1", "lic-b"), ("anchor-2", "lic-a")]

    def test_a_dropped_link_drops_every_grant_of_its_anchor(self, store: StateStore) -> None:
        """A record's ``drop_link`` drops the link and every grant of that anchor (those stored
        and those an earlier record of the batch saved), and no grant of another anchor."""
        store.record([save(link(1)), save(link(2)), save_grants(grant(1, "lic-a"), grant(1, "lic-b"))])
        store.record([save_grants(grant(2, "lic-a"))])

        store.record([save_grants(grant(1, "lic-c")), drop("anchor-1")])

        assert store.grants_of("anchor-1") == []
        assert list(store.grants()) == [grant(2, "lic-a")]
        assert [x.anchor for x in store.links()] == ["anchor-2"]

    def test_a_link_dropped_without_grants_or_never_linked_is_no_error(self, store: StateStore) -> None:
        """Dropping the link of an anchor that has no grant, or no link, writes the rest of the
        batch and leaves the grants of others alone."""
        store.record([save(link(1)), save_grants(grant(2, "lic-a"))])

        store.record([drop("anchor-1"), drop("never-linked"), save_grants(grant(3, "lic-a"))])

        assert list(_grants(store)) == [("anchor-2", "lic-a"), ("anchor-3", "lic-a")]

    def test_in_one_record_drops_apply_before_saves(self, store: StateStore) -> None:
        """In one record, ``drop_link`` (with the anchor's grants) and ``drop_grants`` apply
        before ``save_link`` and ``save_grants``: a user relinked in one record keeps only the
        grants that record saves, and a grant dropped and saved in one record is there."""
        store.record([save(link(1)), save_grants(grant(1, "lic-a"), grant(1, "lic-b"))])

        store.record(
            [
                save_grants(
                    grant(1, "lic-c", since=later(1)),
                    drop_link="anchor-1",
                    save_link=link(1, webex_id="webex-1b"),
                ),
                save_grants(grant(1, "lic-c", ours=False), drop_grants=(("anchor-1", "lic-c"),)),
            ]
        )

        assert store.grants_of("anchor-1") == [grant(1, "lic-c", ours=False)]
        assert [(x.anchor, x.webex_id) for x in store.links()] == [("anchor-1", "webex-1b")]

    def test_records_apply_their_grants_in_order(self, store: StateStore) -> None:
        """Records apply in order: a grant saved then dropped by later records is gone, a grant
        dropped then saved again is there, a link dropped after a save takes the saved grants."""
        store.record([save_grants(grant(1, "lic-a"))])

        store.record(
            [
                drop_grants(("anchor-1", "lic-a")),
                save_grants(grant(1, "lic-a", ours=False)),
                save_grants(grant(2, "lic-a")),
                drop_grants(("anchor-2", "lic-a")),
                save_grants(grant(3, "lic-a")),
                drop("anchor-3"),
                drop("anchor-4"),
                save_grants(grant(4, "lic-b")),
            ]
        )

        assert list(store.grants()) == [grant(1, "lic-a", ours=False), grant(4, "lic-b")]
        assert len(store.audit(limit=100)) == 9

    def test_a_failing_batch_writes_no_grant(self, store: StateStore) -> None:
        """When a record of a batch is refused (a Webex id linked to another anchor), none of the
        batch's grants saved, grants dropped, links dropped with their grants, or audit entries is
        written."""
        store.record(
            [save(link(1)), save(link(2)), save_grants(grant(1, "lic-a")), save_grants(grant(2, "lic-a"))]
        )
        batch = [
            save_grants(grant(3, "lic-a"), save_link=link(3)),
            drop("anchor-1"),
            drop_grants(("anchor-2", "lic-a")),
            save_grants(grant(2, "lic-a", ours=False, since=later(3))),
            save(link(4, webex_id="webex-2")),
        ]

        with pytest.raises(StateError, match="anchor-4"):
            store.record(batch)

        assert list(store.grants()) == [grant(1, "lic-a"), grant(2, "lic-a")]
        assert [x.anchor for x in store.links()] == ["anchor-1", "anchor-2"]
        assert len(store.audit(limit=100)) == 4

    def test_a_naive_since_is_refused_and_nothing_is_written(self, store: StateStore) -> None:
        """A grant with a naive ``since`` is refused with ``StateError``; nothing of the batch
        (links, grants, audit entries) is written."""
        naive = datetime(2024, 5, 1, 12, 0)

        with pytest.raises(StateError, match="naive datetime"):
            store.record(
                [save(link(1)), save_grants(grant(1, "lic-a")), save_grants(grant(1, "lic-b", since=naive))]
            )

        assert (list(store.grants()), store.count_links(), store.audit()) == ([], 0, [])

    def test_grants_can_be_read_while_the_store_records(self, store: StateStore) -> None:
        """A record made while ``grants()`` is being read succeeds, and the read still finishes
        with the grants as they were when it began."""
        store.record([save_grants(grant(n, "lic-a")) for n in range(5)])

        stream = store.grants()
        first = next(stream)
        store.record([save_grants(grant(9, "lic-a")), drop_grants(("anchor-4", "lic-a"))])
        rest = list(stream)

        assert first == grant(0, "lic-a")
        assert rest[:3] == [grant(n, "lic-a") for n in (1, 2, 3)]
        assert store.grants_of("anchor-9") == [grant(9, "lic-a")]

    def test_hostile_anchors_and_licence_ids_are_kept_exactly(self, store: StateStore) -> None:
        """Anchors and licence ids with quotes, escapes, control characters, line breaks,
        non-ASCII text, and of 255 characters, are saved, read and dropped exactly."""
        long = "x" * 255
        grants = [Grant(text, text, True, T0) for text in (*HOSTILE, long)]
        store.record([Record(entry("anchor-1"), save_grants=tuple(grants))])

        assert set(store.grants()) == set(grants)
        for item in grants:
            assert store.grants_of(item.anchor) == [item]
        store.record([drop_grants(*[(text, text) for text in HOSTILE])])
        assert list(store.grants()) == [Grant(long, long, True, T0)]

    @pytest.mark.parametrize(
        ("anchor", "license_id", "says"),
        [
            ("anchor-1", "L" * 256, "256 characters long"),
            ("A" * 300, "lic-a", "300 characters long"),
            ("anchor-1", "lic\x00a", "NUL"),
            ("anchor-\ud800", "lic-a", "lone surrogate"),
        ],
    )
    def test_a_grant_the_state_cannot_keep_is_refused_clearly(
        self, store: StateStore, anchor: str, license_id: str, says: str
    ) -> None:
        """A grant whose anchor or licence id is longer than 255 characters, holds NUL or is not
        Unicode text is refused with a ``StateError`` saying so, and nothing of the batch is
        written; the same refusal for a grant to drop."""
        store.record([save_grants(grant(1, "lic-z"))])
        bad = Grant(anchor, license_id, True, T0)

        with pytest.raises(StateError, match=says) as raised:
            store.record([save(link(2)), Record(entry("anchor-1"), save_grants=(grant(1, "lic-b"), bad))])
        with pytest.raises(StateError, match=says):
            store.record([drop("anchor-1"), drop_grants((anchor, license_id))])

        assert "nothing was written" in raised.value.message
        assert (list(store.grants()), store.count_links(), len(store.audit())) == ([grant(1, "lic-z")], 0, 1)

    def test_grants_read_are_the_callers_own(self, store: StateStore) -> None:
        """Changing the lists ``grants_of`` and ``grants()`` gave changes nothing stored."""
        store.record([save_grants(grant(1, "lic-a"), grant(1, "lic-b"))])

        store.grants_of("anchor-1").clear()
        listed = list(store.grants())
        listed.pop()

        assert store.grants_of("anchor-1") == [grant(1, "lic-a"), grant(1, "lic-b")]
