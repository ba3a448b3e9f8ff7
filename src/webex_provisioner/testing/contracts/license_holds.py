"""The licence bookkeeping part of the state contract: the licence catalogue last read from
Webex, the refusals not to ask again and the licence actions a guard held, each replaced as a
whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.model import (
    Action,
    ActionKind,
    GroupAction,
    License,
    LicenseAction,
    LicenseItem,
    LicenseRefusal,
    Reason,
)
from webex_provisioner.ports import StateStore
from webex_provisioner.testing.contracts.grants import HOSTILE
from webex_provisioner.testing.contracts.samples import T0, later

CATALOG = [
    License("lic-3", "Webex Meetings", 100, 40),
    License("lic-1", "Webex Calling - Professional", 50, 50, calling=True),
    License("lic-2", "Messaging", 0, 0),
    License("lic-0", "Webex Meetings", 10, 1),
]
"""Licences as Webex lists them: two share a name (two subscriptions), one has no free unit."""

REFUSALS = [
    LicenseRefusal("anchor-2", "lic-1", 400408, "needs a location and a number", "rules:1", T0),
    LicenseRefusal("anchor-1", "lic-3", None, "", "rules:1"),
    LicenseRefusal("anchor-1", "lic-0", 400409, "conflicts with lic-3", "rules:0", later(60)),
]
"""Refusals in no particular order (the order stored is the order read)."""

HELD = [
    LicenseAction(
        ActionKind.RECLAIM_LICENSE,
        Reason.NO_RULE_MATCHES,
        "anchor-1",
        "ä@example.com",
        (LicenseItem("lic-3", "Webex Meetings", "no rule asks for it"), LicenseItem("lic-2", "Messaging")),
        webex_id="webex-1",
        detail="left every group",
    ),
    LicenseAction(
        ActionKind.ASSIGN_LICENSE,
        Reason.RULE_MATCHED,
        "anchor-2",
        "b@example.com",
        (LicenseItem("lic-0", "Webex Meetings", "rule 2: member of cn=sales,dc=example"),),
    ),
    LicenseAction(ActionKind.RECLAIM_LICENSE, Reason.USER_DEPROVISIONED, "anchor-3", "c@example.com", ()),
]
"""Held licence actions: several items each with their why, none, and one without a Webex id."""


class LicenseBookkeepingContract:
    """The catalogue, the refusals and the held licence actions: replaced as a whole, read back
    equal, the callers' own."""

    def test_the_catalogue_is_replaced_as_a_whole_and_read_by_name(self, store: StateStore) -> None:
        """``set_license_catalog`` replaces the catalogue; it reads back equal (units, Calling
        flag), by name then id; an empty one clears it."""
        store.set_license_catalog([License("lic-9", "Old", 1, 1)])
        store.set_license_catalog(CATALOG)

        assert store.license_catalog() == [CATALOG[2], CATALOG[1], CATALOG[3], CATALOG[0]]

        store.set_license_catalog([])
        assert store.license_catalog() == []

    def test_a_catalogue_listing_a_licence_twice_is_refused(self, store: StateStore) -> None:
        """A catalogue giving one licence id twice is refused with ``StateError``; the stored
        catalogue is left as it was."""
        store.set_license_catalog(CATALOG)

        with pytest.raises(StateError, match="twice"):
            store.set_license_catalog([License("lic-1", "A", 1, 0), License("lic-1", "B", 2, 0)])

        assert len(store.license_catalog()) == len(CATALOG)

    def test_hostile_and_very_long_licence_names_are_kept_exactly(self, store: StateStore) -> None:
        """Licence names with quotes, escapes, control characters and line breaks, and one of
        100,000 characters, read back exactly; a name holding NUL is refused clearly and the
        stored catalogue is kept."""
        licenses = [License(f"lic-{n}", name, n, 0) for n, name in enumerate((*HOSTILE, "N" * 100_000))]
        store.set_license_catalog(licenses)

        assert sorted(store.license_catalog(), key=lambda item: item.id) == licenses

        with pytest.raises(StateError, match="NUL"):
            store.set_license_catalog([License("lic-x", "bad\x00name", 1, 0)])
        assert len(store.license_catalog()) == len(licenses)

    def test_numbers_out_of_the_range_the_state_keeps_are_refused(self, store: StateStore) -> None:
        """A licence whose units, or a refusal whose code, do not fit in 32 bits is refused with
        ``StateError`` saying so, and what was stored is kept; the largest that fits is kept."""
        biggest = License("lic-1", "Big", 2**31 - 1, 0)
        store.set_license_catalog([biggest])

        with pytest.raises(StateError, match="out of the range"):
            store.set_license_catalog([License("lic-2", "Huge", 10, 2**31)])
        with pytest.raises(StateError, match="out of the range"):
            store.set_license_refusals([replace(REFUSALS[0], code=-(2**31) - 1)])

        assert (store.license_catalog(), store.license_refusals()) == ([biggest], [])

    def test_refusals_are_replaced_as_a_whole_in_the_order_given(self, store: StateStore) -> None:
        """``set_license_refusals`` replaces the refusals; they read back equal in the order
        stored (a code or time of ``None`` kept, times in UTC); an empty list clears them."""
        paris = timezone(timedelta(hours=2))
        store.set_license_refusals(REFUSALS[:1])
        given = [*REFUSALS, replace(REFUSALS[0], at=datetime(2024, 5, 1, 16, 0, tzinfo=paris))]
        store.set_license_refusals(given)

        got = store.license_refusals()

        assert got == [*REFUSALS, replace(REFUSALS[0], at=datetime(2024, 5, 1, 14, 0, tzinfo=UTC))]
        assert got[-1].at is not None and got[-1].at.utcoffset() == timedelta(0)
        store.set_license_refusals([])
        assert store.license_refusals() == []

    def test_refusals_with_a_naive_time_or_hostile_text(self, store: StateStore) -> None:
        """A refusal's detail with control characters is kept as it is; a naive ``at`` or a
        detail holding NUL is refused with ``StateError`` and the stored refusals are kept."""
        odd = [replace(REFUSALS[0], detail=text, anchor=text) for text in HOSTILE]
        store.set_license_refusals(odd)
        assert store.license_refusals() == odd

        with pytest.raises(StateError, match="naive datetime"):
            store.set_license_refusals([replace(REFUSALS[0], at=datetime(2024, 5, 1))])
        with pytest.raises(StateError, match="NUL"):
            store.set_license_refusals([replace(REFUSALS[0], detail="a\x00b")])
        assert store.license_refusals() == odd

    def test_held_licence_actions_round_trip_exactly_and_in_order(self, store: StateStore) -> None:
        """``hold_licenses`` then ``held_licenses`` gives back the same actions, in order: their
        items with their why, in order; no item; an absent Webex id."""
        store.hold_licenses(HELD, "cycle-1")

        assert store.held_licenses() == HELD

    def test_hold_licenses_replaces_and_an_empty_hold_clears(self, store: StateStore) -> None:
        """Each ``hold_licenses`` replaces the held licence actions, holding none clears them; the
        held actions of users and of groups are kept apart."""
        user = Action(ActionKind.DELETE, Reason.LEFT_SCOPE, "anchor-1", "a@example.com", webex_id="webex-1")
        group = GroupAction(
            ActionKind.DELETE_GROUP, Reason.LEFT_SELECTION, "group-1", "Team 1", webex_id="g1"
        )
        store.hold([user], "cycle-1")
        store.hold_groups([group], "cycle-1")
        store.hold_licenses(HELD, "cycle-1")
        store.hold_licenses(HELD[1:2], "cycle-2")
        assert store.held_licenses() == HELD[1:2]

        store.hold([], "cycle-3")
        store.hold_groups([], "cycle-3")
        assert store.held_licenses() == HELD[1:2]
        store.hold_licenses([], "cycle-3")
        assert (store.held_licenses(), store.held(), store.held_groups()) == ([], [], [])

    def test_held_licence_items_of_any_text_are_kept_exactly(self, store: StateStore) -> None:
        """Items whose licence ids, names and whys hold quotes, escapes, control characters or
        JSON-looking text read back exactly; an item whose licence id is longer than 255
        characters is refused clearly, and the held actions are kept."""
        items = tuple(LicenseItem(text, text, text) for text in (*HOSTILE, "null", '{"a": 1}', ""))
        odd = replace(HELD[0], licenses=items, detail="\x1b[1mbold\x1b[0m")
        store.hold_licenses([odd], "cycle-1")
        assert store.held_licenses() == [odd]

        with pytest.raises(StateError, match="256 characters long"):
            store.hold_licenses([replace(HELD[0], licenses=(LicenseItem("L" * 256, "long"),))], "cycle-2")
        assert store.held_licenses() == [odd]

    def test_licence_values_handed_in_or_read_are_the_callers_own(self, store: StateStore) -> None:
        """Changing the lists handed to the setters or returned by the getters, or the item list
        of a held action, changes nothing stored."""
        catalog, refusals = list(CATALOG), list(REFUSALS)
        items = [LicenseItem("lic-1", "one")]
        store.set_license_catalog(catalog)
        store.set_license_refusals(refusals)
        store.hold_licenses([replace(HELD[0], licenses=cast(tuple[LicenseItem, ...], items))], "cycle-1")
        catalog.clear()
        refusals.clear()
        items.append(LicenseItem("lic-2", "two"))
        store.license_catalog().clear()
        store.license_refusals().clear()
        store.held_licenses().clear()

        assert len(store.license_catalog()) == len(CATALOG)
        assert store.license_refusals() == REFUSALS
        assert store.held_licenses() == [replace(HELD[0], licenses=(LicenseItem("lic-1", "one"),))]
