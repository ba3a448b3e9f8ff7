"""InMemoryWebex's groups beyond the contract: scripted faults and lost answers, the call log,
request counts, Webex's rules on members and names, seeding and looking."""

from __future__ import annotations

import pytest

from webex_provisioner.errors import (
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.ports import NO_ANSWER
from webex_provisioner.testing.webex import InMemoryWebex


def test_fail_next_on_a_group_operation_changes_nothing(webex: InMemoryWebex) -> None:
    """``fail_next("create_group", ...)`` raises on the next create, which creates nothing; a
    fault keyed by a group name (with an "@", not folded) hits only calls about that name."""
    webex.fail_next("create_group", WebexUnavailableError("down", status=503))
    with pytest.raises(WebexUnavailableError, match="down"):
        webex.create_group("Sales", "cn=sales")
    assert webex.groups() == []
    webex.fail_next("create_group", WebexUnavailableError("down"), key="Team@Paris")
    webex.create_group("team@paris", "cn=a")
    with pytest.raises(WebexUnavailableError):
        webex.create_group("Team@Paris", "cn=b")
    assert webex.pending_faults() == 0


def test_a_lost_create_is_applied_and_found_by_name(webex: InMemoryWebex) -> None:
    """``lose_answer_next("create_group")``: the group is created with its members, then
    ``WebexOutcomeUnknownError``; looking it up by name finds it; counted without answer."""
    ann = webex.add_user("ann@example.com")
    webex.lose_answer_next("create_group")
    with pytest.raises(WebexOutcomeUnknownError, match="applied"):
        webex.create_group("Sales", "cn=sales", [ann.id])
    found = webex.find_group("sales")
    assert found is not None and found.external_id == "cn=sales"
    assert webex.request_stats().requests == {("POST", NO_ANSWER): 1, ("GET", "200"): 1}
    group = webex.group("Sales")
    assert group is not None and group.members == frozenset({ann.id})


def test_lost_member_changes_are_applied(webex: InMemoryWebex) -> None:
    """A lost ``add_members`` or ``remove_members`` was applied all the same."""
    ann, bob = webex.add_user("ann@example.com"), webex.add_user("bob@example.com")
    group = webex.add_group("Sales", [ann.id])
    webex.lose_answer_next("add_members", key=group.id)
    with pytest.raises(WebexOutcomeUnknownError):
        webex.add_members(group.id, [bob.id])
    webex.lose_answer_next("remove_members")
    with pytest.raises(WebexOutcomeUnknownError):
        webex.remove_members(group.id, [ann.id])
    assert webex.groups()[0].members == frozenset({bob.id})


def test_group_calls_are_logged_with_their_key(webex: InMemoryWebex) -> None:
    """Group calls are logged with the name as given (find, create) or the group id, failed
    ones too; ``list_groups`` with ``""``."""
    ann = webex.add_user("ann@example.com")
    webex.find_group("Sales")
    group = webex.create_group("Sales", "cn=sales", [ann.id])
    webex.get_group(group.id)
    webex.rename_group(group.id, "Sales EMEA")
    webex.add_members(group.id, [ann.id])
    webex.remove_members(group.id, [ann.id])
    list(webex.list_groups())
    webex.delete_group(group.id)
    with pytest.raises(WebexNotFoundError):
        webex.add_members(group.id, [ann.id])
    assert webex.calls == [
        ("find_group", "Sales"),
        ("create_group", "Sales"),
        ("get_group", group.id),
        ("rename_group", group.id),
        ("add_members", group.id),
        ("remove_members", group.id),
        ("list_groups", ""),
        ("delete_group", group.id),
        ("add_members", group.id),
    ]


def test_group_calls_are_counted_as_requests(webex: InMemoryWebex) -> None:
    """Each group call counts as one request with the status Webex would answer."""
    group = webex.create_group("Sales", "cn=sales")
    webex.get_group("missing")
    webex.delete_group(group.id)
    webex.delete_group(group.id)
    with pytest.raises(WebexNotFoundError):
        webex.rename_group(group.id, "Other")
    assert webex.request_stats().requests == {
        ("POST", "201"): 1,
        ("GET", "404"): 1,
        ("DELETE", "204"): 1,
        ("DELETE", "404"): 1,
        ("PATCH", "404"): 1,
    }


def test_members_must_be_users_of_the_organization(webex: InMemoryWebex) -> None:
    """A member id that is no user is a ``WebexRejectedError`` (400) naming it; nothing changes."""
    ann = webex.add_user("ann@example.com")
    with pytest.raises(WebexRejectedError, match="no-such-user") as raised:
        webex.create_group("Sales", "cn=sales", [ann.id, "no-such-user"])
    assert raised.value.status == 400 and webex.groups() == []
    group = webex.create_group("Sales", "cn=sales")
    with pytest.raises(WebexRejectedError):
        webex.add_members(group.id, [ann.id, "no-such-user"])
    assert webex.groups()[0].members == frozenset()


def test_too_many_members_are_refused_before_the_call() -> None:
    """More than ``max_members`` (counted once each) is a ``ValueError`` that is no call."""
    small = InMemoryWebex(max_members=2)
    users = [small.add_user(f"u{i}@example.com").id for i in range(3)]
    group = small.create_group("Sales", "cn=sales", [users[0], users[1], users[1]])
    with pytest.raises(ValueError, match="at most 2"):
        small.add_members(group.id, users)
    with pytest.raises(ValueError, match="at most 2"):
        small.create_group("Other", "cn=other", users)
    assert small.calls == [("create_group", "Sales")]


def test_duplicate_names_when_allowed() -> None:
    """With ``unique_group_names=False`` two groups may share a name (in any case); finding it
    gives the one spelled exactly so."""
    duplicates = InMemoryWebex(unique_group_names=False)
    first = duplicates.create_group("SALES", "cn=a")
    second = duplicates.create_group("Sales", "cn=b")
    assert first.id != second.id
    found = duplicates.find_group("Sales")
    assert found is not None and found.id == second.id
    found = duplicates.find_group("sales")
    assert found is not None and found.id == first.id


def test_seeded_groups_are_not_calls(webex: InMemoryWebex) -> None:
    """``add_group`` seeds a group with members (any number) without logging a call; a taken
    name or a member that is no user is a ``ValueError``. ``groups`` and ``group`` show members."""
    users = [webex.add_user(f"u{i}@example.com").id for i in range(150)]
    seeded = webex.add_group("Sales", users, external_id="cn=sales")
    assert seeded.members == frozenset(users) and seeded.external_id == "cn=sales"
    assert webex.calls == [] and webex.request_stats().total == 0
    assert webex.group("SALES") == seeded and webex.groups() == [seeded]
    assert webex.group("Other") is None
    with pytest.raises(ValueError, match="taken"):
        webex.add_group("sales")
    with pytest.raises(ValueError, match="nobody"):
        webex.add_group("Other", ["nobody"])


def test_deleting_a_user_empties_its_memberships_only(webex: InMemoryWebex) -> None:
    """A deleted user leaves each of its groups; the groups and their other members stay."""
    ann, bob = webex.add_user("ann@example.com"), webex.add_user("bob@example.com")
    webex.add_group("Sales", [ann.id, bob.id])
    webex.add_group("Support", [ann.id])
    webex.delete_user(ann.id)
    assert [(g.name, g.members) for g in webex.groups()] == [
        ("Sales", frozenset({bob.id})),
        ("Support", frozenset()),
    ]
