"""The lifecycle rules of docs/lifecycle.md as whole cycles on the in-memory fakes: links,
reactivations, the deprovisioning policies, moves, e-mail changes, conflicts, protected users
and per-user failures, each in milliseconds. tests/test_lifecycle.py proves one of each rule
group end to end against slapd and the emulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.operations import forget, read_status
from webex_provisioner.engine.report import EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.errors import WebexRejectedError
from webex_provisioner.model import LinkState, Outcome, ProblemKind

ANN, BOB, CY = person("ann"), person("bob"), person("cy")
OTHERS = [person(f"p{i:02d}") for i in range(20)]  # two deprovisions stay within 10 % of the links
WITH_TITLE = {"email": "mail", "firstName": "givenName", "lastName": "sn", "title": "title"}


def test_inactive_existing_user_is_linked_and_reactivated() -> None:
    """An inactive Webex user matching an enabled directory user is linked and reactivated."""
    world = FakeWorld(ANN, BOB)
    seeded = world.webex.add_user("ann@example.com", active=False, firstName="Ann", lastName="Example")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    ann = world.webex.user("ann@example.com")
    assert ann is not None and ann.id == seeded.id and ann.active is True
    assert world.links()["ann"].webex_id == seeded.id and len(world.webex.users()) == 2


def test_disabled_users_are_created_inactive_with_provision_disabled() -> None:
    """With provision_disabled, disabled directory users in scope are created as inactive users."""
    world = FakeWorld(ANN, person("off", disabled=True), provisioning={"provision_disabled": True})
    world.sync()
    off = world.webex.user("off@example.com")
    assert off is not None and off.active is False
    assert world.webex.user("ann@example.com").active is True  # type: ignore[union-attr]
    assert world.links()["off"].webex_id == off.id


def leave(world: FakeWorld, anchor: str, how: str) -> None:
    """Make ``anchor`` leave service: deleted, disabled or out of scope in the directory."""
    if how == "deleted":
        world.directory.remove(anchor)
    elif how == "disabled":
        world.directory.disable(anchor)
    else:
        world.directory.set_scope(anchor, False, "no longer a member of cn=webex-users")


def assert_deprovisioned_per(world: FakeWorld, policy: str) -> None:
    """Ann's Webex user is gone (delete), inactive (disable) or untouched (none); Bob is untouched."""
    ann = world.webex.user("ann@example.com")
    if policy == "delete":
        assert ann is None and "ann" not in world.links()
    else:
        assert ann is not None and ann.active is (policy == "none")
    assert world.webex.user("bob@example.com").active is True  # type: ignore[union-attr]


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_deleted_user_is_deprovisioned_per_on_deleted(policy: str) -> None:
    """A user deleted from the directory is disabled, deleted or left alone per on_deleted."""
    world = FakeWorld(ANN, BOB, CY, provisioning={"on_deleted": policy})
    world.sync()
    leave(world, "ann", "deleted")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert_deprovisioned_per(world, policy)


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_disabled_user_is_deprovisioned_per_on_disabled(policy: str) -> None:
    """A user disabled in the directory is disabled, deleted or left alone per on_disabled."""
    world = FakeWorld(ANN, BOB, CY, provisioning={"on_disabled": policy})
    world.sync()
    leave(world, "ann", "disabled")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert_deprovisioned_per(world, policy)


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_user_removed_from_the_group_is_deprovisioned_per_on_left_scope(policy: str) -> None:
    """A user removed from the targeted group is disabled, deleted or left alone per on_left_scope."""
    world = FakeWorld(ANN, BOB, CY, provisioning={"on_left_scope": policy})
    world.sync()
    leave(world, "ann", "left_scope")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert_deprovisioned_per(world, policy)


def test_user_no_longer_matching_the_scope_filter_is_disabled() -> None:
    """A user whose entry stops matching the scope filter is disabled (left_scope); a user who
    never matched it is not created. (Which entries match a filter is the LDAP adapter's part:
    tests/directory/test_find_user.py::test_found_users_are_labelled_by_the_scope_filter.)"""
    outside = person("out", in_scope=False, scope_reason="does not match (departmentNumber=42)")
    world = FakeWorld(ANN, BOB, CY, outside)
    world.sync()
    assert world.webex.user("ann@example.com").active is True  # type: ignore[union-attr]
    assert world.webex.user("out@example.com") is None
    world.directory.set_scope("ann", False, "does not match (departmentNumber=42)")
    report = world.sync()
    assert world.actions(report) == [("disable", "left_scope", "ann@example.com")]
    assert world.webex.user("ann@example.com").active is False  # type: ignore[union-attr]


