"""End to end: drift detection against a real slapd and the Webex emulator over HTTP, Webex edited
out of band through the emulator's SCIM API as Control Hub would (docs/drift.md). What only the
real servers show: the values Webex gives back (no drift after provisioning), SCIM PATCH and
DELETE by someone else, ``meta.created``, the command line's output (plan, sync, status, users
explain, users orphans) and the audit log. Each decision in all its variants runs on the fakes
in tests/engine/test_drift_on_fakes.py."""

from __future__ import annotations

import json

import pytest

from tests.conftest import World
from webex_provisioner.engine.report import EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.model import ProblemKind
from webex_provisioner.sandbox.demo import DEMO_GROUPS
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(120)

ENOVAK = "eva.novak@example.com"


def provisioned(world: World, **drift: str) -> World:
    world.configure(drift=drift)
    world.sync()
    return world


def webex_id(world: World, email: str) -> str:
    user = world.webex_user(email)
    assert user is not None
    return str(user["id"])


def test_a_noop_full_cycle_after_provisioning_finds_no_drift(shared_world: World) -> None:
    """Right after provisioning, a full cycle reads every Webex user (one listing page) and finds
    nothing: values as Webex gives them back (an e-mail in upper case, the phone numbers) are not
    drift, even after Webex writes them in another form."""
    world = provisioned(shared_world)
    phone = world.corp.person("enovak").telephone.replace(" ", "")
    world.patch_webex(
        "Users",
        webex_id(world, ENOVAK),
        {"op": "replace", "path": "userName", "value": ENOVAK.upper()},
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": phone},
    )
    before = len(world.emulator.request_log)
    report = world.sync()
    assert report.plan.all_actions == () and report.drift is not None
    assert report.drift.error is None and not report.drift.found()
    assert report.drift.webex_users == len(world.emulator.users())
    sent = world.emulator.request_log[before:]
    assert [method for method, _, _ in sent] == ["GET"]  # one page of users


def test_a_check_after_a_verified_one_compares_only_what_was_edited_in_webex(shared_world: World) -> None:
    """A full check keeps in the state what it verified; the next one reads every Webex user
    again but compares none of them, and after an edit over SCIM only the edited user, whose
    drift it repairs."""
    world = provisioned(shared_world)
    world.sync()
    quiet = json.loads(world.cli("sync", "--json").stdout)["drift"]
    unchanged = quiet["unchanged"]
    assert quiet["concluded"] and quiet["compared"] == 0 and unchanged > 0
    assert quiet["webex_users"] == len(world.emulator.users())
    world.patch_webex("Users", webex_id(world, ENOVAK), {"op": "replace", "path": "title", "value": "Boss"})
    shown = " ".join(world.cli("plan").output.split())  # as printed, lines wrapped
    assert f"({unchanged - 1:,} as the last check verified them, not compared again)" in shown
    edited = world.sync()
    assert edited.drift is not None and edited.drift.compared == 1
    assert [(a.reason.value, a.email) for a in edited.plan.all_actions] == [("drift_in_webex", ENOVAK)]


def test_an_attribute_edited_in_webex_is_shown_by_plan_and_repaired_by_sync(shared_world: World) -> None:
    """A title edited over SCIM shows in plan as drift_in_webex with Webex's value as old and the
    directory's as new; sync sets it back, and the audit log has the repair."""
    world = provisioned(shared_world)
    title = world.corp.person("enovak").title
    world.patch_webex("Users", webex_id(world, ENOVAK), {"op": "replace", "path": "title", "value": "Boss"})
    shown = world.cli("plan")
    assert shown.exit_code == EXIT_USERS_FAILED, shown.output  # Example Corp has a user without mail
    assert "drift_in_webex" in shown.output and f"title: 'Boss' → '{title}'" in shown.output
    assert "Drift check:" in shown.output and "1 user with attributes changed" in shown.output
    result = world.cli("sync", "--json")
    data = json.loads(result.stdout)
    assert data["drift"]["found"] == {"attributes": 1} and data["drift"]["repaired"] == {"attributes": 1}
    user = world.webex_user(ENOVAK)
    assert user is not None and user["title"] == title
    audit = (world.tmp_path / "audit.log").read_text()
    assert '"reason": "drift_in_webex"' in audit


