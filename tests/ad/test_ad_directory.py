"""Reading Active Directory (Samba AD DC): binary objectGUID anchors, the preset's disabled filter,
nested groups with a cycle (in-chain rule and client-side), referrals, page size and probe."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import ldap
import pytest
from ldap.controls import SimplePagedResultsControl

from tests.ad.conftest import Tree, ad_directory, nested_with_a_cycle
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory import connection as connection_module
from webex_provisioner.directory.guid import guid_filter
from webex_provisioner.errors import DirectoryError
from webex_provisioner.model import DirectoryUser

pytestmark = [pytest.mark.ad, pytest.mark.timeout(180)]


def _names(users: Iterable[DirectoryUser]) -> dict[str, DirectoryUser]:
    return {u.dn.split(",", 1)[0][3:]: u for u in users}


def test_anchor_is_the_canonical_objectguid_string(tree: Tree) -> None:
    """Each user's anchor is its objectGUID as the mixed-endian canonical GUID string, and the
    escaped binary filter built from that string finds the same entry on the server."""
    dn = tree.user("alice")
    with LdapDirectory(ad_directory(tree), ["mail"]) as directory:
        (user,) = directory.read_users()
    conn = tree.dc.connect()
    try:
        raw = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])[0][1]["objectGUID"][0]
        found = conn.search_s(
            tree.people, ldap.SCOPE_SUBTREE, guid_filter("objectGUID", user.anchor), ["1.1"]
        )
    finally:
        conn.unbind_s()
    assert user.anchor == str(uuid.UUID(bytes_le=raw))
    assert user.anchor != str(uuid.UUID(bytes=raw))  # not the big-endian reading
    assert [d for d, _ in found] == [dn]
    assert user.attributes["objectguid"] == (user.anchor,)


def test_find_user_by_guid_mail_and_dn(tree: Tree) -> None:
    """find_user finds a user by its GUID (any case, with braces), by e-mail and by DN."""
    dn = tree.user("bob")
    tree.user("carol")
    guid = tree.dc.guid(dn)
    with LdapDirectory(ad_directory(tree), ["mail"]) as directory:
        by_guid = directory.find_user("{" + guid.upper() + "}")
        by_mail = directory.find_user("bob@example.test")
        by_dn = directory.find_user(dn)
    assert by_guid is not None and by_mail is not None and by_dn is not None
    assert by_guid.anchor == by_mail.anchor == by_dn.anchor == guid


def test_disabled_preset_reads_user_account_control(tree: Tree) -> None:
    """With the activedirectory preset, exactly the users with ACCOUNTDISABLE are disabled."""
    tree.user("dana")
    tree.user("eve", disabled=True)
    with LdapDirectory(ad_directory(tree)) as directory:
        users = _names(directory.read_users())
    assert {name: u.disabled for name, u in users.items()} == {"dana": False, "eve": True}


def test_nested_groups_with_a_cycle_through_the_in_chain_rule(tree: Tree) -> None:
    """Members of a targeted group and of groups nested in it (with a cycle back to it) are in
    scope, through the in-chain rule; the others are not."""
    target = nested_with_a_cycle(tree, "webex")
    config = ad_directory(tree, scope={"groups": [target]})
    with LdapDirectory(config, read_process=False) as directory:  # looks at its in-chain state
        users = _names(directory.read_users())
        assert directory._in_chain.supported is True
    assert {n for n, u in users.items() if u.in_scope} == {"ann", "ben", "cid"}
    assert users["ann"].scope_reason == f"member of {target}"
    assert users["cid"].scope_reason == f"member of {target} through nested groups"


def test_nested_groups_with_a_cycle_client_side(tree: Tree) -> None:
    """When the in-chain rule is not used, client-side expansion gives the same scope and
    terminates on the cycle."""
    ann, ben = tree.user("ann"), tree.user("ben")
    inner = tree.dc.add_group(tree.groups, "inner", [ben])
    target = tree.dc.add_group(tree.groups, "webex", [ann, inner])
    tree.dc.modify(inner, [(ldap.MOD_ADD, "member", target)])
    config = ad_directory(tree, scope={"groups": [target]})
    with LdapDirectory(config, read_process=False) as directory:  # in-chain is turned off here
        directory._in_chain.supported = False
        users = _names(directory.read_users())
    assert {n for n, u in users.items() if u.in_scope} == {"ann", "ben"}
    assert users["ben"].scope_reason == f"member of {target} via {inner}"


def test_a_missing_targeted_group_is_an_error_not_an_empty_scope(tree: Tree) -> None:
    """A targeted group that does not exist fails the read, also with the in-chain rule."""
    tree.user("ann")
    missing = f"CN=nope,{tree.groups}"
    config = ad_directory(tree, scope={"groups": [missing]})
    with LdapDirectory(config) as directory, pytest.raises(DirectoryError, match="does not exist"):
        list(directory.read_users())


def test_search_under_the_domain_root_skips_referrals(tree: Tree) -> None:
    """A subtree search from the domain root, where the server returns referrals to DNS names
    (CN=Configuration), completes without following them."""
    tree.user("ann")
    config = ad_directory(
        tree,
        base_dn=tree.dc.base_dn,
        user_filter="(&(objectCategory=person)(objectClass=user)(mail=ann@example.test))",
    )
    with LdapDirectory(config, ["mail"]) as directory:
        users = list(directory.read_users())
    assert [u.first("mail") for u in users] == ["ann@example.test"]


def test_page_size_above_max_page_size_is_capped(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    """With page_size 5000, the paged-results control asks AD for 1000 entries (MaxPageSize), and
    the read is complete."""
    asked: list[int] = []

    class Recording(SimplePagedResultsControl):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            asked.append(self.size)

    monkeypatch.setattr(connection_module, "SimplePagedResultsControl", Recording)
    for i in range(3):
        tree.user(f"p{i}")
    with LdapDirectory(ad_directory(tree, page_size=5000), read_process=False) as directory:  # recorded here
        assert len(list(directory.read_users())) == 3
    assert asked and set(asked) == {1000}


def test_probe_reports_active_directory_capabilities(tree: Tree) -> None:
    """probe names the server kind, the in-chain rule and DirSync (Administrator has the right),
    and says DirSync will be used."""
    with LdapDirectory(ad_directory(tree)) as directory:
        probe = directory.probe()
    assert probe["server_kind"] == "activedirectory"
    assert probe["in_chain"] == "yes"
    assert probe["dirsync"] == "yes"
    assert probe["change_detection"].startswith("DirSync")
    assert "type_hint" not in probe


def test_probe_with_an_account_without_dirsync_right(tree: Tree) -> None:
    """For an ordinary account, probe says DirSync is refused and uSNChanged will be used."""
    reader = tree.user("reader", password="Rd-Passw0rd!x")
    config = ad_directory(tree, bind_dn=reader, bind_password="Rd-Passw0rd!x")
    with LdapDirectory(config) as directory:
        probe = directory.probe()
    assert probe["dirsync"].startswith("no (refused for")
    assert "Replicating Directory Changes" in probe["dirsync"]
    assert probe["change_detection"].startswith("uSNChanged on the pinned domain controller dc1.example.test")
    assert probe["tombstones"].startswith("no (the bind account cannot read CN=Deleted Objects")


def test_probe_says_tombstones_are_readable_for_usn(tree: Tree) -> None:
    """With uSNChanged chosen and an account that sees deleted objects, probe says so; with
    DirSync (which returns deletes itself) it does not ask."""
    with LdapDirectory(ad_directory(tree, change_detection="usn")) as directory:
        assert directory.probe()["tombstones"] == "yes"
    with LdapDirectory(ad_directory(tree)) as directory:
        assert "tombstones" not in directory.probe()
