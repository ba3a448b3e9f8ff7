"""End to end against Active Directory (Samba) and the Webex emulator: the lifecycle of
docs/lifecycle.md with the activedirectory preset, in full and incremental cycles, and ``check``."""

from __future__ import annotations

import json

import ldap
import pytest

from tests.ad.conftest import AdWorld
from webex_provisioner.engine.report import EXIT_OK, CycleReport
from webex_provisioner.engine.wiring import open_engine, open_feed
from webex_provisioner.model import CycleKind
from webex_provisioner.service.lease import cycle_lock

pytestmark = [pytest.mark.ad, pytest.mark.timeout(240)]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def sync(world: AdWorld, *, full: bool = False) -> CycleReport:
    """One cycle with the configured change feed, as ``webex-provisioner sync`` runs it."""
    config = world.config
    with open_engine(config) as engine, cycle_lock(engine.store, "test"):
        feed = open_feed(config, engine.directory)
        try:
            return engine.cycle().run(apply=True, feed=feed, full=full)
        finally:
            if feed is not None:
                feed.close()


def reasons(report: CycleReport) -> set[tuple[str, str, str]]:
    return {(a.email, a.kind.value, a.reason.value) for a in report.plan.actions}


@pytest.mark.parametrize("detection", ["dirsync", "usn"])
def test_lifecycle_full_then_incremental(ad_world: AdWorld, detection: str) -> None:
    """First cycle (full): the enabled members of the targeted group, nested through a cycle,
    are created with the preset's mapping (manager as the manager's Webex id, the objectGUID as
    externalId); disabled and non-members are not. Second cycle (incremental): a disabled account
    is disabled, a deleted user (tombstone) is disabled, an e-mail change updates userName on the
    same Webex user, and a move between OUs changes nothing in Webex."""
    tree = ad_world.tree
    ann = tree.user(
        "ann", title="Engineer", department="R&D", telephoneNumber="+1 555 0100", mobile="+1 555 0199"
    )
    ben, eve, fay = tree.user("ben", manager=ann), tree.user("eve"), tree.user("fay")
    tree.user("cid", disabled=True)
    tree.user("dan")
    inner = tree.dc.add_group(tree.groups, "inner", [ben])
    target = tree.dc.add_group(tree.groups, "webex", [ann, inner, eve, fay, f"CN=cid,{tree.people}"])
    tree.dc.modify(inner, [(ldap.MOD_ADD, "member", target)])  # a cycle
    sub = tree.dc.add_ou("sub", tree.people)
    ad_world.configure(directory={"scope": {"groups": [target]}, "change_detection": detection})

    first = sync(ad_world)
    assert first.error is None and first.kind is CycleKind.FULL
    users = ad_world.webex_users()
    assert set(users) == {"ann@example.test", "ben@example.test", "eve@example.test", "fay@example.test"}
    ann_webex = users["ann@example.test"]
    assert ann_webex["title"] == "Engineer"
    assert ann_webex[ENTERPRISE]["department"] == "R&D"
    assert {p["type"]: p["value"] for p in ann_webex["phoneNumbers"]} == {
        "work": "+1 555 0100",
        "mobile": "+1 555 0199",
    }
    assert ann_webex["externalId"] == tree.dc.guid(ann)
    assert users["ben@example.test"][ENTERPRISE]["manager"]["value"] == ann_webex["id"]
    ben_id = users["ben@example.test"]["id"]

    tree.dc.set_disabled(ann, True)
    tree.dc.modify(ben, [(ldap.MOD_REPLACE, "mail", "benjamin@example.test")])
    tree.dc.delete(fay)
    moved = tree.dc.move(eve, sub)
    second = sync(ad_world)

    assert second.error is None and second.exit_code == EXIT_OK
    assert second.kind is CycleKind.INCREMENTAL
    assert reasons(second) == {
        ("ann@example.test", "disable", "disabled_in_directory"),
        ("fay@example.test", "disable", "deleted_in_directory"),
        ("benjamin@example.test", "update", "attributes_changed"),
    }
    users = ad_world.webex_users()
    assert not users["ann@example.test"]["active"] and not users["fay@example.test"]["active"]
    assert users["benjamin@example.test"]["id"] == ben_id and "ben@example.test" not in users
    assert users["eve@example.test"]["active"]
    with open_engine(ad_world.config, read_only=True) as engine:
        assert engine.store.get_link(tree.dc.guid(moved)).dn == moved  # type: ignore[union-attr]


def test_user_moved_out_of_the_base_dn_leaves_scope_incrementally(ad_world: AdWorld) -> None:
    """A provisioned user moved to an OU outside the base DN is disabled as left_scope by the
    next incremental cycle (not deleted_in_directory), and re-enabled when moved back."""
    tree = ad_world.tree
    ann = tree.user("ann")
    tree.user("ben")
    assert sync(ad_world).kind is CycleKind.FULL
    away = tree.dc.move(ann, tree.others)
    left = sync(ad_world)
    assert left.kind is CycleKind.INCREMENTAL
    assert reasons(left) == {("ann@example.test", "disable", "left_scope")}
    tree.dc.move(away, tree.people)
    back = sync(ad_world)
    assert ("ann@example.test", "reactivate", "re_entered_scope") in reasons(back)
    assert ad_world.webex_user("ann@example.test")["active"]  # type: ignore[index]


def test_check_reports_the_server_and_its_change_detection(ad_world: AdWorld) -> None:
    """check names the server kind, DirSync and the in-chain rule as available, and says DirSync
    will be used; --json carries the same keys."""
    ad_world.tree.user("ann")
    result = ad_world.cli("check")
    assert result.exit_code == 0, result.output
    assert "server_kind: activedirectory" in result.output
    assert "in_chain: yes" in result.output
    assert "dirsync: yes" in result.output
    assert "change_detection: DirSync" in result.output
    as_json = ad_world.cli("check", "--json")
    directory = json.loads(as_json.stdout)["directory"]
    assert directory["vendor"].startswith("Samba")
    assert directory["users"] == 1 and directory["in_scope"] == 1
