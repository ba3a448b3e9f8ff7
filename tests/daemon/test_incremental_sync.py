"""``sync`` without ``--full`` is incremental once a watermark is stored: it reads what changed
(content sync with a session log here), and falls back to a full read only when it must."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import World
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.changes import open_change_feed
from webex_provisioner.engine.wiring import open_engine, open_feed
from webex_provisioner.sandbox.company import WITHOUT_MAIL
from webex_provisioner.service.lease import cycle_lock

PEOPLE = "ou=people,dc=example,dc=com"
GROUPS = "ou=groups,dc=example,dc=com"


def sync(world: World, *args: str) -> dict[str, Any]:
    result = world.cli("sync", "--json", *args)
    assert result.exit_code in (0, 3, 4), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def actions(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(a["action"], a["email"], a["reason"]) for a in report["plan"]["actions"]]


def test_second_sync_reads_only_what_changed(world: World) -> None:
    """After a first (full) sync, the next one is incremental and plans only the changed user."""
    assert sync(world)["kind"] == "full"
    world.slapd.modify(f"uid=jdavis,{PEOPLE}", {"title": "Principal Support Engineer"})
    report = sync(world)
    email = world.person_mail("jdavis")
    assert report["kind"] == "incremental"
    assert actions(report) == [("update", email, "attributes_changed")]
    assert (world.webex_user(email) or {})["title"] == "Principal Support Engineer"
    assert sync(world, "--full")["kind"] == "full"


def test_deleted_user_is_deprovisioned_by_an_incremental_sync(world: World) -> None:
    """A delete reported by the session log disables the linked Webex user (deleted_in_directory)."""
    sync(world)
    world.slapd.delete(f"uid=ylevi,{PEOPLE}")
    report = sync(world)
    assert report["kind"] == "incremental"
    assert actions(report) == [("disable", world.person_mail("ylevi"), "deleted_in_directory")]


def test_delete_during_a_directory_restart_is_found_by_comparison(world: World) -> None:
    """Without the session log (lost in a restart), the deleted user is still found and disabled."""
    sync(world)
    world.slapd.delete(f"uid=cobi,{PEOPLE}")
    world.slapd.restart()
    report = sync(world)
    assert ("disable", world.person_mail("cobi"), "deleted_in_directory") in actions(report)
    assert (world.webex_user(world.person_mail("cobi")) or {})["active"] is False


def test_group_change_seen_by_a_new_process_is_applied(world: World) -> None:
    """A group removal between two one-off syncs takes the user out of scope (by a full read, as
    a new process cannot know the earlier membership)."""
    sync(world)
    world.slapd.modify(f"cn=webex-users,{GROUPS}", [("delete", "member", f"uid=ptaylor,{PEOPLE}")])
    report = sync(world)
    assert report["kind"] == "full"
    assert actions(report) == [("disable", world.person_mail("ptaylor"), "left_scope")]


def test_configuration_change_makes_the_next_sync_full(world: World) -> None:
    """A changed mapping invalidates the watermark: the next sync reads (and updates) everyone."""
    sync(world)
    world.configure(mapping={**world.raw["mapping"], "department": "employeeNumber"})
    report = sync(world)
    assert report["kind"] == "full"
    assert sum(1 for a in actions(report) if a[0] == "update") > 50


def test_failed_update_is_retried_by_the_next_incremental_sync(world: World) -> None:
    """An update Webex refused is tried again by the next sync, though nothing changed since."""
    sync(world)
    world.slapd.modify(f"uid=wchang,{PEOPLE}", {"title": "Escalations Lead"})
    world.emulator.faults.fail_next(1, status=400)
    first = sync(world)
    assert first["kind"] == "incremental" and [f["action"] for f in first["failures"]] == ["update"]
    second = sync(world)
    assert second["kind"] == "incremental" and second["failures"] == []
    assert (world.webex_user(world.person_mail("wchang")) or {})["title"] == "Escalations Lead"


def test_held_deprovisions_stay_held_then_apply_on_approval(world: World) -> None:
    """Deletes beyond the guard are held by an incremental sync, stay held, and apply on approval."""
    world.configure(safety={"max_deprovisions": {"count": 1, "percent": None}})
    sync(world)
    for uid in ("fahmed", "sbrennan"):
        world.slapd.delete(f"uid={uid},{PEOPLE}")
    held = world.cli("sync")
    assert held.exit_code == 4, held.output
    again = sync(world)
    assert again["kind"] == "incremental" and len(again["plan"]["held"]) == 2
    approved = sync(world, "--approve-held")
    assert sorted(a[0] for a in actions(approved)) == ["disable", "disable"]
    assert all(not (world.webex_user(world.person_mail(u)) or {})["active"] for u in ("fahmed", "sbrennan"))


def test_shared_email_is_a_conflict_in_an_incremental_sync(world: World) -> None:
    """A user changed to another user's e-mail is reported with that user as a conflict, not applied."""
    sync(world)
    taken = world.person_mail("tbakker")
    world.slapd.modify(f"uid=jdavis,{PEOPLE}", {"mail": taken})
    report = sync(world)
    assert report["kind"] == "incremental" and actions(report) == []
    conflicts = {p["anchor"] for p in report["plan"]["problems"] if p["kind"] == "conflict"}
    assert conflicts == {world.corp.person("jdavis").entry_uuid, world.corp.person("tbakker").entry_uuid}


