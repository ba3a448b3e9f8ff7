"""Licences by rule, end to end: a real slapd holding Example Corp (group and filter labels are
computed by the server) and the Webex emulator's licences API over HTTP. The decisions are
proven on the fakes (tests/engine/test_licenses_on_fakes.py, tests/rules/test_licenses.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import World
from webex_provisioner.engine.report import EXIT_OK, EXIT_USERS_FAILED

MEETINGS, MESSAGING = "Webex Meetings - Enterprise", "Webex Messaging"
SALES = "cn=sales,ou=groups,dc=example,dc=com"
RULES: dict[str, Any] = {
    "licenses": {
        "rules": [
            {"when": {"everyone": True}, "assign": [MEETINGS]},
            {"when": {"group": SALES}, "assign": [MESSAGING]},
            {"when": {"filter": "(departmentNumber=42)"}, "assign": [MESSAGING]},
        ]
    }
}


def setup(world: World, meetings: int = 500, messaging: int = 500) -> None:
    world.emulator.add_license(MEETINGS, meetings)
    world.emulator.add_license(MESSAGING, messaging)
    world.configure(**RULES)


def held(world: World, email: str) -> set[str]:
    user = world.webex_user(email)
    assert user is not None, email
    names = {lic["id"]: lic["name"] for lic in world.emulator.licenses()}
    return {names[i] for i in world.emulator.user_licenses(user["id"])}


def licence_requests(world: World) -> int:
    paths = [entry[1] for entry in world.emulator.request_log]
    return sum(1 for path in paths if "/v1/licenses" in path or "/v1/people" in path)


def provisioned(world: World) -> set[str]:
    return {email for email, user in world.webex_users().items() if user.get("active", True)}


def mail_of(world: World, dn: str) -> str:
    person = next(p for p in world.corp.people if p.dn.lower() == dn.lower())
    assert person.mail is not None
    return person.mail.lower()


def test_rules_give_licences_by_group_filter_and_everyone(world: World) -> None:
    """After the first sync every provisioned user holds Meetings, and Messaging exactly when it
    is in the sales group or its entry matches the filter; the next sync sends no licence
    request."""
    setup(world)
    report = world.sync()
    assert report.exit_code in (EXIT_OK, EXIT_USERS_FAILED)  # Example Corp has users left alone
    sales = {mail_of(world, dn) for dn in world.corp.group("sales").members if dn.startswith("uid=")}
    dept42 = {p.mail.lower() for p in world.corp.people if p.mail and p.department == "42"}
    users = provisioned(world)
    assert users
    for email in users:
        wanted = {MEETINGS} | ({MESSAGING} if email in sales | dept42 else set())
        assert held(world, email) == wanted, email
    assert users & sales and users & dept42
    before = licence_requests(world)
    again = world.sync()
    assert again.plan.licenses == () and licence_requests(world) == before


def test_membership_and_filter_changes_reach_licences_in_the_next_sync(world: World) -> None:
    """Adding a user to the sales group assigns it Messaging in the next sync (a full read in a
    new process, which cannot tell whose membership moved; ``run`` does it incrementally:
    tests/daemon/test_run_licenses.py), and a user whose departmentNumber no longer matches the
    filter gives Messaging back in an incremental sync."""
    setup(world)
    assert world.cli("sync").exit_code in (EXIT_OK, EXIT_USERS_FAILED)
    sales = set(world.corp.group("sales").members)
    others = [
        p for p in world.corp.people if p.mail and p.mail.lower() in provisioned(world) and p.dn not in sales
    ]
    joiner = next(p for p in others if p.department != "42")
    world.slapd.modify(SALES, [("add", "uniqueMember", [joiner.dn])])
    assert world.cli("sync").exit_code in (EXIT_OK, EXIT_USERS_FAILED)
    assert held(world, joiner.mail or "") == {MEETINGS, MESSAGING}
    leaver = next(p for p in others if p.department == "42")
    assert held(world, leaver.mail or "") == {MEETINGS, MESSAGING}
    world.slapd.modify(leaver.dn, [("replace", "departmentNumber", ["43"])])
    result = world.cli("sync", "--json")
    assert json.loads(result.stdout)["kind"] == "incremental", result.output
    assert held(world, leaver.mail or "") == {MEETINGS}


def test_capacity_shortfall_is_reported_and_nothing_beyond_is_sent(world: World) -> None:
    """With 2 units of Messaging, 2 users get it and the others are reported left without
    (exit 3); the emulator never refuses a request for lack of units."""
    setup(world, messaging=2)
    report = world.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    shortfalls = [p for p in report.plan.problems if p.kind.value == "shortfall"]
    assert shortfalls and all("no free units of Webex Messaging" in p.detail for p in shortfalls)
    capacity = {row.name: row for row in report.plan.capacity}
    assert capacity[MESSAGING].assign == 2 and capacity[MESSAGING].shortfall == len(shortfalls)
    licences = {lic["name"]: lic for lic in world.emulator.licenses()}
    assert licences[MESSAGING]["consumedUnits"] == 2
    assert not (report.applied and report.applied.failures)


def test_licenses_command_check_and_explain(world: World) -> None:
    """``licenses`` lists the units and what was assigned here; ``users explain`` gives a user's
    licences with the rule; ``check`` fails on a rule naming a licence that does not exist,
    listing those that do."""
    setup(world)
    world.sync()
    listed = json.loads(world.cli("licenses", "--json").stdout)
    by_name = {lic["name"]: lic for lic in listed["licenses"]}
    assert by_name[MEETINGS]["assigned_by_webex_provisioner"] == len(provisioned(world))
    assert by_name[MESSAGING]["rules"] == [2, 3]
    text = world.cli("licenses").output
    assert "Webex Messaging" in text and "assigned here" in text
    someone = sorted(provisioned(world))[0]
    explained = json.loads(world.cli("users", "explain", someone, "--json").stdout)["licenses"]
    assert {"name": MEETINGS, "why": "rule 1 (everyone)"} in explained["wanted"]
    assert MEETINGS in explained["held_in_webex"]
    world.configure(licenses={"rules": [{"when": {"everyone": True}, "assign": ["Webex Teams"]}]})
    checked = world.cli("check")
    assert checked.exit_code != 0
    assert "no licence named 'Webex Teams'" in checked.output and MESSAGING in checked.output
