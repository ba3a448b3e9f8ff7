"""``sync`` without ``--full`` is incremental once a watermark is stored: it reads what changed
(content sync with a session log here), and falls back to a full read only when it must. These
tests prove the LDAP feed with the engine and the command line, against slapd and the emulator;
what the engine does with any feed's changes runs on the in-memory fakes
(tests/engine/test_incremental.py, tests/engine/test_cycle_on_fakes.py)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import World
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.changes import open_change_feed

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


def test_shared_email_is_a_conflict_in_an_incremental_sync(world: World) -> None:
    """A user changed to another user's e-mail is reported with that user as a conflict, not applied."""
    sync(world)
    taken = world.person_mail("tbakker")
    world.slapd.modify(f"uid=jdavis,{PEOPLE}", {"mail": taken})
    report = sync(world)
    assert report["kind"] == "incremental" and actions(report) == []
    conflicts = {p["anchor"] for p in report["plan"]["problems"] if p["kind"] == "conflict"}
    assert conflicts == {world.corp.person("jdavis").entry_uuid, world.corp.person("tbakker").entry_uuid}


def test_forgotten_link_is_matched_again_by_an_incremental_sync(shared_world: World) -> None:
    world = shared_world
    """A link dropped by 'users forget' is re-made by the next (incremental) sync, by e-mail."""
    sync(world)
    email = world.person_mail("rsato")
    assert world.cli("users", "forget", email, "--yes").exit_code == 0
    report = sync(world)
    assert report["kind"] == "incremental"
    assert actions(report) == [("link", email, "matched_existing")]


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