def test_reenabled_and_reentering_users_are_reactivated() -> None:
    """A user disabled then re-enabled, and one removed then re-added to the group, are reactivated."""
    world = FakeWorld(ANN, BOB, CY, *OTHERS)
    world.sync()
    world.directory.disable("ann")
    world.directory.set_scope("bob", False, "no longer a member")
    world.sync()
    world.directory.enable("ann")
    world.directory.set_scope("bob", True, "member of cn=webex-users")
    report = world.sync()
    assert set(world.actions(report)) == {
        ("reactivate", "re_enabled", "ann@example.com"),
        ("reactivate", "re_entered_scope", "bob@example.com"),
    }
    assert world.webex.user("ann@example.com").active is True  # type: ignore[union-attr]
    assert world.webex.user("bob@example.com").active is True  # type: ignore[union-attr]


def test_move_and_rename_keep_the_link() -> None:
    """A new DN with the same anchor is never a deprovision or a re-create: nothing is sent to
    Webex and the link takes the new DN. (That a real rename keeps the anchor: the same test in
    tests/test_lifecycle.py.)"""
    world = FakeWorld(ANN, BOB)
    world.sync()
    before = world.webex.user("ann@example.com")
    calls = len(world.webex.calls)
    world.directory.move("ann", "uid=ann.example,ou=staff,ou=people,dc=example,dc=com")
    report = world.sync()
    assert report.plan.actions == () and report.exit_code == EXIT_OK
    writes = [c for c in world.webex.calls[calls:] if c[0] in ("create_user", "update_user", "delete_user")]
    assert writes == []
    assert world.webex.user("ann@example.com") == before
    assert world.links()["ann"].dn == "uid=ann.example,ou=staff,ou=people,dc=example,dc=com"


def test_email_change_updates_the_same_webex_user() -> None:
    """An e-mail change in the directory renames the same Webex user; nothing is created."""
    world = FakeWorld(ANN, BOB)
    world.sync()
    before = world.webex.user("ann@example.com")
    assert before is not None
    world.directory.change("ann", mail="ann.smith@example.com")
    creates = len(world.webex.calls_of("create_user"))
    report = world.sync()
    assert [(a.kind.value, a.webex_id) for a in report.plan.actions] == [("update", before.id)]
    assert world.webex.user("ann@example.com") is None
    after = world.webex.user("ann.smith@example.com")
    assert after is not None and after.id == before.id
    assert len(world.webex.users()) == 2 and len(world.webex.calls_of("create_user")) == creates
    assert world.links()["ann"].email == "ann.smith@example.com"


def test_two_directory_users_sharing_an_email_are_both_conflicts() -> None:
    """Two directory users with one e-mail: neither is created, both are reported as conflicts."""
    world = FakeWorld(ANN, person("bob", email="Ann@example.com"), CY)
    report = world.sync()
    conflicts = {p.anchor for p in report.plan.problems if p.kind is ProblemKind.CONFLICT}
    assert conflicts == {"ann", "bob"}
    assert world.webex.user("ann@example.com") is None
    assert world.emails() == {"cy@example.com"}
    assert report.exit_code == EXIT_USERS_FAILED


def test_reused_address_linked_to_another_anchor_is_a_conflict() -> None:
    """A new directory user taking a departed user's address never gets the departed user's
    account; once the operator forgets the old link (users forget), the next cycle links it."""
    world = FakeWorld(ANN, BOB, CY)
    world.sync()
    world.directory.remove("ann")
    world.sync()  # ann disabled
    world.directory.put(person("ann2", email="ann@example.com"))
    report = world.sync()
    conflict = [p for p in report.plan.problems if p.kind is ProblemKind.CONFLICT]
    assert [p.anchor for p in conflict] == ["ann2"] and "users forget" in conflict[0].detail
    assert world.webex.user("ann@example.com").active is False  # type: ignore[union-attr]
    assert "ann2" not in world.links()
    # The operator confirms the address was reused and forgets the old link: the next cycle links.
    old = world.store.get_link("ann")
    assert old is not None
    forget(world.store, old, datetime.now(UTC))
    report = world.sync()
    assert ("link", "matched_existing") in {(a.kind.value, a.reason.value) for a in report.plan.actions}
    assert world.links()["ann2"].webex_id == old.webex_id


