"""The ``LinkStore`` part of the state contract: links, and the records that write them."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.model import LinkState, Reason
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.testing.contracts.samples import T0, drop, entry, later, link, save


class LinkStoreContract:
    """Links are written only through ``record``, all or nothing, in order; a Webex id is linked to
    one anchor at most; lookups fold e-mails and normalize DNs."""

    def test_an_empty_store_has_no_links(self, store: StateStore) -> None:
        """An empty store has no link: none listed, counted, read or found."""
        assert (list(store.links()), store.count_links()) == ([], 0)
        assert store.get_link("anchor-1") is None
        assert store.find_links("anchor-1") == []

    def test_a_saved_link_reads_back_with_every_field(self, store: StateStore) -> None:
        """A saved link reads back equal, its times in UTC and ``updated_at`` the record's time."""
        paris = timezone(timedelta(hours=2))
        saved = link(
            1,
            state=LinkState.DISABLED,
            applied={"email": "a@example.com", "department": "Ünïcode ✓", "empty": ""},
            deprovisioned_at=datetime(2024, 4, 30, 14, 0, tzinfo=paris),
            deprovision_reason=Reason.LEFT_SCOPE,
            created_at=datetime(2023, 1, 1, tzinfo=UTC),
            last_error="HTTP 500 from Webex",
        )
        store.record([save(saved, at=later(5))])

        got = store.get_link(saved.anchor)

        expected_deprovisioned = datetime(2024, 4, 30, 12, 0, tzinfo=UTC)
        assert got == replace(saved, deprovisioned_at=expected_deprovisioned, updated_at=later(5))
        assert got is not None and got.deprovisioned_at is not None and got.created_at is not None
        assert got.deprovisioned_at.tzinfo == UTC and got.created_at.tzinfo == UTC

    def test_created_at_is_kept_from_the_first_save(self, store: StateStore) -> None:
        """``created_at`` is the first record's time (when the link has none) and survives later
        saves; ``updated_at`` is the time of the record that last saved the link."""
        store.record([save(link(1), at=T0)])
        store.record([save(link(1, email="new@example.com", created_at=later(30)), at=later(60))])

        got = store.get_link("anchor-1")

        assert got is not None
        assert (got.email, got.created_at, got.updated_at) == ("new@example.com", T0, later(60))

    def test_the_fingerprint_is_that_of_what_was_applied(self, store: StateStore) -> None:
        """The store keeps the fingerprint of what was applied, whatever the saved link said."""
        store.record([save(replace(link(1), fingerprint="stale"))])

        got = store.get_link("anchor-1")

        assert got is not None and got.fingerprint == fingerprint(link(1).applied)

    def test_saving_a_link_again_replaces_it_and_its_lookup_keys(self, store: StateStore) -> None:
        """Saving an anchor again replaces its link (and what finds it), never duplicates it."""
        store.record([save(link(1))])
        store.record([save(link(1, email="renamed@example.com", dn="uid=renamed,dc=example,dc=com"))])

        assert [x.email for x in store.links()] == ["renamed@example.com"]
        assert store.count_links() == 1
        assert store.find_links("user1@example.com") == []
        assert store.find_links("uid=user1,ou=People,dc=example,dc=com") == []
        assert [x.anchor for x in store.find_links("RENAMED@example.com")] == ["anchor-1"]

    def test_drop_link_removes_that_link_only(self, store: StateStore) -> None:
        """A record's ``drop_link`` deletes that anchor's link and no other; dropping an anchor
        without a link is no error."""
        store.record([save(link(1)), save(link(2))])
        store.record([drop("anchor-1"), drop("never-linked")])

        assert store.get_link("anchor-1") is None
        assert [x.anchor for x in store.links()] == ["anchor-2"]

    def test_a_webex_id_linked_to_another_anchor_is_refused_naming_both(self, store: StateStore) -> None:
        """Saving a link to a Webex user linked to another anchor raises ``StateError`` naming
        both anchors (and the Webex id); the stored link is left as it was."""
        store.record([save(link(1))])

        with pytest.raises(StateError) as raised:
            store.record([save(link(2, webex_id="webex-1"))])

        assert "anchor-2" in raised.value.message and "anchor-1" in raised.value.message
        assert "webex-1" in raised.value.message
        assert store.get_link("anchor-1") == replace(link(1), created_at=T0, updated_at=T0)
        assert store.get_link("anchor-2") is None

    def test_a_refused_batch_writes_nothing(self, store: StateStore) -> None:
        """When one record of a batch is refused, none of the batch's links, drops or audit
        entries is written."""
        store.record([save(link(1))])
        batch = [save(link(10)), drop("anchor-1"), save(link(11)), save(link(12, webex_id="webex-10"))]

        with pytest.raises(StateError, match="anchor-12"):
            store.record(batch)

        assert [x.anchor for x in store.links()] == ["anchor-1"]
        assert len(store.audit(limit=100)) == 1

    def test_two_anchors_taking_one_webex_id_in_one_batch_are_refused(self, store: StateStore) -> None:
        """Two saves of one batch giving one Webex user to two anchors are refused, the later
        anchor named first."""
        with pytest.raises(StateError, match=r"anchor-2.*anchor-1"):
            store.record([save(link(1, webex_id="shared")), save(link(2, webex_id="shared"))])

        assert list(store.links()) == []
        assert store.audit() == []

    def test_a_batch_applies_in_order_so_a_freed_webex_id_can_be_reused(self, store: StateStore) -> None:
        """Records apply in order: a Webex id an earlier record released may be linked by a later one."""
        store.record([save(link(1)), save(link(3))])

        store.record(
            [
                save(link(1, webex_id="webex-1b")),  # anchor-1 moves off webex-1 ...
                save(link(2, webex_id="webex-1")),  # ... so anchor-2 may take it
                drop("anchor-3"),
                save(link(4, webex_id="webex-3")),
            ]
        )

        assert {x.anchor: x.webex_id for x in store.links()} == {
            "anchor-1": "webex-1b",
            "anchor-2": "webex-1",
            "anchor-4": "webex-3",
        }

    def test_a_records_drop_applies_before_its_save(self, store: StateStore) -> None:
        """In one record, ``drop_link`` applies before ``save_link``: the dropped anchor's Webex
        id is free for the link saved with it."""
        store.record([save(link(3))])

        store.record([Record(entry("anchor-4"), drop_link="anchor-3", save_link=link(4, webex_id="webex-3"))])

        assert {x.anchor: x.webex_id for x in store.links()} == {"anchor-4": "webex-3"}

    def test_record_takes_any_iterable_and_an_empty_one(self, store: StateStore) -> None:
        """``record`` takes a generator, and an empty batch writes nothing."""
        store.record([])
        store.record(save(link(n)) for n in range(3))

        assert store.count_links() == 3
        assert len(store.audit()) == 3

    def test_links_lists_every_link_by_anchor_and_count_links_counts_them(self, store: StateStore) -> None:
        """``links()`` yields every link ordered by anchor; ``count_links()`` says how many."""
        store.record([save(link(n)) for n in (3, 1, 2)])

        assert [x.anchor for x in store.links()] == ["anchor-1", "anchor-2", "anchor-3"]
        assert store.count_links() == 3

    def test_find_links_matches_anchor_webex_id_folded_email_and_normalized_dn(
        self, store: StateStore
    ) -> None:
        """``find_links`` finds a link by its anchor or Webex id (exactly), its e-mail (folded) or
        its DN (normalized: case, blanks, escapes and the order of a multi-valued RDN)."""
        odd = link(2, dn="uid=jd+cn=Doe\\, John,ou=People,dc=example,dc=com")
        store.record([save(link(1)), save(odd)])

        for key in (
            "anchor-1",
            "webex-1",
            "user1@example.com",
            "  USER1@EXAMPLE.COM ",
            "UID=User1,OU=People,DC=Example,DC=Com",
            "uid=user1, ou=People, dc=example, dc=com",
        ):
            assert [x.anchor for x in store.find_links(key)] == ["anchor-1"], key
        for key in (
            "CN=doe\\, john + UID=JD, ou=people,dc=example,dc=com",
            "cn=Doe\\2C John+uid=jd,ou=People,dc=example,dc=com",
        ):
            assert [x.anchor for x in store.find_links(key)] == ["anchor-2"], key
        assert store.find_links("nobody@example.com") == []
        assert store.find_links("ANCHOR-1") == []
        assert store.find_links("WEBEX-1") == []

    def test_find_links_returns_every_match_by_anchor(self, store: StateStore) -> None:
        """``find_links`` returns every link the key matches, ordered by anchor."""
        store.record([save(link(2, email="shared@example.com")), save(link(1, email="Shared@Example.com"))])

        assert [x.anchor for x in store.find_links("shared@example.com")] == ["anchor-1", "anchor-2"]

    def test_links_can_be_read_while_the_store_records(self, store: StateStore) -> None:
        """A record made while ``links()`` is being read succeeds, and the read still finishes."""
        store.record([save(link(n)) for n in range(5)])

        stream = store.links()
        first = next(stream)
        store.record([save(link(99))])
        rest = list(stream)

        assert first.anchor == "anchor-0"
        assert [x.anchor for x in rest][:4] == ["anchor-1", "anchor-2", "anchor-3", "anchor-4"]
        assert store.get_link("anchor-99") is not None

    def test_a_naive_datetime_is_refused_and_nothing_is_written(self, store: StateStore) -> None:
        """A naive datetime (its instant unknown) is refused with ``StateError``; nothing of the
        batch is written."""
        naive = datetime(2024, 5, 1, 12, 0)

        with pytest.raises(StateError, match="naive datetime"):
            store.record([save(link(1)), Record(entry("anchor-2", at=naive))])
        with pytest.raises(StateError, match="naive datetime"):
            store.record([save(link(3, deprovisioned_at=naive))])

        assert store.audit() == []
        assert store.count_links() == 0

    def test_links_read_are_the_callers_own(self, store: StateStore) -> None:
        """Changing what was applied, in a link handed to ``record`` or in one read back, changes
        nothing stored."""
        applied = {"email": "user1@example.com", "firstName": "First1"}
        store.record([save(link(1, applied=applied))])
        applied["firstName"] = "Changed"
        got = store.get_link("anchor-1")
        assert got is not None
        if isinstance(got.applied, MutableMapping):  # else it cannot be changed at all
            got.applied["firstName"] = "Changed too"

        again = store.get_link("anchor-1")

        assert again is not None and dict(again.applied)["firstName"] == "First1"
