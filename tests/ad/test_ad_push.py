"""Groups and licences end to end against Active Directory (Samba) and the Webex emulator: a
security group (with a nested group) pushed with its provisioned members and a distribution
group left alone; a licence by group; a member added later reaches the Webex group and gets
the licence in the next cycle."""

from __future__ import annotations

import ldap
import pytest

from tests.ad.conftest import AdWorld
from tests.ad.test_ad_lifecycle import sync
from webex_provisioner.model import CycleKind

pytestmark = [pytest.mark.ad, pytest.mark.timeout(240)]

GLOBAL_DISTRIBUTION = "2"
MESSAGING = "Webex Messaging"


def members(world: AdWorld, name: str) -> set[str]:
    group = next(g for g in world.emulator.groups() if g["displayName"] == name)
    emails = {u["id"]: u["userName"].lower() for u in world.emulator.users()}
    return {emails[m] for m in world.emulator.group_members(group["id"])}


def licensed(world: AdWorld) -> set[str]:
    licence = next(lic for lic in world.emulator.licenses() if lic["name"] == MESSAGING)
    return {
        u["userName"].lower()
        for u in world.emulator.users()
        if licence["id"] in world.emulator.user_licenses(u["id"])
    }


def test_security_groups_and_licences_follow_active_directory(ad_world: AdWorld) -> None:
    """The first cycle pushes webex-sales with its members (nested group flattened) and not the
    distribution group, and gives its members Messaging; a user added to the nested group joins
    the Webex group and gets Messaging in the next cycle (a full read in a new process, which
    cannot tell whose membership moved)."""
    tree = ad_world.tree
    ann, ben, cid = tree.user("ann"), tree.user("ben"), tree.user("cid")
    inner = tree.dc.add_group(tree.groups, "sales-emea", [ben])
    sales = tree.dc.add_group(tree.groups, "webex-sales", [ann, inner])
    tree.dc.add(
        f"CN=webex-newsletter,{tree.groups}",
        {
            "objectClass": "group",
            "sAMAccountName": "webex-newsletter",
            "groupType": GLOBAL_DISTRIBUTION,
            "member": ann,
        },
    )
    target = tree.dc.add_group(tree.groups, "webex", [ann, ben, cid])
    ad_world.emulator.add_license(MESSAGING, 10)
    ad_world.configure(
        directory={"scope": {"groups": [target]}, "change_detection": "dirsync"},
        groups={"base_dn": tree.groups, "filter": "(cn=webex-*)", "name": "cn"},
        licenses={"rules": [{"when": {"group": sales}, "assign": [MESSAGING]}]},
    )
    first = sync(ad_world)
    assert first.error is None and first.kind is CycleKind.FULL
    names = {g["displayName"] for g in ad_world.emulator.groups()}
    assert "webex-sales" in names and "webex-newsletter" not in names
    assert members(ad_world, "webex-sales") == {"ann@example.test", "ben@example.test"}
    assert licensed(ad_world) == {"ann@example.test", "ben@example.test"}

    tree.dc.modify(inner, [(ldap.MOD_ADD, "member", cid)])
    second = sync(ad_world)
    assert second.error is None
    assert members(ad_world, "webex-sales") == {"ann@example.test", "ben@example.test", "cid@example.test"}
    assert licensed(ad_world) == {"ann@example.test", "ben@example.test", "cid@example.test"}