def test_deprovisions_of_small_incremental_cycles_share_the_guard(world: World) -> None:
    """Many small incremental cycles of one daemon together stay within safety.max_deprovisions."""
    world.configure(safety={"max_deprovisions": {"count": 1, "percent": None}})
    with open_engine(world.config) as engine, cycle_lock(engine.store, "test"):
        cycle, feed = engine.cycle(), open_feed(world.config, engine.directory)
        assert feed is not None
        cycle.run(apply=True, feed=feed)
        world.slapd.delete(f"uid=ejones,{PEOPLE}")
        first = cycle.run(apply=True, feed=feed)
        world.slapd.delete(f"uid=lfischer,{PEOPLE}")
        second = cycle.run(apply=True, feed=feed)
        feed.close()
    assert [a.kind.value for a in first.plan.actions] == ["disable"] and not first.plan.held
    assert not second.plan.actions and [a.kind.value for a in second.plan.held] == ["disable"]


def test_reset_makes_the_next_sync_full(world: World) -> None:
    """After 'reset' drops the links, the next sync reads everyone and links them again."""
    sync(world)
    assert world.cli("reset", "--yes").exit_code == 0
    report = sync(world)
    assert report["kind"] == "full"
    assert sum(1 for a in actions(report) if a[0] == "link") > 50


def test_forgotten_link_is_matched_again_by_an_incremental_sync(world: World) -> None:
    """A link dropped by 'users forget' is re-made by the next (incremental) sync, by e-mail."""
    sync(world)
    email = world.person_mail("rsato")
    assert world.cli("users", "forget", email, "--yes").exit_code == 0
    report = sync(world)
    assert report["kind"] == "incremental"
    assert actions(report) == [("link", email, "matched_existing")]


def test_users_left_alone_stay_reported_by_incremental_cycles(world: World) -> None:
    """A user reported by a full cycle (no e-mail) stays reported, exit 3, by the incremental
    cycles after it until it is fixed; then it is provisioned and the report is clean."""
    first = world.cli("sync", "--json")
    assert first.exit_code == 3, first.output
    again = world.cli("sync", "--json")
    data = json.loads(again.stdout)
    assert data["kind"] == "incremental" and again.exit_code == 3
    assert [p["anchor"] for p in data["plan"]["problems"]] == [world.corp.person(WITHOUT_MAIL).entry_uuid]
    world.slapd.modify(world.corp.person(WITHOUT_MAIL).dn, {"mail": [b"akosua.mensah@example.com"]})
    fixed = world.cli("sync", "--json")
    data = json.loads(fixed.stdout)
    assert data["kind"] == "incremental" and fixed.exit_code == 0, fixed.output
    assert data["plan"]["problems"] == []
    assert world.webex_user("akosua.mensah@example.com") is not None


def test_a_full_read_labels_with_the_membership_of_its_watermark(world: World) -> None:
    """The full read after ``mark`` labels scope with the membership the watermark describes
    (expanded once, by the feed): a user who leaves the group in between is still in scope for
    that read, and the next incremental read sees the move and takes them out."""
    config = world.config
    member = f"uid=ptaylor,{PEOPLE}"
    with LdapDirectory(config.directory, ["mail"]) as directory:
        feed = open_change_feed(config.directory, directory)
        assert feed is not None
        try:
            watermark = feed.mark()
            world.slapd.modify(f"cn=webex-users,{GROUPS}", [("delete", "member", member)])
            read = {u.dn: u for u in directory.read_users()}
            assert read[member].in_scope
            changes = feed.changes(watermark)
            assert not changes.full
            moved = {u.dn: u for u in changes.changed}
            assert member in moved and not moved[member].in_scope
            again = {u.dn: u for u in directory.read_users()}  # no membership handed over: expands
            assert not again[member].in_scope
        finally:
            feed.close()