def test_protected_users_are_never_touched() -> None:
    """Protected users are not created, and a linked protected user leaving scope stays."""
    world = FakeWorld(ANN, BOB, CY, provisioning={"protected": ["bob@example.com", "cy"]})
    world.sync()
    assert world.emails() == {"ann@example.com"}
    world.configure(
        provisioning={"protected": ["ann@example.com"]},
        safety={"max_deprovisions": {"count": None, "percent": None}},
    )
    world.sync()
    assert world.emails() == {"ann@example.com", "bob@example.com", "cy@example.com"}
    for anchor in ("ann", "bob", "cy"):
        world.directory.set_scope(anchor, False, "left the group")
    report = world.sync()
    touched = {a.email for a in report.plan.actions}
    assert "ann@example.com" not in touched
    assert world.webex.user("ann@example.com").active is True  # type: ignore[union-attr]
    assert touched == {"bob@example.com", "cy@example.com"}  # the others left scope


def test_per_user_failure_does_not_stop_the_cycle() -> None:
    """A Webex error on one user (here on its lookup) fails that user only; every other user is
    provisioned; exit code 3; the next cycle provisions the failed one."""
    world = FakeWorld(ANN, BOB, CY, webex={"concurrency": 1})
    error = WebexRejectedError("looking up bob@example.com: Webex answered 400 (bad filter)", status=400)
    world.webex.fail_next("find_by_email", error, key="bob@example.com")
    report = world.sync()
    failed = [p for p in report.plan.problems if p.kind is ProblemKind.FAILED]
    assert [p.email for p in failed] == ["bob@example.com"] and "400" in failed[0].detail
    assert report.exit_code == EXIT_USERS_FAILED
    assert world.emails() == {"ann@example.com", "cy@example.com"}
    world.sync()
    assert world.emails() == {"ann@example.com", "bob@example.com", "cy@example.com"}


def test_failed_write_is_recorded_and_retried_next_cycle() -> None:
    """An update Webex rejects is recorded as failed with the error (audit trail, and the failing
    users status shows); other users proceed; the next cycle applies it."""
    world = FakeWorld(ANN, BOB, CY, webex={"concurrency": 1}, mapping=WITH_TITLE)
    world.sync()
    world.directory.change("ann", title="x" * 40)
    world.directory.change("bob", title="Lead")
    ann = world.links()["ann"].webex_id
    world.webex.fail_next("update_user", WebexRejectedError("injected failure (400)", status=400), key=ann)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 1
    assert report.exit_code == EXIT_USERS_FAILED
    assert world.webex.user("bob@example.com").attributes["title"] == "Lead"  # type: ignore[union-attr]
    assert "title" not in world.webex.user("ann@example.com").attributes  # type: ignore[union-attr]
    [failed] = [e for e in world.store.audit() if e.outcome is Outcome.FAILED]
    assert failed.anchor == "ann" and "injected failure" in failed.detail
    status = read_status(world.store, world.config, datetime.now(UTC), limit=10)
    assert [(link.anchor, link.last_error) for link in status.failing] == [("ann", failed.detail)]
    world.sync()
    assert world.webex.user("ann@example.com").attributes["title"] == "x" * 40  # type: ignore[union-attr]
    assert world.webex.user("bob@example.com").attributes["title"] == "Lead"  # type: ignore[union-attr]
    assert read_status(world.store, world.config, datetime.now(UTC), limit=10).failing == []


def test_404_on_delete_counts_as_done() -> None:
    """Deleting a user someone already deleted in Webex succeeds and drops the link."""
    world = FakeWorld(ANN, BOB, CY, provisioning={"on_deleted": "delete"})
    world.sync()
    world.webex.delete_user(world.links()["ann"].webex_id)
    world.directory.remove("ann")
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    assert report.exit_code == EXIT_OK and world.actions(report) == [
        ("delete", "deleted_in_directory", "ann@example.com")
    ]
    assert "ann" not in world.links() and world.links()["bob"].state is LinkState.ACTIVE
