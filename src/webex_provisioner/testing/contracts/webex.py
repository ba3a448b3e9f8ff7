"""The contracts of ``WebexClient`` and ``BulkCreator``: every rule their docstrings state,
checked through the port only.

A test module subclasses a contract and provides its fixture, a client on a fresh, empty
organization::

    class TestInMemoryWebex(WebexClientContract, BulkCreatorContract):
        @pytest.fixture
        def webex(self) -> InMemoryWebex:
            return InMemoryWebex()

``BulkCreatorContract`` uses the same ``webex`` fixture, which must then also be a
``BulkCreator``. The attributes used are those every SCIM server holds (name, title,
department), so that independent SCIM servers can run the suite too.
"""

from __future__ import annotations

import pytest

from webex_provisioner.errors import WebexConflictError, WebexError, WebexNotFoundError
from webex_provisioner.model import Change, WebexUser
from webex_provisioner.ports import BulkCreator, WebexClient

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
