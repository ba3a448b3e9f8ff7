"""The groups phase of a cycle on the in-memory fakes: groups created with their members, linked
when Webex has one of that name, kept in step, only managed members removed, gone groups
deleted or released, the guards, and the cheap no-op."""

from __future__ import annotations

from typing import Any

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_HELD, EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.errors import WebexRejectedError
from webex_provisioner.testing.directory_groups import group_dn

GROUPS = {"groups": {"filter": "(cn=webex-*)"}}


def world(*uids: str, **config: Any) -> FakeWorld:
    return FakeWorld(*[person(uid) for uid in uids], **{**GROUPS, **config})


def members_of(w: FakeWorld, name: str) -> set[str]:
    group = w.webex.group(name)
    assert group is not None and group.members is not None
    emails = {u.id: u.email for u in w.webex.users()}
    return {emails[m] for m in group.members}


def kinds(report: Any) -> list[tuple[str, str, str]]:
    return [(a.kind.value, a.reason.value, a.name) for a in report.plan.groups]


def test_a_selected_group_is_created_with_its_members_in_the_same_cycle() -> None:
    """The first cycle creates the users, then the group with them as members."""
    w = world("ann", "bob", "cy")
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    report = w.sync()
    assert report.exit_code == EXIT_OK
    assert kinds(report) == [("create_group", "group_selected", "webex-sales")]
    assert members_of(w, "webex-sales") == {"ann@example.com", "bob@example.com"}
    assert w.sync().plan.groups == ()


def test_plan_shows_group_actions_and_writes_nothing() -> None:
    """A dry run plans the group with the users it will create, and creates nothing."""
    w = world("ann")
    w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
    report = w.plan()
    assert kinds(report) == [("create_group", "group_selected", "webex-sales")]
    assert [m.email for m in report.plan.groups[0].members] == ["ann@example.com"]
    assert w.webex.groups() == [] and list(w.store.group_links()) == []


def test_an_existing_webex_group_of_that_name_is_linked_not_duplicated() -> None:
    """A Webex group with the same name (any case) is linked and its members added."""
    w = world("ann")
    w.sync()
    w.webex.add_group("WEBEX-SALES")
    w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
    report = w.sync()
    assert kinds(report) == [
        ("link_group", "matched_existing", "webex-sales"),
        ("add_members", "joined_group", "webex-sales"),
    ]
    assert len(w.webex.groups()) == 1 and members_of(w, "WEBEX-SALES") == {"ann@example.com"}


def test_membership_follows_the_directory_and_hand_added_members_stay() -> None:
    """A member removed from the directory group leaves the Webex group; a member added to the
    Webex group by hand is never removed."""
    w = world("ann", "bob", "cy")
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    w.sync()
    group = w.webex.group("webex-sales")
    cy = w.webex.user("cy@example.com")
    assert group is not None and cy is not None
    w.webex.add_members(group.id, [cy.id])  # by hand, in Control Hub
    w.directory.change_group("g1", remove=[person("bob").dn])
    report = w.sync()
    assert kinds(report) == [("remove_members", "left_group", "webex-sales")]
    assert members_of(w, "webex-sales") == {"ann@example.com", "cy@example.com"}


def test_nested_members_are_flattened() -> None:
    """Members of a member group are members (groups.nested: flatten)."""
    w = world("ann", "bob")
    w.directory.put_group("inner", group_dn("inner"), members=[person("bob").dn], cn="inner", selected=False)
    w.directory.put_group(
        "g1", group_dn("webex-all"), members=[person("ann").dn], groups=[group_dn("inner")], cn="webex-all"
    )
    w.sync()
    assert members_of(w, "webex-all") == {"ann@example.com", "bob@example.com"}


def test_a_renamed_group_renames_the_same_webex_group() -> None:
    """The link is by anchor: a new name renames, it does not create."""
    w = world("ann")
    w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
    w.sync()
    old = w.webex.group("webex-sales")
    w.directory.change_group("g1", dn=group_dn("webex-sales-emea"), cn="webex-sales-emea")
    report = w.sync()
    assert kinds(report) == [("rename_group", "renamed_in_directory", "webex-sales-emea")]
    renamed = w.webex.group("webex-sales-emea")
    assert old is not None and renamed is not None and renamed.id == old.id and len(w.webex.groups()) == 1


