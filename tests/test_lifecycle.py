"""End to end: each group of lifecycle rules of docs/lifecycle.md (create, link, update, disable,
delete, move) once against a real slapd and the Webex emulator over HTTP, with what only the real
servers show: LDAP labelling, entryUUID anchors, SCIM bodies, the state and audit files.

Every rule in all its variants runs on the in-memory fakes in tests/engine/ (the lifecycle rules
in test_lifecycle_rules.py, the rest in test_cycle_on_fakes.py). Tests that leave the directory
as it is share the module's slapd (``shared_world``); the others get a slapd of their own."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import World
from webex_provisioner.engine.report import EXIT_USERS_FAILED
from webex_provisioner.model import ProblemKind
from webex_provisioner.sandbox.company import LOCKED, UPPER_CASE_MAIL, WITHOUT_MAIL
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(120)


def emails(world: World, uids: set[str] | frozenset[str]) -> set[str]:
    return {world.person_mail(uid).lower() for uid in uids if world.corp.person(uid).mail}


def test_first_sync_creates_exactly_the_enabled_users_in_scope(shared_world: World) -> None:
    world = shared_world
    """The first cycle creates every enabled in-scope user with an e-mail, once, active, with the
    mapped attributes; disabled, out-of-scope and mail-less users are not created."""
    report = world.sync()
    expected = emails(world, world.corp.in_scope - world.corp.disabled)
    users = world.webex_users()
    assert set(users) == expected
    assert all(u["active"] for u in users.values())
    enovak = users["eva.novak@example.com"]
    assert enovak["name"] == {"givenName": "Eva", "familyName": "Novak"}
    assert enovak["displayName"] == "Eva Novak"
    assert enovak["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] == "42"
    assert enovak["externalId"] == world.corp.person("enovak").entry_uuid
    assert report.exit_code == EXIT_USERS_FAILED  # the user without mail is reported
    invalid = [p for p in report.plan.problems if p.kind is ProblemKind.INVALID]
    assert [p.anchor for p in invalid] == [world.corp.person(WITHOUT_MAIL).entry_uuid]


def test_second_sync_plans_nothing(shared_world: World) -> None:
    world = shared_world
    """Running sync twice in a row: the second cycle plans and sends no write."""
    world.sync()
    writes_before = [r for r in world.emulator.request_log if r[0] != "GET"]
    report = world.sync()
    assert report.plan.actions == ()
    assert [r for r in world.emulator.request_log if r[0] != "GET"] == writes_before


def test_existing_user_is_linked_case_insensitively_without_duplicate(shared_world: World) -> None:
    world = shared_world
    """A Webex user whose e-mail differs only in case is linked, updated and never duplicated."""
    seeded = world.emulator.add_user(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "maria.garcia@example.com",
            "displayName": "typed by hand",
        }
    )
    report = world.sync()
    kinds = {(a.kind.value, a.reason.value) for a in report.plan.actions if a.email == UPPER_CASE_MAIL[1]}
    assert ("link", "matched_existing") in kinds
    matches = [u for u in world.emulator.users() if u["userName"].lower() == "maria.garcia@example.com"]
    assert len(matches) == 1
    assert matches[0]["id"] == seeded["id"]
    assert matches[0]["displayName"] == "Maria Garcia"


def test_only_changed_attributes_are_sent_and_removed_values_removed(world: World) -> None:
    """A changed attribute is PATCHed alone; a value removed in the directory is removed in Webex."""
    world.sync()
    person = world.corp.person("enovak")
    world.slapd.modify(person.dn, {"title": [b"Head of Platform"]})
    dkowalski = world.corp.person("rchen")
    world.slapd.modify(dkowalski.dn, [("delete", "telephoneNumber", None)])
    before = len(world.emulator.request_log)
    report = world.sync()
    updates = {a.email: a for a in report.plan.actions}
    assert set(updates) == {"eva.novak@example.com", "rachel.chen@example.com"}
    assert [c.attribute for c in updates["eva.novak@example.com"].changes] == ["title"]
    writes = [r for r in world.emulator.request_log[before:] if r[0] != "GET"]
    assert [w[0] for w in writes] == ["PATCH", "PATCH"]
    assert world.webex_user("eva.novak@example.com")["title"] == "Head of Platform"  # type: ignore[index]
    phones = world.webex_user("rachel.chen@example.com").get("phoneNumbers", [])  # type: ignore[union-attr]
    assert not [p for p in phones if p.get("type") == "work"]


def test_leavers_are_deprovisioned_end_to_end(world: World) -> None:
    """A user locked in the directory (pwdAccountLockedTime), one deleted and one removed from the
    targeted group: the first and last disabled in Webex (PATCH active false), the deleted one
    deleted (DELETE), each with its reason; nobody else is touched. (Each policy of each rule:
    tests/engine/test_lifecycle_rules.py.)"""
    world.configure(
        provisioning={"on_deleted": "delete", "on_disabled": "disable", "on_left_scope": "disable"}
    )
    world.sync()
    locked, deleted, left = (world.person_mail(uid) for uid in ("enovak", "ylevi", "gmoore"))
    world.slapd.modify(world.corp.person("enovak").dn, [("add", "pwdAccountLockedTime", [LOCKED.encode()])])
    world.slapd.delete(world.corp.person("ylevi").dn)
    world.slapd.modify(
        world.corp.targeted_group, [("delete", "member", [world.corp.person("gmoore").dn.encode()])]
    )
    before = len(world.emulator.request_log)
    report = world.sync()
    assert {(a.email, a.kind.value, a.reason.value) for a in report.plan.actions} == {
        (locked, "disable", "disabled_in_directory"),
        (deleted, "delete", "deleted_in_directory"),
        (left, "disable", "left_scope"),
    }
    writes = sorted(r[0] for r in world.emulator.request_log[before:] if r[0] != "GET")
    assert writes == ["DELETE", "PATCH", "PATCH"]
    users = world.webex_users()
    expected = emails(world, world.corp.in_scope - world.corp.disabled)
    assert set(users) == expected - {deleted.lower()}
    assert not users[locked.lower()]["active"] and not users[left.lower()]["active"]
    assert all(u["active"] for email, u in users.items() if email not in (locked.lower(), left.lower()))


def test_move_and_rename_keep_the_link(world: World) -> None:
    """Renaming an entry and moving it to another OU is never a deprovision or a re-create."""
    world.sync()
    world.slapd.add(f"dn: ou=alumni,{world.slapd.suffix}\nobjectClass: organizationalUnit\nou: alumni\n")
    world.slapd.add(
        f"dn: ou=staff,ou=people,{world.slapd.suffix}\nobjectClass: organizationalUnit\nou: staff\n"
    )
    person = world.corp.person("psharma")  # a direct member of the group: the group must follow the DN
    before = world.webex_user("priya.sharma@example.com")
    new_dn = world.slapd.rename(person.dn, "uid=priya.sharma", f"ou=staff,ou=people,{world.slapd.suffix}")
    world.slapd.modify(
        world.corp.targeted_group,
        [("delete", "member", [person.dn.encode()]), ("add", "member", [new_dn.encode()])],
    )
    report = world.sync()
    assert report.plan.actions == ()
    after = world.webex_user("priya.sharma@example.com")
    assert after is not None and before is not None and after["id"] == before["id"] and after["active"]
    store = open_state_store(world.config.state)
    try:
        assert store.get_link(person.entry_uuid).dn == new_dn  # type: ignore[union-attr]
    finally:
        store.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def test_plan_writes_nothing(world: World) -> None:
    """plan reads the directory, state and Webex, but changes none of them, nor the audit log."""
    world.sync()
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Changed"]})
    world.slapd.delete(world.corp.person("gmoore").dn)
    state = world.tmp_path / "state.db"
    audit = world.tmp_path / "audit.log"
    before = (_digest(state), _digest(audit), [r for r in world.emulator.request_log if r[0] != "GET"])
    result = world.cli("plan")
    assert result.exit_code in (0, 3), result.output
    assert "attributes_changed" in result.output and "deleted_in_directory" in result.output
    after = (_digest(state), _digest(audit), [r for r in world.emulator.request_log if r[0] != "GET"])
    assert after == before


def test_plan_before_any_sync_creates_no_state_file(shared_world: World) -> None:
    world = shared_world
    """A first plan with no state yet does not create the state database or the audit log."""
    result = world.cli("plan", "--json")
    assert result.exit_code == 3, result.output
    assert not (world.tmp_path / "state.db").exists()
    assert not (world.tmp_path / "audit.log").exists()
    assert not [r for r in world.emulator.request_log if r[0] != "GET"]


def test_unreachable_directory_fails_without_deprovisioning(world: World) -> None:
    """With slapd down, sync exits 1 with a clear message and deprovisions nobody."""
    world.sync()
    world.slapd.stop()
    result = world.cli("sync")
    assert result.exit_code == 1
    assert "ldap://127.0.0.1" in result.output
    assert all(u["active"] for u in world.emulator.users())


def test_attributes_set_by_hand_in_webex_survive_linking(shared_world: World) -> None:
    world = shared_world
    """Linking never removes Webex attributes the mapping does not manage."""
    world.emulator.add_user(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "eva.novak@example.com",
            "nickName": "Evi",
            "timezone": "Europe/Oslo",
        }
    )
    world.sync()
    user = world.webex_user("eva.novak@example.com")
    assert user is not None and user["nickName"] == "Evi" and user["timezone"] == "Europe/Oslo"
    assert user["title"] == world.corp.person("enovak").title
