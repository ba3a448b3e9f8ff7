"""Active Directory change feeds against Samba: uSNChanged (pinned DC, tombstones) and DirSync."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import ldap
import pytest
from structlog.testing import capture_logs

from tests.ad.conftest import Tree, ad_directory
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.ad_changes import AdChangeFeed, open_ad_change_feed
from webex_provisioner.directory.connection import Connection
from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.ports import ChangeSet

pytestmark = [pytest.mark.ad, pytest.mark.timeout(180)]

MAPPED = ["mail", "givenName", "sn", "title"]


def names(changes: ChangeSet) -> dict[str, Any]:
    return {u.dn.split(",", 1)[0][3:]: u for u in changes.changed}


@pytest.fixture(params=["usn", "dirsync"])
def feed(request: pytest.FixtureRequest, tree: Tree) -> Iterator[AdChangeFeed]:
    """Each test runs against both feeds (Administrator has the DirSync right)."""
    config = ad_directory(tree, change_detection=request.param)
    with LdapDirectory(config, MAPPED) as directory:
        opened = open_ad_change_feed(config, directory)
        assert opened.kind == request.param
        yield opened
        opened.close()


def test_first_changes_are_a_full_read(tree: Tree, feed: AdChangeFeed) -> None:
    """Without a watermark the feed answers with every directory user, full=True, and a
    watermark of its kind."""
    tree.user("ann")
    tree.user("ben")
    first = feed.changes(None)
    assert first.full
    assert set(names(first)) == {"ann", "ben"}
    assert json.loads(first.watermark)["kind"] == feed.kind


def test_modify_disable_delete_and_move_are_seen_incrementally(tree: Tree, feed: AdChangeFeed) -> None:
    """After a full read: a changed attribute, a disabled account, a deleted user (by its
    objectGUID, from the tombstone) and a user moved out of the base DN (out of scope) are the
    only changes reported; a user moved between OUs under the base DN keeps its anchor."""
    ann, ben, cid, dan = (tree.user(n) for n in ("ann", "ben", "cid", "dan"))
    tree.user("eve")
    inner = tree.dc.add_ou("inner", tree.people)
    first = feed.changes(None)
    ben_guid, dan_guid = tree.dc.guid(ben), tree.dc.guid(dan)

    tree.dc.modify(ann, [(ldap.MOD_REPLACE, "title", "Lead")])
    tree.dc.set_disabled(cid, True)
    tree.dc.delete(ben)
    tree.dc.move(dan, tree.others)
    second = feed.changes(first.watermark)

    assert not second.full
    changed = names(second)
    assert set(changed) == {"ann", "cid", "dan"}
    assert changed["ann"].first("title") == "Lead" and changed["ann"].in_scope
    assert changed["cid"].disabled
    assert not changed["dan"].in_scope and changed["dan"].anchor == dan_guid
    assert second.deleted == (ben_guid,)

    moved = tree.dc.move(ann, inner)
    third = feed.changes(second.watermark)
    assert not third.full
    assert [(u.dn, u.anchor, u.in_scope) for u in third.changed] == [(moved, tree.dc.guid(moved), True)]
    assert third.deleted == ()


def test_nothing_changed_means_an_empty_change_set(tree: Tree, feed: AdChangeFeed) -> None:
    """Asking again right after a change set returns no change (and is not a full read)."""
    tree.user("ann")
    first = feed.changes(None)
    again = feed.changes(first.watermark)
    assert not again.full
    assert again.changed == () and again.deleted == ()


def test_group_membership_changes_move_users_in_and_out_of_scope(tree: Tree) -> None:
    """With targeted groups: a user added to a nested group enters the scope and a user removed
    from the targeted group leaves it, in the same feed; a new process holding only the
    watermark answers with a full read instead."""
    ann, ben = tree.user("ann"), tree.user("ben")
    nested = tree.dc.add_group(tree.groups, "nested")
    target = tree.dc.add_group(tree.groups, "webex", [ann, nested])
    config = ad_directory(tree, scope={"groups": [target]}, change_detection="usn")
    with LdapDirectory(config, MAPPED) as directory:
        feed = open_ad_change_feed(config, directory)
        first = feed.changes(None)
        assert {n: u.in_scope for n, u in names(first).items()} == {"ann": True, "ben": False}
        tree.dc.modify(nested, [(ldap.MOD_ADD, "member", ben)])
        tree.dc.modify(target, [(ldap.MOD_DELETE, "member", ann)])
        second = feed.changes(first.watermark)
        feed.close()
        assert not second.full
        assert {n: u.in_scope for n, u in names(second).items()} == {"ann": False, "ben": True}
        tree.dc.modify(nested, [(ldap.MOD_DELETE, "member", ben)])
        fresh = open_ad_change_feed(config, directory)
        third = fresh.changes(second.watermark)
        fresh.close()
    assert third.full
    assert {n: u.in_scope for n, u in names(third).items()} == {"ann": False, "ben": False}


def test_a_changed_invocation_id_forces_a_full_read(tree: Tree) -> None:
    """A uSNChanged watermark from a DC whose invocationId differs (a restored database) or from
    another DC is not trusted: the answer is a full read."""
    tree.user("ann")
    config = ad_directory(tree, change_detection="usn")
    with LdapDirectory(config, MAPPED) as directory:
        feed = open_ad_change_feed(config, directory)
        first = feed.changes(None)
        mark = json.loads(first.watermark)
        assert mark["position"]["dc"] == "dc1.example.test"
        assert int(mark["position"]["usn"]) > 0
        restored = {
            **mark,
            "position": {**mark["position"], "invocation_id": "00000000-0000-0000-0000-000000000001"},
        }
        other_dc = {**mark, "position": {**mark["position"], "dc": "dc2.example.test"}}
        after_restore = feed.changes(json.dumps(restored))
        after_switch = feed.changes(json.dumps(other_dc))
        feed.close()
    assert after_restore.full and after_switch.full
    assert set(names(after_restore)) == {"ann"}


def test_an_unusable_dirsync_cookie_forces_a_full_read(tree: Tree) -> None:
    """A DirSync cookie the server rejects makes a full read with a fresh, working cookie."""
    tree.user("ann")
    config = ad_directory(tree, change_detection="dirsync")
    garbage = {"kind": "dirsync", "members": "-", "position": {"cookie": base64.b64encode(b"junk").decode()}}
    with LdapDirectory(config, MAPPED) as directory:
        feed = open_ad_change_feed(config, directory)
        answer = feed.changes(json.dumps(garbage))
        tree.user("ben")
        after = feed.changes(answer.watermark)
        feed.close()
    assert answer.full and set(names(answer)) == {"ann"}
    assert not after.full and set(names(after)) == {"ben"}


def test_dirsync_refused_falls_back_to_usn_with_a_warning(tree: Tree) -> None:
    """An account without 'Replicating Directory Changes' gets uSNChanged instead of DirSync,
    with one warning naming the right to grant; changes are still seen."""
    reader = tree.user("reader", password="Rd-Passw0rd!x")
    tree.user("ann")
    config = ad_directory(tree, bind_dn=reader, bind_password="Rd-Passw0rd!x")
    with LdapDirectory(config, MAPPED) as directory, capture_logs() as logs:
        feed = open_ad_change_feed(config, directory)
        assert feed.kind == "dirsync"
        first = feed.changes(None)
        tree.user("ben")
        second = feed.changes(first.watermark)
        feed.close()
    assert feed.kind == "usn"
    assert first.full and json.loads(first.watermark)["kind"] == "usn"
    assert set(names(second)) == {"ben"}
    refused = [entry for entry in logs if entry["event"] == "directory.dirsync_refused"]
    assert len(refused) == 1
    assert "Replicating Directory Changes" in refused[0]["detail"]


def test_unreadable_tombstones_warn_once_and_leave_deletes_to_full_cycles(tree: Tree) -> None:
    """uSNChanged with an account that cannot read CN=Deleted Objects: changes are still seen, a
    deleted user is not reported (no tombstone is visible), and one warning names the fix."""
    reader = tree.user("reader", password="Rd-Passw0rd!x")
    gone = tree.user("gone")
    config = ad_directory(tree, bind_dn=reader, bind_password="Rd-Passw0rd!x", change_detection="usn")
    with LdapDirectory(config, MAPPED) as directory, capture_logs() as logs:
        feed = open_ad_change_feed(config, directory)
        first = feed.changes(None)
        tree.dc.delete(gone)
        tree.user("new")
        second = feed.changes(first.watermark)
        tree.user("newer")
        third = feed.changes(second.watermark)
        feed.close()
    assert set(names(second)) == {"new"} and second.deleted == ()
    assert set(names(third)) == {"newer"}
    warnings = [e for e in logs if e["event"] == "directory.tombstones_unreadable"]
    assert len(warnings) == 1
    assert "dsacls" in warnings[0]["detail"] and "full cycles" in warnings[0]["detail"]


def test_too_many_tombstones_make_a_full_read(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the tombstone search stops at the server's size limit, the change set is a full read
    (which classifies every missing user), not an incremental one missing deletes."""
    tree.user("ann")
    config = ad_directory(tree, change_detection="usn")
    original = Connection.search_with_controls

    def limited(self: Connection, base: str, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("what") == "deleted users":
            raise DirectoryIncompleteError("Size limit exceeded")
        return original(self, base, *args, **kwargs)

    with LdapDirectory(config, MAPPED) as directory:
        feed = open_ad_change_feed(config, directory)
        first = feed.changes(None)
        monkeypatch.setattr(Connection, "search_with_controls", limited)
        tree.user("ben")
        second = feed.changes(first.watermark)
        feed.close()
    assert second.full
    assert set(names(second)) == {"ann", "ben"}