def test_a_group_deleted_in_the_directory_is_deleted_or_released() -> None:
    """on_deleted: delete removes the Webex group; keep leaves it, no longer managed."""
    for policy, left in (("delete", 0), ("keep", 1)):
        w = world("ann", groups={"filter": "(cn=webex-*)", "on_deleted": policy})
        w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
        w.sync()
        w.directory.remove_group("g1")
        report = w.sync()
        assert report.exit_code == EXIT_OK
        assert len(w.webex.groups()) == left and list(w.store.group_links()) == []


def test_a_user_deleted_from_webex_leaves_its_groups_and_is_forgotten() -> None:
    """A user deprovisioned with delete leaves its groups (Webex takes it out); nothing is
    planned to remove it, and the group stays in step."""
    w = world("ann", "bob", provisioning={"on_deleted": "delete"})
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    w.sync()
    w.directory.remove("bob")
    w.directory.change_group("g1", remove=[person("bob").dn])
    report = w.sync()
    assert report.exit_code == EXIT_OK and members_of(w, "webex-sales") == {"ann@example.com"}
    [link] = list(w.store.group_links())
    assert link.members == frozenset({"ann"})


def test_mass_removals_from_a_group_are_held_until_approved() -> None:
    """Removing more than max_deprovisions.percent of a group's members is held (exit 4)."""
    uids = [f"u{i}" for i in range(10)]
    w = world(*uids)
    w.directory.put_group("g1", group_dn("webex-all"), members=[person(u).dn for u in uids], cn="webex-all")
    w.sync()
    w.directory.change_group("g1", members=[person(u).dn for u in uids[:4]])
    held = w.sync()
    assert held.exit_code == EXIT_HELD and [a.kind.value for a in held.plan.held_groups] == ["remove_members"]
    assert len(members_of(w, "webex-all")) == 10
    assert w.sync(approve_held=True).exit_code == EXIT_OK and len(members_of(w, "webex-all")) == 4


def test_an_empty_group_read_removes_nobody() -> None:
    """A selected group read with no members while its Webex group has managed members is
    reported (exit 3), and nobody is removed."""
    w = world("ann", "bob")
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    w.sync()
    w.directory.change_group("g1", members=[])
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED and report.plan.groups == ()
    assert len(members_of(w, "webex-sales")) == 2


def test_two_groups_with_one_name_are_reported_and_neither_pushed() -> None:
    """A name shared by two selected groups is a conflict: exit 3, no group created."""
    w = world("ann")
    w.directory.put_group("g1", group_dn("webex-a"), members=[person("ann").dn], cn="webex-dup")
    w.directory.put_group("g2", group_dn("webex-b"), members=[person("ann").dn], cn="webex-dup")
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED and w.webex.groups() == []
    assert sorted(p.anchor for p in report.plan.problems if p.resource == "group") == ["g1", "g2"]


def test_nothing_changed_means_no_group_read() -> None:
    """With the groups' digest unchanged and no user joining or leaving, a cycle does not read
    the groups' members again."""
    w = world("ann")
    w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
    w.sync()
    reads = w.directory.group_reads
    assert w.sync().plan.groups == () and w.directory.group_reads == reads
    w.directory.change_group("g1", add=[person("ann").dn], description="touched")
    w.sync()
    assert w.directory.group_reads == reads + 1


def test_a_failed_group_action_is_retried_by_the_next_cycle() -> None:
    """A group create Webex refuses fails that group only (exit 3); the next cycle creates it."""
    w = world("ann")
    w.directory.put_group("g1", group_dn("webex-sales"), members=[person("ann").dn], cn="webex-sales")
    w.webex.fail_next("create_group", WebexRejectedError("bad name", status=400))
    assert w.sync().exit_code == EXIT_USERS_FAILED and w.webex.groups() == []
    assert w.sync().exit_code == EXIT_OK and members_of(w, "webex-sales") == {"ann@example.com"}


def test_a_user_joining_in_an_incremental_cycle_joins_its_groups() -> None:
    """An incremental cycle that creates a user adds it to the groups that list it."""
    w = world("ann")
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    w.sync(feed=True)
    w.directory.put(person("bob"))
    report = w.sync(feed=True)
    assert report.kind.value == "incremental"
    assert members_of(w, "webex-sales") == {"ann@example.com", "bob@example.com"}
