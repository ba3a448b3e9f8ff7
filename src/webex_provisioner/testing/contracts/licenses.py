"""The contract of ``WebexLicenses``: every rule its docstrings state, checked through the port
(and ``WebexClient`` to make and delete users) only.

A test module subclasses the contract and provides two fixtures: ``webex``, a client on a fresh
organization without users (``InMemoryWebex()``, a ``ScimWebexClient`` of a reset emulator), and
``add_license``, which puts a licence with some units in that organization and returns its id
(``InMemoryWebex.add_license``, ``EmulatorServer.add_license``). A licence whose name contains
"Calling" is a Calling one there, as in Webex.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import pytest

from webex_provisioner.errors import WebexError, WebexNotFoundError, WebexRejectedError
from webex_provisioner.model import License
from webex_provisioner.ports import BulkCreator, WebexClient, WebexLicenses

AddLicense = Callable[[str, int], str]
"""Puts a licence (name, units) in the organization of ``webex`` and returns its id."""

UNKNOWN_USER = "00000000-0000-4000-8000-00000000dead"
UNKNOWN_LICENSE = "no-such-licence"
MEETINGS = "Meetings - Webex Enterprise"
MESSAGING = "Messaging"
CALLING = "Webex Calling - Professional"
NOT_RECOGNIZED = 400000
"""Webex's ``errorCode`` for a licence it does not know."""
CALLING_PROPERTIES_MISSING = 400411
"""Webex's ``errorCode`` for a Calling licence added without its number or extension."""


class LicensesTarget(WebexClient, WebexLicenses, Protocol):
    """A client of the users and the licences of one organization."""


def _users(webex: LicensesTarget, count: int) -> list[str]:
    """The SCIM ids of ``count`` new users (in Bulk requests where the client offers them)."""
    people = [({"email": f"holder-{i:04d}@example.com"}, True) for i in range(count)]
    if not isinstance(webex, BulkCreator):
        return [webex.create_user(attributes).id for attributes, _ in people]
    ids: list[str] = []
    for start in range(0, count, webex.max_batch):
        outcomes = webex.create_users(people[start : start + webex.max_batch])
        assert all(isinstance(outcome, str) for outcome in outcomes), outcomes
        ids.extend(str(outcome) for outcome in outcomes)
    return ids


def _licence(webex: LicensesTarget, license_id: str) -> License:
    (found,) = [licence for licence in webex.list_licenses() if licence.id == license_id]
    return found


def _consumed(webex: LicensesTarget, *license_ids: str) -> list[int]:
    return [_licence(webex, license_id).consumed for license_id in license_ids]


def _refused(
    webex: LicensesTarget, user: str, add: Sequence[str], remove: Sequence[str]
) -> WebexRejectedError:
    with pytest.raises(WebexRejectedError) as raised:
        webex.change_licenses(user, add=add, remove=remove)
    return raised.value


