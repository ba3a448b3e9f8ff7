"""The contracts of ``WebexClient``, ``BulkCreator`` and ``WebexGroups``: every rule their
docstrings state, checked through the port only.

A test module subclasses a contract and provides its fixture, a client on a fresh, empty
organization::

    class TestInMemoryWebex(WebexClientContract, BulkCreatorContract):
        @pytest.fixture
        def webex(self) -> InMemoryWebex:
            return InMemoryWebex()

``BulkCreatorContract`` and ``WebexGroupsContract`` use the same ``webex`` fixture, which must
then also be a ``BulkCreator``, or ``WebexGroups``. The attributes used are those every SCIM
server holds (name, title, department), so that independent SCIM servers can run the suite too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

import pytest

from webex_provisioner.errors import WebexConflictError, WebexError, WebexNotFoundError
from webex_provisioner.model import Change, WebexGroup, WebexUser
from webex_provisioner.ports import BulkCreator, WebexClient, WebexGroups

ANN = {"email": "ann.lee@example.com", "firstName": "Ann", "lastName": "Lee", "title": "Engineer"}
BOB = {"email": "bob.ray@example.com", "firstName": "Bob", "lastName": "Ray", "department": "Sales"}
UNKNOWN_ID = "00000000-0000-4000-8000-00000000dead"


def _ids(webex: WebexClient) -> list[str]:
    return [user.id for user in webex.list_users()]


class WebexClientContract:
    """What every ``WebexClient`` does. Needs a ``webex`` fixture: a client on an empty organization."""

    def test_an_empty_organization_has_no_users(self, webex: WebexClient) -> None:
        """A fresh organization counts 0 users, lists none and finds no e-mail."""
        assert webex.count_users() == 0
        assert _ids(webex) == []
        assert webex.find_by_email(ANN["email"]) is None

    def test_create_returns_the_user_with_its_attributes(self, webex: WebexClient) -> None:
        """``create_user`` answers the new user: an id, the e-mail, active, the flat attributes as given."""
        created = webex.create_user(ANN)
        assert isinstance(created, WebexUser) and created.id
        assert created.email == ANN["email"] and created.active
        assert dict(created.attributes) == ANN

    def test_create_inactive(self, webex: WebexClient) -> None:
        """``active=False`` creates an inactive user, and it stays inactive when read back."""
        created = webex.create_user(BOB, active=False)
        assert not created.active
        again = webex.get_user(created.id)
        assert again is not None and not again.active

    def test_get_user_by_id_or_none(self, webex: WebexClient) -> None:
        """``get_user`` returns the user with that id (as created), and ``None`` for an unknown id."""
        created = webex.create_user(ANN)
        assert webex.get_user(created.id) == created
        assert webex.get_user(UNKNOWN_ID) is None

    def test_find_by_email_ignores_case(self, webex: WebexClient) -> None:
        """``find_by_email`` finds the user whatever the case of the e-mail asked."""
        created = webex.create_user(ANN)
        for spelling in (ANN["email"], ANN["email"].upper(), "Ann.Lee@Example.COM"):
            assert webex.find_by_email(spelling) == created, spelling

    def test_find_by_email_wants_the_whole_address(self, webex: WebexClient) -> None:
        """``find_by_email`` compares whole addresses: a prefix, a longer address or another
        domain finds nobody."""
        webex.create_user(ANN)
        for other in ("ann@example.com", "ann.lee@example.co", "xann.lee@example.com", "ann.lee@example.org"):
            assert webex.find_by_email(other) is None, other

    def test_list_and_count_every_user_once(self, webex: WebexClient) -> None:
        """``list_users`` lists each user exactly once and ``count_users`` counts them all."""
        created = [webex.create_user({"email": f"user{i}@example.com"}) for i in range(7)]
        listed = _ids(webex)
        assert sorted(listed) == sorted(user.id for user in created)
        assert webex.count_users() == 7

    def test_list_reads_only_the_keys_asked_for(self, webex: WebexClient) -> None:
        """``list_users(keys)`` gives each user's e-mail, state and the attributes named, and
        none of the others."""
        created = webex.create_user(ANN)
        (listed,) = webex.list_users(("title", "workPhone"))
        assert (listed.id, listed.email, listed.active) == (created.id, created.email, True)
        assert dict(listed.attributes) == {"email": ANN["email"], "title": ANN["title"]}
        (everything,) = webex.list_users()
        assert dict(everything.attributes) == dict(created.attributes)

    def test_scan_lists_what_list_lists(self, webex: WebexClient) -> None:
        """``scan_users`` lists each user once, and reading one gives what ``list_users`` gives
        for the same keys."""
        webex.create_user(ANN)
        webex.create_user(BOB)
        for keys in (None, ("title", "workPhone")):
            listed = {user.id: user for user in webex.list_users(keys)}
            scanned = list(webex.scan_users(keys))
            assert sorted(user.id for user in scanned) == sorted(listed)
            assert all(user.read() == listed[user.id] for user in scanned)

    def test_scan_fingerprints_change_with_the_user(self, webex: WebexClient) -> None:
        """A user's fingerprint is the same in two scans when nothing changed, and another once
        one of its attributes or its state changed; two users have different ones."""
        ann, bob = webex.create_user(ANN), webex.create_user(BOB)

        def fingerprints() -> dict[str, bytes]:
            return {user.id: user.fingerprint for user in webex.scan_users(("title",))}

        first = fingerprints()
        assert fingerprints() == first and first[ann.id] != first[bob.id]
        webex.update_user(ann.id, [Change("title", ANN["title"], "Staff Engineer")])
        second = fingerprints()
        assert second[ann.id] != first[ann.id] and second[bob.id] == first[bob.id]
        webex.update_user(bob.id, [], active=False)
        assert fingerprints()[bob.id] != second[bob.id]

    def test_a_taken_email_conflicts_in_any_case(self, webex: WebexClient) -> None:
        """Creating a user whose e-mail is taken, in another case, is a ``WebexConflictError``
        (409) and creates nothing."""
        webex.create_user(ANN)
        with pytest.raises(WebexConflictError) as raised:
            webex.create_user({**BOB, "email": ANN["email"].upper()})
        assert raised.value.status == 409
        assert webex.count_users() == 1

    def test_update_changes_only_what_is_named(self, webex: WebexClient) -> None:
        """An update replaces the attributes it names, adds new ones, and keeps the others."""
        created = webex.create_user(ANN)
        changes = [Change("title", "Engineer", "Staff Engineer"), Change("department", None, "R&D")]
        updated = webex.update_user(created.id, changes)
        assert dict(updated.attributes) == {**ANN, "title": "Staff Engineer", "department": "R&D"}
        assert webex.get_user(created.id) == updated

    def test_update_with_new_none_removes_the_attribute(self, webex: WebexClient) -> None:
        """A change whose ``new`` is ``None`` removes the attribute."""
        created = webex.create_user(ANN)
        updated = webex.update_user(created.id, [Change("title", "Engineer", None)])
        assert "title" not in updated.attributes
        again = webex.get_user(created.id)
        assert (
            again is not None and "title" not in again.attributes and again.attributes["firstName"] == "Ann"
        )

    def test_update_sets_active_only_when_given(self, webex: WebexClient) -> None:
        """``active=False`` deactivates, no ``active`` leaves it, ``active=True`` reactivates;
        an update with no change but ``active`` changes only that."""
        created = webex.create_user(ANN)
        assert not webex.update_user(created.id, [], active=False).active
        kept = webex.update_user(created.id, [Change("title", "Engineer", "Lead")])
        assert not kept.active
        back = webex.update_user(created.id, [], active=True)
        assert back.active and dict(back.attributes) == {**ANN, "title": "Lead"}

    def test_update_of_the_email_moves_the_user(self, webex: WebexClient) -> None:
        """A changed e-mail is found under the new address, no longer under the old one."""
        created = webex.create_user(ANN)
        updated = webex.update_user(created.id, [Change("email", ANN["email"], "ann.new@example.com")])
        assert updated.email == "ann.new@example.com"
        assert webex.find_by_email(ANN["email"]) is None
        found = webex.find_by_email("ANN.NEW@example.com")
        assert found is not None and found.id == created.id

    def test_update_of_an_unknown_user_is_not_found(self, webex: WebexClient) -> None:
        """Updating an id that does not exist (never, or any more) is a ``WebexNotFoundError``."""
        with pytest.raises(WebexNotFoundError):
            webex.update_user(UNKNOWN_ID, [Change("title", None, "x")])
        created = webex.create_user(ANN)
        webex.delete_user(created.id)
        with pytest.raises(WebexNotFoundError):
            webex.update_user(created.id, [], active=False)

    def test_delete_removes_the_user_everywhere(self, webex: WebexClient) -> None:
        """A deleted user is gone for get, find, list and count; the others stay."""
        ann, bob = webex.create_user(ANN), webex.create_user(BOB)
        webex.delete_user(ann.id)
        assert webex.get_user(ann.id) is None
        assert webex.find_by_email(ANN["email"]) is None
        assert _ids(webex) == [bob.id]
        assert webex.count_users() == 1

    def test_deleting_a_missing_user_counts_as_deleted(self, webex: WebexClient) -> None:
        """Deleting an id twice, or one that never existed, raises nothing."""
        created = webex.create_user(ANN)
        webex.delete_user(created.id)
        webex.delete_user(created.id)
        webex.delete_user(UNKNOWN_ID)
        assert webex.count_users() == 0

    def test_a_deleted_email_can_be_created_again(self, webex: WebexClient) -> None:
        """Once deleted, the e-mail is free: a new user with it gets another id."""
        first = webex.create_user(ANN)
        webex.delete_user(first.id)
        second = webex.create_user(ANN)
        assert second.id != first.id
        assert webex.find_by_email(ANN["email"]) == second

    def test_errors_are_webex_errors(self, webex: WebexClient) -> None:
        """Failures raise ``WebexError`` subclasses (never a library's exception)."""
        webex.create_user(ANN)
        with pytest.raises(WebexError):
            webex.create_user(ANN)
        with pytest.raises(WebexError):
            webex.update_user(UNKNOWN_ID, [Change("title", None, "x")])


class BulkCreatorContract:
    """What every ``BulkCreator`` does. Needs a ``webex`` fixture: a client on an empty
    organization that is also a ``BulkCreator``."""

    def test_it_declares_the_capability(self, webex: WebexClient) -> None:
        """The client is a ``BulkCreator`` with a positive ``max_batch``."""
        assert isinstance(webex, BulkCreator)
        assert isinstance(webex.max_batch, int) and webex.max_batch > 0

    def test_creates_answer_ids_in_order(self, webex: WebexClient) -> None:
        """Each user gets its new id, in the order given; each exists with its attributes and
        the ``active`` given."""
        assert isinstance(webex, BulkCreator)
        outcomes = webex.create_users([(ANN, True), (BOB, False)])
        assert len(outcomes) == 2 and all(isinstance(outcome, str) for outcome in outcomes)
        ann, bob = (webex.get_user(str(outcome)) for outcome in outcomes)
        assert ann is not None and dict(ann.attributes) == ANN and ann.active
        assert bob is not None and dict(bob.attributes) == BOB and not bob.active

    def test_a_taken_email_conflicts_and_the_others_are_created(self, webex: WebexClient) -> None:
        """A user whose e-mail is taken (in another case) gets a ``WebexConflictError``; the
        other users of the batch are created."""
        assert isinstance(webex, BulkCreator)
        existing = webex.create_user(ANN)
        taken = {**ANN, "email": ANN["email"].upper(), "title": "Other"}
        conflict, created = webex.create_users([(taken, True), (BOB, True)])
        assert isinstance(conflict, WebexConflictError)
        assert isinstance(created, str) and created != existing.id
        assert webex.count_users() == 2
        assert webex.get_user(existing.id) == existing

    def test_a_full_batch(self, webex: WebexClient) -> None:
        """A batch of ``max_batch`` creates (at most 100 here) creates every user."""
        assert isinstance(webex, BulkCreator)
        size = min(webex.max_batch, 100)
        users = [({"email": f"bulk{i}@example.com"}, True) for i in range(size)]
        outcomes = webex.create_users(users)
        assert all(isinstance(outcome, str) for outcome in outcomes)
        assert len(set(outcomes)) == size == webex.count_users()


class GroupsTarget(WebexClient, WebexGroups, Protocol):
    """A client of an organization's users and groups (what ``WebexGroupsContract`` tests)."""


SALES = ("Sales EMEA", "cn=sales-emea,ou=groups,dc=example,dc=com")


def _members(webex: GroupsTarget, count: int, prefix: str = "member") -> list[str]:
    """The ids of ``count`` new users, created through ``WebexClient.create_user``."""
    return [webex.create_user({"email": f"{prefix}{i}@example.com"}).id for i in range(count)]


def _add_all(webex: GroupsTarget, group_id: str, members: list[str]) -> None:
    """Add ``members`` at most ``max_members`` at a time, as the engine does."""
    for start in range(0, len(members), webex.max_members):
        webex.add_members(group_id, members[start : start + webex.max_members])


def _read(webex: GroupsTarget, group_id: str) -> WebexGroup:
    group = webex.get_group(group_id)
    assert group is not None, f"group {group_id} cannot be read back"
    return group


class WebexGroupsContract:
    """What every ``WebexGroups`` does. Needs a ``webex`` fixture: a client on an empty
    organization that is a ``WebexClient`` and ``WebexGroups``; the users put in groups are
    created with ``create_user``.

    A target that does not do everything Webex does names the tests it cannot pass in ``skips``
    (test name → why): a SCIM server that allows two groups of one name skips
    ``test_a_taken_name_conflicts_in_any_case``. ``many_members`` is the size of the group read
    whole (more than the 500 members a group resource lists).
    """

    skips: ClassVar[Mapping[str, str]] = {}
    many_members: ClassVar[int] = 501

    @pytest.fixture(autouse=True)
    def _skip_what_the_target_cannot_do(self, request: pytest.FixtureRequest) -> None:
        reason = self.skips.get(request.function.__name__)
        if reason:
            pytest.skip(reason)

    def test_it_declares_the_groups_capability(self, webex: GroupsTarget) -> None:
        """The client is ``WebexGroups``, with a positive ``max_members``."""
        assert isinstance(webex, WebexGroups)
        assert isinstance(webex.max_members, int) and webex.max_members > 0

    def test_an_empty_organization_has_no_groups(self, webex: GroupsTarget) -> None:
        """A fresh organization lists no group, finds no name and reads no id."""
        assert list(webex.list_groups()) == []
        assert webex.find_group(SALES[0]) is None
        assert webex.get_group(UNKNOWN_ID) is None

    def test_create_returns_the_group_and_it_reads_back_with_its_members(self, webex: GroupsTarget) -> None:
        """``create_group`` answers the new group (an id, the name, the external id); reading it
        gives the same group with the members it was created with."""
        ann, bob = _members(webex, 2)
        created = webex.create_group(*SALES, [ann, bob])
        assert isinstance(created, WebexGroup) and created.id
        assert (created.name, created.external_id) == SALES
        read = _read(webex, created.id)
        assert (read.id, read.name, read.external_id) == (created.id, *SALES)
        assert read.members == frozenset({ann, bob})

    def test_a_group_created_without_members_has_none(self, webex: GroupsTarget) -> None:
        """A group created without members reads back with an empty set of members (not ``None``)."""
        created = webex.create_group(*SALES)
        assert _read(webex, created.id).members == frozenset()

    def test_a_request_takes_at_most_max_members(self, webex: GroupsTarget) -> None:
        """Creating with, adding or removing more than ``max_members`` members is a ``ValueError``
        before anything changes."""
        too_many = [f"user-{i}" for i in range(webex.max_members + 1)]
        with pytest.raises(ValueError):
            webex.create_group(*SALES, too_many)
        assert list(webex.list_groups()) == []
        group = webex.create_group(*SALES)
        with pytest.raises(ValueError):
            webex.add_members(group.id, too_many)
        with pytest.raises(ValueError):
            webex.remove_members(group.id, too_many)

    def test_find_group_ignores_case_and_wants_the_whole_name(self, webex: GroupsTarget) -> None:
        """``find_group`` finds the group whatever the case of the name asked, without members;
        a part of the name or a longer one finds nothing."""
        (ann,) = _members(webex, 1)
        created = webex.create_group(*SALES, [ann])
        for spelling in ("Sales EMEA", "sales emea", "SALES emea"):
            found = webex.find_group(spelling)
            assert found is not None, spelling
            assert (found.id, found.name, found.members) == (created.id, SALES[0], None)
        for other in ("Sales", "EMEA", "Sales EMEA 2", "Sales  EMEA"):
            assert webex.find_group(other) is None, other

    def test_find_group_takes_any_character(self, webex: GroupsTarget) -> None:
        """Quotes, backslashes and non-ASCII letters in a name are found like any other."""
        name = 'R&D "Core" \\ Zürich'
        created = webex.create_group(name, "cn=rd-core")
        found = webex.find_group(name.upper())
        assert found is not None and found.id == created.id and found.name == name

    def test_list_groups_lists_each_group_once_without_members(self, webex: GroupsTarget) -> None:
        """``list_groups`` lists every group once, with its name and external id and no members."""
        (ann,) = _members(webex, 1)
        created = [webex.create_group(f"Team {i}", f"cn=team-{i}", [ann]) for i in range(5)]
        listed = list(webex.list_groups())
        assert sorted((g.id, g.name, g.external_id) for g in listed) == sorted(
            (g.id, g.name, g.external_id) for g in created
        )
        assert all(group.members is None for group in listed)

    def test_get_group_reads_every_member_of_a_large_group(self, webex: GroupsTarget) -> None:
        """``get_group`` reads all the members of a group with more than a group resource lists."""
        members = _members(webex, self.many_members)
        group = webex.create_group(*SALES, members[: webex.max_members])
        _add_all(webex, group.id, members[webex.max_members :])
        assert _read(webex, group.id).members == frozenset(members)

    def test_rename_keeps_the_group(self, webex: GroupsTarget) -> None:
        """A renamed group is found under its new name (any case), no longer under the old one,
        with the same id and members."""
        (ann,) = _members(webex, 1)
        group = webex.create_group(*SALES, [ann])
        webex.rename_group(group.id, "Sales Europe")
        found = webex.find_group("SALES EUROPE")
        assert found is not None and (found.id, found.name) == (group.id, "Sales Europe")
        assert webex.find_group(SALES[0]) is None
        read = _read(webex, group.id)
        assert read.name == "Sales Europe" and read.members == frozenset({ann})

    def test_add_members_already_in_is_fine(self, webex: GroupsTarget) -> None:
        """Adding members adds them; members already in (or named twice) are fine and stay once."""
        ann, bob, cy = _members(webex, 3)
        group = webex.create_group(*SALES, [ann])
        webex.add_members(group.id, [bob])
        webex.add_members(group.id, [ann, bob, cy, cy])
        assert _read(webex, group.id).members == frozenset({ann, bob, cy})

    def test_remove_members_not_in_the_group_is_fine(self, webex: GroupsTarget) -> None:
        """Removing members removes them; users not in the group, and ids of nobody, are fine
        alone or among members that are in."""
        ann, bob, cy, dee = _members(webex, 4)
        group = webex.create_group(*SALES, [ann, bob, cy])
        webex.remove_members(group.id, [bob, dee, UNKNOWN_ID])
        assert _read(webex, group.id).members == frozenset({ann, cy})
        webex.remove_members(group.id, [dee])
        webex.remove_members(group.id, [bob, bob])
        webex.remove_members(group.id, [ann, cy])
        assert _read(webex, group.id).members == frozenset()

    def test_delete_removes_the_group_everywhere(self, webex: GroupsTarget) -> None:
        """A deleted group is gone for get, find and list; the others stay."""
        sales = webex.create_group(*SALES)
        other = webex.create_group("Support", "cn=support")
        webex.delete_group(sales.id)
        assert webex.get_group(sales.id) is None
        assert webex.find_group(SALES[0]) is None
        assert [group.id for group in webex.list_groups()] == [other.id]

    def test_deleting_a_missing_group_counts_as_deleted(self, webex: GroupsTarget) -> None:
        """Deleting a group twice, or one that never existed, raises nothing."""
        group = webex.create_group(*SALES)
        webex.delete_group(group.id)
        webex.delete_group(group.id)
        webex.delete_group(UNKNOWN_ID)
        assert list(webex.list_groups()) == []

    def test_an_unknown_group_is_not_found(self, webex: GroupsTarget) -> None:
        """Renaming, adding to or removing from a group that does not exist (never, or any more)
        is a ``WebexNotFoundError``; reading it gives ``None``."""
        (ann,) = _members(webex, 1)
        deleted = webex.create_group(*SALES)
        webex.delete_group(deleted.id)
        for group_id in (UNKNOWN_ID, deleted.id):
            assert webex.get_group(group_id) is None
            with pytest.raises(WebexNotFoundError):
                webex.rename_group(group_id, "Other")
            with pytest.raises(WebexNotFoundError):
                webex.add_members(group_id, [ann])
            with pytest.raises(WebexNotFoundError):
                webex.remove_members(group_id, [ann])

    def test_a_taken_name_conflicts_in_any_case(self, webex: GroupsTarget) -> None:
        """Creating a group whose name is taken, in another case, or renaming one to it, is a
        ``WebexConflictError`` (409) and changes nothing."""
        sales = webex.create_group(*SALES)
        with pytest.raises(WebexConflictError) as raised:
            webex.create_group(SALES[0].upper(), "cn=other")
        assert raised.value.status == 409
        support = webex.create_group("Support", "cn=support")
        with pytest.raises(WebexConflictError):
            webex.rename_group(support.id, SALES[0].lower())
        assert sorted(group.name for group in webex.list_groups()) == [SALES[0], "Support"]
        found = webex.find_group(SALES[0])
        assert found is not None and found.id == sales.id

    def test_a_deleted_user_leaves_its_groups(self, webex: GroupsTarget) -> None:
        """Deleting a user takes it out of every group it was in; the other members stay."""
        ann, bob = _members(webex, 2)
        sales = webex.create_group(*SALES, [ann, bob])
        support = webex.create_group("Support", "cn=support", [ann])
        webex.delete_user(ann)
        assert _read(webex, sales.id).members == frozenset({bob})
        assert _read(webex, support.id).members == frozenset()