def test_a_deactivation_in_webex_is_reported_in_sync_status_and_explain(shared_world: World) -> None:
    """A user deactivated over SCIM stays inactive (deactivated: report); sync reports it (exit
    3), status lists it, users explain says what drifted, and the audit log has it."""
    world = provisioned(shared_world)
    world.patch_webex("Users", webex_id(world, ENOVAK), {"op": "replace", "path": "active", "value": False})
    result = world.cli("sync")
    assert result.exit_code == EXIT_USERS_FAILED and "deactivated in Webex" in result.output
    user = world.webex_user(ENOVAK)
    assert user is not None and user["active"] is False
    status = world.cli("status")
    assert "Drift reported in Webex (1)" in status.output and ENOVAK in status.output
    explained = world.cli("users", "explain", ENOVAK)
    assert "Drift in Webex:" in explained.output and "deactivated in Webex" in explained.output
    assert '"action": "drift"' in (world.tmp_path / "audit.log").read_text()


def test_a_deleted_webex_user_is_recreated_with_its_email_and_relinked(shared_world: World) -> None:
    """A linked user deleted over SCIM is created again with the same e-mail, once, and its link
    points at the new Webex id."""
    world = provisioned(shared_world)
    old = webex_id(world, ENOVAK)
    world.delete_webex_user(old)
    report = world.sync()
    assert [(a.kind.value, a.reason.value) for a in report.plan.actions] == [("create", "deleted_in_webex")]
    new = webex_id(world, ENOVAK)
    store = open_state_store(world.config.state)
    try:
        [link] = store.find_links(ENOVAK)
    finally:
        store.close()
    assert new != old and link.webex_id == new
    assert [u["userName"].lower() for u in world.emulator.users()].count(ENOVAK) == 1
    assert world.sync().plan.all_actions == ()


def test_users_orphans_lists_the_webex_users_no_link_points_to(shared_world: World) -> None:
    """users orphans lists a Webex user created by hand, with its state and creation time, and
    leaves it alone; --json prints the same for scripts."""
    world = provisioned(shared_world)
    made = world.emulator.add_user({"userName": "contractor@example.com", "active": False})
    result = world.cli("users", "orphans")
    assert result.exit_code == EXIT_OK and "contractor@example.com" in result.output
    assert "inactive" in result.output and made["meta"]["created"][:10] in result.output
    [orphan] = json.loads(world.cli("users", "orphans", "--json").stdout)
    assert orphan["email"] == "contractor@example.com" and orphan["state"] == "inactive"
    assert orphan["created_at"].startswith(made["meta"]["created"][:19])
    assert world.webex_user("contractor@example.com") is not None


def test_a_member_removed_from_a_pushed_group_in_webex_is_added_back(shared_world: World) -> None:
    """A member this tool added to a pushed group, removed over SCIM, is added back
    (add_members, drift_in_webex)."""
    world = shared_world
    world.configure(**DEMO_GROUPS)
    provisioned(world)
    [group] = [g for g in world.emulator.groups() if g["displayName"] == "sales"]
    member = world.emulator.group_members(group["id"])[0]
    world.patch_webex("Groups", group["id"], {"op": "remove", "path": f'members[value eq "{member}"]'})
    report = world.sync()
    assert [(a.kind.value, a.reason.value) for a in report.plan.groups] == [("add_members", "drift_in_webex")]
    assert member in world.emulator.group_members(group["id"])
    assert not [p for p in report.plan.problems if p.kind is ProblemKind.DRIFT]