class WebexLicensesContract:
    """What every ``WebexLicenses`` does. Needs the ``webex`` and ``add_license`` fixtures (see
    the module docstring). ``many_holders`` is how many holders make a licence's holders take
    more than one page."""

    many_holders = 301

    def test_it_declares_the_licenses_capability(self, webex: LicensesTarget) -> None:
        """The client is ``WebexLicenses`` at run time (``isinstance``)."""
        assert isinstance(webex, WebexLicenses)

    def test_list_licenses_gives_each_licence_once_with_its_units(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """``list_licenses`` gives every licence once, with its id, name and units, nothing
        consumed in a fresh organization; names that do not say Calling are not Calling ones."""
        meetings, messaging = add_license(MEETINGS, 3), add_license(MESSAGING, 10)
        listed = {licence.id: licence for licence in webex.list_licenses()}
        assert listed[meetings] == License(meetings, MEETINGS, 3, 0, calling=False)
        assert listed[messaging] == License(messaging, MESSAGING, 10, 0, calling=False)
        assert len(listed) == len(webex.list_licenses())

    def test_a_licence_named_calling_is_a_calling_one(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """A licence whose name contains "calling" (any case) is a Calling licence."""
        calling, basic = add_license(CALLING, 2), add_license("Basic calling for Teams", 2)
        assert _licence(webex, calling).calling and _licence(webex, basic).calling
        assert not _licence(webex, add_license(MEETINGS, 2)).calling

    def test_consumed_units_follow_the_changes(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """Each licence given uses one unit, each one taken back frees it: ``consumed`` and
        ``free`` follow."""
        meetings = add_license(MEETINGS, 3)
        ann, bob = _users(webex, 2)
        webex.change_licenses(ann, add=[meetings])
        webex.change_licenses(bob, add=[meetings])
        assert (_licence(webex, meetings).consumed, _licence(webex, meetings).free) == (2, 1)
        webex.change_licenses(ann, remove=[meetings])
        assert (_licence(webex, meetings).consumed, _licence(webex, meetings).free) == (1, 2)

    def test_a_deleted_user_frees_its_units(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """Deleting a user frees the units of its licences and takes it off their holders."""
        meetings, messaging = add_license(MEETINGS, 3), add_license(MESSAGING, 3)
        ann, bob = _users(webex, 2)
        webex.change_licenses(ann, add=[meetings, messaging])
        webex.change_licenses(bob, add=[meetings])
        webex.delete_user(ann)
        assert _consumed(webex, meetings, messaging) == [1, 0]
        assert list(webex.license_holders(meetings)) == [bob]
        assert list(webex.license_holders(messaging)) == []

    def test_a_change_adds_and_removes_in_one_request(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """``change_licenses`` adds and removes at once; its answer, complete, is what the user
        holds now, as ``user_licenses`` reads it."""
        meetings, messaging, extra = (
            add_license(MEETINGS, 3),
            add_license(MESSAGING, 3),
            add_license("Extra", 3),
        )
        (ann,) = _users(webex, 1)
        assert webex.user_licenses(ann) == frozenset()
        first = webex.change_licenses(ann, add=[meetings, extra])
        assert (first.held, first.complete) == (frozenset({meetings, extra}), True)
        answer = webex.change_licenses(ann, add=[messaging], remove=[meetings])
        assert (answer.held, answer.complete) == (frozenset({messaging, extra}), True)
        assert webex.user_licenses(ann) == answer.held

    def test_sending_a_change_again_is_harmless(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """Adding a licence the user holds or removing one it does not hold changes nothing:
        the same change sent twice answers the same and uses no second unit."""
        meetings, messaging = add_license(MEETINGS, 3), add_license(MESSAGING, 3)
        (ann,) = _users(webex, 1)
        webex.change_licenses(ann, add=[meetings])
        first = webex.change_licenses(ann, add=[meetings], remove=[messaging])
        again = webex.change_licenses(ann, add=[meetings], remove=[messaging])
        assert first == again and (again.held, again.complete) == (frozenset({meetings}), True)
        assert _consumed(webex, meetings, messaging) == [1, 0]

    def test_the_removes_go_before_the_adds(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """A licence both removed and added in one request ends held, its unit used once: the
        removes are done first."""
        meetings = add_license(MEETINGS, 1)
        (ann,) = _users(webex, 1)
        webex.change_licenses(ann, add=[meetings])
        answer = webex.change_licenses(ann, add=[meetings], remove=[meetings])
        assert (answer.held, answer.complete) == (frozenset({meetings}), True)
        assert _consumed(webex, meetings) == [1]

    def test_an_add_without_a_free_unit_is_a_partial_answer(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """An add for which no unit is free is not done while the other changes are; the
        answer says so (not ``complete``) and holds what the user holds now."""
        scarce, messaging, meetings = (
            add_license("Scarce", 1),
            add_license(MESSAGING, 3),
            add_license(MEETINGS, 3),
        )
        ann, bob = _users(webex, 2)
        webex.change_licenses(ann, add=[scarce])
        webex.change_licenses(bob, add=[meetings])
        answer = webex.change_licenses(bob, add=[scarce, messaging], remove=[meetings])
        assert (answer.held, answer.complete) == (frozenset({messaging}), False)
        assert webex.user_licenses(bob) == frozenset({messaging})
        assert _consumed(webex, scarce, messaging, meetings) == [1, 1, 0]

    def test_an_unknown_licence_refuses_the_whole_change(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """A change naming a licence the organization does not have is a ``WebexRejectedError``
        with Webex's code 400000, and changes nothing (its other adds and removes included)."""
        meetings, messaging = add_license(MEETINGS, 3), add_license(MESSAGING, 3)
        (ann,) = _users(webex, 1)
        webex.change_licenses(ann, add=[meetings])
        refused = _refused(webex, ann, [messaging, UNKNOWN_LICENSE], [meetings])
        assert (refused.code, refused.status) == (NOT_RECOGNIZED, 400)
        assert webex.user_licenses(ann) == frozenset({meetings})
        assert _consumed(webex, meetings, messaging) == [1, 0]

    def test_a_calling_licence_added_refuses_the_whole_change(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """Adding a Calling licence (which needs a number this port never sends) is a
        ``WebexRejectedError`` with Webex's code 400411, and changes nothing."""
        calling, meetings, messaging = (
            add_license(CALLING, 3),
            add_license(MEETINGS, 3),
            add_license(MESSAGING, 3),
        )
        (ann,) = _users(webex, 1)
        webex.change_licenses(ann, add=[meetings])
        refused = _refused(webex, ann, [calling, messaging], [meetings])
        assert (refused.code, refused.status) == (CALLING_PROPERTIES_MISSING, 400)
        assert webex.user_licenses(ann) == frozenset({meetings})
        assert _consumed(webex, calling, meetings, messaging) == [0, 1, 0]

    def test_an_unknown_user_is_not_found(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """Reading or changing the licences of a user that does not exist (never, or any more)
        is a ``WebexNotFoundError``."""
        meetings = add_license(MEETINGS, 3)
        (gone,) = _users(webex, 1)
        webex.delete_user(gone)
        for user in (UNKNOWN_USER, gone):
            with pytest.raises(WebexNotFoundError):
                webex.user_licenses(user)
            with pytest.raises(WebexNotFoundError):
                webex.change_licenses(user, add=[meetings])
            with pytest.raises(WebexNotFoundError):
                webex.change_licenses(user)
        assert _consumed(webex, meetings) == [0]

    def test_a_change_of_nothing_answers_what_the_user_holds(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """A change without adds or removes changes nothing and answers, complete, what the
        user holds."""
        meetings = add_license(MEETINGS, 3)
        (ann,) = _users(webex, 1)
        webex.change_licenses(ann, add=[meetings])
        answer = webex.change_licenses(ann)
        assert (answer.held, answer.complete) == (frozenset({meetings}), True)

    def test_license_holders_gives_the_users_holding_it(
        self, webex: LicensesTarget, add_license: AddLicense
    ) -> None:
        """``license_holders`` gives the SCIM ids of the users holding the licence, each once,
        and none of the others."""
        meetings, messaging = add_license(MEETINGS, 5), add_license(MESSAGING, 5)
        ann, bob, cy = _users(webex, 3)
        for user in (ann, cy):
            webex.change_licenses(user, add=[meetings, messaging])
        webex.change_licenses(bob, add=[messaging])
        holders = list(webex.license_holders(meetings))
        assert sorted(holders) == sorted([ann, cy])
        assert sorted(webex.license_holders(messaging)) == sorted([ann, bob, cy])

    def test_license_holders_reads_every_page(self, webex: LicensesTarget, add_license: AddLicense) -> None:
        """A licence held by more users than one page lists gives every holder, each once."""
        meetings = add_license(MEETINGS, self.many_holders)
        users = _users(webex, self.many_holders)
        for user in users:
            webex.change_licenses(user, add=[meetings])
        holders = list(webex.license_holders(meetings))
        assert len(holders) == len(users) and set(holders) == set(users)

    def test_an_unknown_licence_has_no_holders_to_list(self, webex: LicensesTarget) -> None:
        """Listing the holders of a licence the organization does not have is a
        ``WebexNotFoundError``, a ``WebexError`` like every error of the port."""
        with pytest.raises(WebexNotFoundError) as raised:
            list(webex.license_holders(UNKNOWN_LICENSE))
        assert isinstance(raised.value, WebexError)
