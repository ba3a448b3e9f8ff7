"""End to end: every lifecycle rule of docs/lifecycle.md against a real slapd and the Webex emulator."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.conftest import World
from webex_provisioner.engine.report import EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.model import ProblemKind
from webex_provisioner.sandbox.company import LOCKED, UPPER_CASE_MAIL, WITHOUT_MAIL
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(120)


def emails(world: World, uids: set[str] | frozenset[str]) -> set[str]:
    return {world.person_mail(uid).lower() for uid in uids if world.corp.person(uid).mail}


def test_first_sync_creates_exactly_the_enabled_users_in_scope(world: World) -> None:
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


def test_second_sync_plans_nothing(world: World) -> None:
    """Running sync twice in a row: the second cycle plans and sends no write."""
    world.sync()
    writes_before = [r for r in world.emulator.request_log if r[0] != "GET"]
    report = world.sync()
    assert report.plan.actions == ()
    assert [r for r in world.emulator.request_log if r[0] != "GET"] == writes_before


def test_existing_user_is_linked_case_insensitively_without_duplicate(world: World) -> None:
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


def test_inactive_existing_user_is_linked_and_reactivated(world: World) -> None:
    """An inactive Webex user matching an enabled directory user is linked and reactivated."""
    world.emulator.add_user(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "eva.novak@example.com",
            "active": False,
        }
    )
    world.sync()
    assert world.webex_user("eva.novak@example.com")["active"] is True  # type: ignore[index]


def test_disabled_users_are_created_inactive_with_provision_disabled(world: World) -> None:
    """With provision_disabled, disabled directory users in scope are created as inactive users."""
    world.configure(provisioning={"provision_disabled": True})
    world.sync()
    for uid in world.corp.disabled:
        user = world.webex_user(world.person_mail(uid))
        assert user is not None and user["active"] is False


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


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_deleted_user_is_deprovisioned_per_on_deleted(world: World, policy: str) -> None:
    """A user deleted from the directory is disabled, deleted or left alone per on_deleted."""
    world.configure(provisioning={"on_deleted": policy})
    world.sync()
    person = world.corp.person("gmoore")
    world.slapd.delete(person.dn)
    world.sync()
    user = world.webex_user(world.person_mail("gmoore"))
    if policy == "delete":
        assert user is None
    else:
        assert user is not None and user["active"] is (policy == "none")


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_disabled_user_is_deprovisioned_per_on_disabled(world: World, policy: str) -> None:
    """A user disabled in the directory is disabled, deleted or left alone per on_disabled."""
    world.configure(provisioning={"on_disabled": policy})
    world.sync()
    person = world.corp.person("enovak")
    world.slapd.modify(person.dn, [("add", "pwdAccountLockedTime", [LOCKED.encode()])])
    world.sync()
    user = world.webex_user("eva.novak@example.com")
    if policy == "delete":
        assert user is None
    else:
        assert user is not None and user["active"] is (policy == "none")


@pytest.mark.parametrize("policy", ["disable", "delete", "none"])
def test_user_removed_from_the_group_is_deprovisioned_per_on_left_scope(world: World, policy: str) -> None:
    """A user removed from the targeted group is disabled, deleted or left alone per on_left_scope."""
    world.configure(provisioning={"on_left_scope": policy})
    world.sync()
    person = world.corp.person("gmoore")
    world.slapd.modify(world.corp.targeted_group, [("delete", "member", [person.dn.encode()])])
    world.sync()
    user = world.webex_user(world.person_mail("gmoore"))
    if policy == "delete":
        assert user is None
    else:
        assert user is not None and user["active"] is (policy == "none")


def test_user_no_longer_matching_the_scope_filter_is_disabled(world: World) -> None:
    """With a scope filter, a user whose entry stops matching it is disabled (left_scope)."""
    world.configure(directory={"scope": {"groups": [], "filter": "(departmentNumber=42)"}})
    world.sync()
    assert world.webex_user("eva.novak@example.com")["active"] is True  # type: ignore[index]
    assert world.webex_user("grace.moore@example.com") is None
    world.slapd.modify(world.corp.person("enovak").dn, {"departmentNumber": [b"10"]})
    report = world.sync()
    assert [(a.email, a.kind.value, a.reason.value) for a in report.plan.actions] == [
        ("eva.novak@example.com", "disable", "left_scope")
    ]
    assert world.webex_user("eva.novak@example.com")["active"] is False  # type: ignore[index]


def test_reenabled_and_reentering_users_are_reactivated(world: World) -> None:
    """A user disabled then re-enabled, and one removed then re-added to the group, are reactivated."""
    world.sync()
    group = world.corp.targeted_group
    enovak, gmoore = world.corp.person("enovak"), world.corp.person("gmoore")
    world.slapd.modify(enovak.dn, [("add", "pwdAccountLockedTime", [LOCKED.encode()])])
    world.slapd.modify(group, [("delete", "member", [gmoore.dn.encode()])])
    world.sync()
    world.slapd.modify(enovak.dn, [("delete", "pwdAccountLockedTime", None)])
    world.slapd.modify(group, [("add", "member", [gmoore.dn.encode()])])
    report = world.sync()
    reasons = {(a.email, a.kind.value, a.reason.value) for a in report.plan.actions}
    assert reasons == {
        ("eva.novak@example.com", "reactivate", "re_enabled"),
        ("grace.moore@example.com", "reactivate", "re_entered_scope"),
    }
    assert world.webex_user("eva.novak@example.com")["active"] is True  # type: ignore[index]
    assert world.webex_user("grace.moore@example.com")["active"] is True  # type: ignore[index]


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


def test_email_change_updates_the_same_webex_user(world: World) -> None:
    """An e-mail change in the directory renames the same Webex user; nothing is created."""
    world.sync()
    before = world.webex_user("eva.novak@example.com")
    world.slapd.modify(world.corp.person("enovak").dn, {"mail": [b"eva.novak-smith@example.com"]})
    report = world.sync()
    assert [(a.kind.value, a.webex_id) for a in report.plan.actions] == [("update", before["id"])]  # type: ignore[index]
    assert world.webex_user("eva.novak@example.com") is None
    after = world.webex_user("eva.novak-smith@example.com")
    assert after is not None and after["id"] == before["id"]  # type: ignore[index]
    work = [e for e in after["emails"] if e.get("type") == "work"]
    assert work[0]["value"] == "eva.novak-smith@example.com"


def test_two_directory_users_sharing_an_email_are_both_conflicts(world: World) -> None:
    """Two directory users with one e-mail: neither is created, both are reported as conflicts."""
    world.slapd.modify(world.corp.person("gmoore").dn, {"mail": [b"Eva.Novak@example.com"]})
    report = world.sync()
    conflicts = {p.anchor for p in report.plan.problems if p.kind is ProblemKind.CONFLICT}
    assert conflicts == {world.corp.person("gmoore").entry_uuid, world.corp.person("enovak").entry_uuid}
    assert world.webex_user("eva.novak@example.com") is None
    assert report.exit_code == EXIT_USERS_FAILED


def test_reused_address_linked_to_another_anchor_is_a_conflict(world: World) -> None:
    """A new directory user taking a departed user's address never gets the departed user's account."""
    world.sync()
    old = world.corp.person("gmoore")
    world.slapd.delete(old.dn)
    world.sync()  # grace disabled
    world.slapd.add(
        f"dn: uid=grace2,ou=people,{world.slapd.suffix}\nobjectClass: inetOrgPerson\nuid: grace2\n"
        "cn: Grace Moore\nsn: Moore\ngivenName: Grace\nmail: grace.moore@example.com\n"
    )
    world.slapd.modify(
        world.corp.targeted_group,
        [("add", "member", [f"uid=grace2,ou=people,{world.slapd.suffix}".encode()])],
    )
    report = world.sync()
    conflict = [p for p in report.plan.problems if p.kind is ProblemKind.CONFLICT]
    assert len(conflict) == 1 and "users forget" in conflict[0].detail
    assert world.webex_user("grace.moore@example.com")["active"] is False  # type: ignore[index]
    # The operator confirms the address was reused and forgets the old link: the next cycle links.
    result = world.cli("users", "forget", old.entry_uuid, "--yes")
    assert result.exit_code == 0, result.output
    report = world.sync()
    assert {(a.kind.value, a.reason.value) for a in report.plan.actions} >= {("link", "matched_existing")}


def test_protected_users_are_never_touched(world: World) -> None:
    """Protected users are not created, and a linked protected user deleted from the directory stays."""
    world.configure(
        provisioning={"protected": ["grace.moore@example.com", world.corp.person("enovak").entry_uuid]}
    )
    world.sync()
    assert world.webex_user("grace.moore@example.com") is None
    assert world.webex_user("eva.novak@example.com") is None
    world.configure(
        provisioning={"protected": ["rachel.chen@example.com"]},
        safety={"max_deprovisions": {"count": None, "percent": None}},
    )
    world.sync()
    engineering = f"cn=engineering,ou=groups,{world.slapd.suffix}"
    world.slapd.modify(world.corp.targeted_group, [("delete", "member", [engineering.encode()])])
    report = world.sync()
    touched = {a.email for a in report.plan.actions}
    assert "rachel.chen@example.com" not in touched
    assert world.webex_user("rachel.chen@example.com")["active"] is True  # type: ignore[index]
    assert "jun.nakamura@example.com" in touched  # the rest of engineering left scope


def test_per_user_failure_does_not_stop_the_cycle(world: World) -> None:
    """A Webex error on one user (here on its lookup) fails that user only; every other user is
    provisioned; exit code 3; the next cycle provisions the failed one."""
    world.configure(webex={"concurrency": 1})
    world.emulator.faults.fail_next(1, status=400)
    report = world.sync()
    failed = [p for p in report.plan.problems if p.kind is ProblemKind.FAILED]
    assert len(failed) == 1 and "400" in failed[0].detail
    assert report.exit_code == EXIT_USERS_FAILED
    expected = emails(world, world.corp.in_scope - world.corp.disabled)
    assert set(world.webex_users()) == expected - {failed[0].email}
    world.sync()
    assert set(world.webex_users()) == expected


def test_failed_write_is_recorded_and_retried_next_cycle(world: World) -> None:
    """A create Webex rejects is recorded as failed with the error; other users proceed."""
    world.configure(webex={"concurrency": 1})
    world.sync()
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"x" * 40]})
    world.slapd.modify(world.corp.person("gmoore").dn, {"title": [b"Lead"]})
    world.emulator.faults.fail_next(1, status=400)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 1
    assert report.exit_code == EXIT_USERS_FAILED
    titles = {world.webex_user(e)["title"] for e in ("eva.novak@example.com", "grace.moore@example.com")}  # type: ignore[index]
    assert len(titles & {"x" * 40, "Lead"}) == 1
    result = world.cli("status", "--json")
    assert "injected failure" in result.output
    world.sync()
    assert world.webex_user("grace.moore@example.com")["title"] == "Lead"  # type: ignore[index]
    assert world.webex_user("eva.novak@example.com")["title"] == "x" * 40  # type: ignore[index]


def test_every_create_is_preceded_by_a_lookup_by_email(world: World) -> None:
    """Each POST of a new user follows a GET filtered on its userName."""
    world.configure(webex={"concurrency": 1})
    world.sync()
    log = world.emulator.request_log
    posts = [i for i, r in enumerate(log) if r[0] == "POST"]
    lookups = [i for i, r in enumerate(log) if r[0] == "GET" and r[1].endswith("/Users")]
    assert posts and len(lookups) >= len(posts)
    assert max(lookups) < min(posts)


def test_429_is_honoured_and_the_cycle_finishes(world: World) -> None:
    """Rate-limited answers (429 with Retry-After) are waited out; every user ends provisioned."""
    world.emulator.faults.throttle_next(5, retry_after=1)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    assert set(world.webex_users()) == emails(world, world.corp.in_scope - world.corp.disabled)
    assert sum(1 for r in world.emulator.request_log if r[2] == 429) == 5


def test_404_on_delete_counts_as_done(world: World) -> None:
    """Deleting a user someone already deleted in Webex succeeds and drops the link."""
    world.configure(provisioning={"on_deleted": "delete"})
    world.sync()
    user = world.webex_user("grace.moore@example.com")
    assert user is not None
    world.delete_webex_user(user["id"])
    world.slapd.delete(world.corp.person("gmoore").dn)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    assert report.exit_code in (EXIT_OK, EXIT_USERS_FAILED)
    assert not [a for a, _ in report.applied.failures]


def test_webex_user_deleted_outside_is_recreated_on_next_update(world: World) -> None:
    """Drift: a linked Webex user deleted by someone else is re-created when it next needs a write."""
    world.sync()
    user = world.webex_user("eva.novak@example.com")
    assert user is not None
    world.delete_webex_user(user["id"])
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Principal"]})
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    again = world.webex_user("eva.novak@example.com")
    assert again is not None and again["id"] != user["id"] and again["title"] == "Principal"


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


def test_plan_before_any_sync_creates_no_state_file(world: World) -> None:
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


def test_attributes_set_by_hand_in_webex_survive_linking(world: World) -> None:
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
