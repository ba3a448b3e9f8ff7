"""Webex groups from directory groups, end to end: a real slapd holding Example Corp and the
Webex emulator over HTTP (the rules are proven on the fakes in tests/engine/test_groups_on_fakes.py
and tests/rules/test_groups.py)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import WEBEX_TOKEN, World
from webex_provisioner.engine.report import EXIT_OK, EXIT_USERS_FAILED

ENGINEERING = "cn=engineering,ou=groups,dc=example,dc=com"
SALES = "cn=sales,ou=groups,dc=example,dc=com"
GROUPS = {"groups": {"base_dn": "ou=groups,dc=example,dc=com", "filter": "(|(cn=engineering)(cn=sales))"}}


def webex_groups(world: World) -> dict[str, dict[str, Any]]:
    return {g["displayName"]: g for g in world.emulator.groups()}


def member_emails(world: World, name: str) -> set[str]:
    group = webex_groups(world)[name]
    emails = {u["id"]: u["userName"].lower() for u in world.emulator.users()}
    return {emails[m] for m in world.emulator.group_members(group["id"])}


def expected(world: World, *uids: str) -> set[str]:
    return {world.person_mail(uid).lower() for uid in uids}


def test_selected_groups_are_pushed_with_their_provisioned_members(world: World) -> None:
    """The first sync creates the users, then one Webex group per selected directory group whose
    members are the provisioned users among its members, nested groups flattened (the
    engineering <-> sre cycle is cut and reported); the next sync has nothing to do."""
    world.configure(**GROUPS)
    report = world.sync()
    assert report.exit_code == EXIT_USERS_FAILED  # Example Corp has users left alone, and the cycle
    assert {a.kind.value for a in report.plan.groups} == {"create_group"}
    assert set(webex_groups(world)) == {"engineering", "sales"}
    engineering = {p.uid for p in world.corp.people if p.dn in _members(world, ENGINEERING)}
    provisioned = {u for u in engineering if world.webex_user(world.corp.person(u).mail or "") is not None}
    assert member_emails(world, "engineering") == expected(world, *provisioned)
    assert any("membership cycle" in p.detail for p in report.plan.problems if p.resource == "group")
    again = world.sync()
    assert again.plan.groups == () and again.plan.groups_read == 0  # nothing changed: not even read
    assert any("membership cycle" in p.detail for p in again.plan.problems if p.resource == "group")


def _members(world: World, group_dn: str) -> set[str]:
    """The user DNs a directory group holds, nested groups flattened (the sandbox's view)."""
    group = next(g for g in world.corp.groups if g.dn == group_dn)
    found: set[str] = set()
    for dn in group.members:
        nested = next((g for g in world.corp.groups if g.dn == dn), None)
        if nested is not None and dn != group_dn:
            found |= {m for m in nested.members if not m.startswith("cn=")}
        else:
            found.add(dn)
    return found


def test_membership_and_names_follow_the_directory(world: World) -> None:
    """A member removed from the directory group is removed from the Webex group, one added is
    added, and a renamed directory group renames the same Webex group."""
    world.configure(**GROUPS)
    world.sync()
    sales = next(g for g in world.corp.groups if g.dn == SALES)
    leaver = next(dn for dn in sales.members if world.webex_user(_mail(world, dn)) is not None)
    world.slapd.modify(SALES, [("delete", "uniqueMember", [leaver])])
    report = world.sync()
    assert [a.kind.value for a in report.plan.groups] == ["remove_members"]
    assert _mail(world, leaver) not in member_emails(world, "sales")
    old_id = webex_groups(world)["sales"]["id"]
    world.slapd.rename(SALES, "cn=sales-emea")
    world.configure(groups={"filter": "(|(cn=engineering)(cn=sales*))"})
    renamed = world.sync()
    assert [a.kind.value for a in renamed.plan.groups] == ["rename_group"]
    assert webex_groups(world)["sales-emea"]["id"] == old_id


def _mail(world: World, dn: str) -> str:
    person = next(p for p in world.corp.people if p.dn == dn)
    return (person.mail or "").lower()


def test_an_existing_webex_group_is_linked_not_created_again(world: World) -> None:
    """A Webex group created by hand with the same name (another case) is linked; nothing is
    created twice."""
    world.configure(**GROUPS)
    response = httpx.post(
        f"{world.emulator.scim_url}/Groups",
        headers={"Authorization": f"Bearer {WEBEX_TOKEN}"},
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "SALES"},
    )
    assert response.status_code == 201, response.text
    report = world.sync()
    kinds = {(a.kind.value, a.name) for a in report.plan.groups}
    assert ("link_group", "sales") in kinds and ("create_group", "sales") not in kinds
    assert sorted(g["displayName"] for g in world.emulator.groups()) == ["SALES", "engineering"]


def test_a_group_change_is_found_by_an_incremental_sync(world: World) -> None:
    """With content sync, a membership change reaches Webex in the next (incremental) sync: a
    user already in scope added to the pushed sales group joins its Webex group."""
    world.configure(**GROUPS)
    assert world.cli("sync").exit_code in (EXIT_OK, EXIT_USERS_FAILED)
    sales = next(g for g in world.corp.groups if g.dn == SALES)
    targeted = next(g for g in world.corp.groups if g.cn == "webex-users")
    joiner = next(
        dn
        for dn in targeted.members
        if dn.startswith("uid=")
        and dn not in sales.members
        and world.webex_user(_mail(world, dn)) is not None
    )
    world.slapd.modify(SALES, [("add", "uniqueMember", [joiner])])
    result = world.cli("sync", "--json")
    assert '"kind": "incremental"' in result.output, result.output
    assert _mail(world, joiner) in member_emails(world, "sales")


def test_groups_list_and_show(world: World) -> None:
    """groups list names the pushed groups; groups show lists expected, in-Webex and skipped
    members with why."""
    world.configure(**GROUPS)
    world.sync()
    listed = world.cli("groups", "list")
    assert listed.exit_code == 0 and "engineering" in listed.output and "sales" in listed.output
    shown = world.cli("groups", "show", "sales", "--json")
    assert shown.exit_code == 0, shown.output
    assert '"expected"' in shown.output and '"in_webex"' in shown.output
