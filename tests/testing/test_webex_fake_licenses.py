"""InMemoryWebex's licences beyond the contract: seeding with stable ids, licences given by hand,
scripted faults and lost answers, the call log and request counts."""

from __future__ import annotations

import pytest

from webex_provisioner.errors import (
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.model import License, LicenseAnswer
from webex_provisioner.ports import NO_ANSWER
from webex_provisioner.testing.webex import InMemoryWebex


def test_licence_ids_are_made_from_the_name(webex: InMemoryWebex) -> None:
    """``add_license`` gives a licence an id made from its name (the same in every fake), a
    second licence of one name its own; Calling comes from the name unless said otherwise."""
    first = webex.add_license("Webex Calling - Professional", 5)
    again = webex.add_license("webex calling professional", 2, calling=False)
    odd = webex.add_license("Telephony+", 1, calling=True)
    assert first == License("webex-license-webex-calling-professional", first.name, 5, 0, calling=True)
    assert (again.id, again.calling) == ("webex-license-webex-calling-professional-2", False)
    assert (odd.id, odd.calling) == ("webex-license-telephony", True)
    assert InMemoryWebex().add_license("Webex Calling - Professional", 1).id == first.id
    with pytest.raises(ValueError, match="0 or more units"):
        webex.add_license("Meetings", -1)
    with pytest.raises(ValueError, match="needs a name"):
        webex.add_license("  ", 1)


def test_licences_given_by_hand_are_held_and_counted(webex: InMemoryWebex) -> None:
    """``set_user_licenses`` gives a user exactly these licences, as an administrator does in
    Control Hub (beyond the units, if asked): the port reads them, units count them, and it is
    neither logged nor counted as a call. An unknown user or licence is a ``ValueError``."""
    meetings, messaging = webex.add_license("Meetings", 1), webex.add_license("Messaging", 5)
    ann, bob = webex.add_user("ann@example.com"), webex.add_user("bob@example.com")
    webex.set_user_licenses(ann.id, [meetings.id, messaging.id])
    webex.set_user_licenses(bob.id, [meetings.id])
    assert webex.calls == [] and webex.request_stats().total == 0
    assert webex.user_licenses(ann.id) == frozenset({meetings.id, messaging.id})
    assert [(lic.consumed, lic.free) for lic in webex.licenses()] == [(2, 0), (1, 4)]
    webex.set_user_licenses(ann.id, [])
    assert webex.held_licenses(ann.id) == frozenset() and list(webex.license_holders(meetings.id)) == [bob.id]
    with pytest.raises(ValueError, match="no Webex user"):
        webex.set_user_licenses("nobody", [meetings.id])
    with pytest.raises(ValueError, match="no licence unknown"):
        webex.set_user_licenses(ann.id, ["unknown"])


def test_a_calling_licence_held_can_be_removed(webex: InMemoryWebex) -> None:
    """Only adding a Calling licence needs its number: one given by hand is removed like any."""
    calling = webex.add_license("Webex Calling - Standard", 2)
    ann = webex.add_user("ann@example.com")
    webex.set_user_licenses(ann.id, [calling.id])
    assert webex.change_licenses(ann.id, remove=[calling.id]) == LicenseAnswer(frozenset(), complete=True)
    with pytest.raises(WebexRejectedError) as raised:
        webex.change_licenses(ann.id, add=[calling.id])
    assert raised.value.code == 400411


def test_fail_next_on_a_licence_change_changes_nothing(webex: InMemoryWebex) -> None:
    """``fail_next("change_licenses", ...)`` raises on the next change (of that user, when keyed),
    which changes nothing; the other users' changes go through."""
    meetings = webex.add_license("Meetings", 5)
    ann, bob = webex.add_user("ann@example.com"), webex.add_user("bob@example.com")
    webex.fail_next("change_licenses", WebexUnavailableError("down", status=503), key=ann.id)
    webex.change_licenses(bob.id, add=[meetings.id])
    with pytest.raises(WebexUnavailableError, match="down"):
        webex.change_licenses(ann.id, add=[meetings.id])
    assert webex.held_licenses(ann.id) == frozenset() and webex.held_licenses(bob.id) == {meetings.id}
    assert webex.pending_faults() == 0


def test_a_lost_licence_change_is_applied(webex: InMemoryWebex) -> None:
    """``lose_answer_next("change_licenses")``: the change is applied, then
    ``WebexOutcomeUnknownError``; sending it again answers what is held; counted without answer."""
    meetings = webex.add_license("Meetings", 5)
    ann = webex.add_user("ann@example.com")
    webex.lose_answer_next("change_licenses")
    with pytest.raises(WebexOutcomeUnknownError, match="applied"):
        webex.change_licenses(ann.id, add=[meetings.id])
    assert webex.change_licenses(ann.id, add=[meetings.id]) == LicenseAnswer(frozenset({meetings.id}))
    assert webex.request_stats().requests == {("PATCH", NO_ANSWER): 1, ("PATCH", "200"): 1}


def test_reads_of_licences_take_faults(webex: InMemoryWebex) -> None:
    """The reads of the licence port take scripted faults too; a listing of holders fails when
    it is read."""
    meetings = webex.add_license("Meetings", 5)
    ann = webex.add_user("ann@example.com")
    for operation in ("list_licenses", "license_holders", "user_licenses"):
        webex.fail_next(operation, WebexUnavailableError(f"{operation} down"))
    with pytest.raises(WebexUnavailableError, match="list_licenses down"):
        webex.list_licenses()
    holders = webex.license_holders(meetings.id)
    with pytest.raises(WebexUnavailableError, match="license_holders down"):
        next(holders)
    with pytest.raises(WebexUnavailableError, match="user_licenses down"):
        webex.user_licenses(ann.id)


def test_calls_and_request_counts_by_kind(webex: InMemoryWebex) -> None:
    """Each licence call is logged with its key (the licence id, the user id) and counted as the
    request Webex would see: 206 for a partial change, 400 and 404 for refusals, a change of
    nothing as the read it sends instead."""
    scarce = webex.add_license("Scarce", 0)
    ann = webex.add_user("ann@example.com")
    webex.list_licenses()
    list(webex.license_holders(scarce.id))
    assert webex.change_licenses(ann.id, add=[scarce.id]).complete is False
    with pytest.raises(WebexRejectedError):
        webex.change_licenses(ann.id, add=["unknown"])
    with pytest.raises(WebexNotFoundError):
        webex.change_licenses("nobody", add=[scarce.id])
    webex.change_licenses(ann.id)
    assert webex.calls == [
        ("list_licenses", ""),
        ("license_holders", scarce.id),
        ("change_licenses", ann.id),
        ("change_licenses", ann.id),
        ("change_licenses", "nobody"),
        ("user_licenses", ann.id),
    ]
    assert webex.request_stats().requests == {
        ("GET", "200"): 3,
        ("PATCH", "206"): 1,
        ("PATCH", "400"): 1,
        ("PATCH", "404"): 1,
    }
