"""Groups pushed from Active Directory (Samba AD DC): the ``GroupSource`` contract, security
groups only by default, objectGUID anchors, a nested cycle, and the digest on uSNChanged.

Samba returns every value of ``member`` unless a range is asked for (Windows stops at 1,500),
so ranged retrieval is tested without a server (tests/directory/test_nesting.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

import ldap
import pytest

from tests.ad.conftest import Tree, ad_directory
from webex_provisioner.config import GroupsConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.testing.contracts.directory import GroupSourceContract

pytestmark = [pytest.mark.ad, pytest.mark.timeout(300)]

GLOBAL_DISTRIBUTION = "2"  # groupType of a global distribution group (no security bit)


def source(tree: Tree, **settings: Any) -> LdapDirectory:
    groups = GroupsConfig.model_validate({"base_dn": tree.groups, "filter": "(cn=webex-*)", **settings})
    return LdapDirectory(ad_directory(tree), read_process=False, groups=groups)


def norm(*dns: str) -> frozenset[str]:
    return frozenset(normalize_dn(dn) for dn in dns)


def nested_tree(tree: Tree) -> dict[str, str]:
    """webex-all holds ann and webex-eng; webex-eng holds ben and sre (in another OU, not
    selected); sre holds cid and webex-eng back (a cycle)."""
    ann, ben, cid = tree.user("ann"), tree.user("ben"), tree.user("cid")
    eng = tree.dc.add_group(tree.groups, "webex-eng", [ben])
    sre = tree.dc.add_group(tree.others, "sre", [cid, eng])
    tree.dc.modify(eng, [(ldap.MOD_ADD, "member", sre)])
    top = tree.dc.add_group(tree.groups, "webex-all", [ann, eng])
    return {"ann": ann, "ben": ben, "cid": cid, "eng": eng, "sre": sre, "top": top}


class TestAdGroups(GroupSourceContract):
    """LdapDirectory on Active Directory is a ``GroupSource``; the change adds a member to the
    nested-and-selected group webex-eng."""

    nesting = "flatten"

    @pytest.fixture
    def made(self, tree: Tree) -> dict[str, str]:
        return nested_tree(tree)

    @pytest.fixture
    def groups(self, tree: Tree, made: dict[str, str]) -> Iterator[LdapDirectory]:
        with source(tree) as directory:
            yield directory

    @pytest.fixture
    def change_group(self, tree: Tree, made: dict[str, str]) -> Callable[[], str]:
        numbers = count()

        def change() -> str:
            tree.dc.modify(made["eng"], [(ldap.MOD_ADD, "member", tree.user(f"new{next(numbers)}"))])
            return tree.dc.guid(made["eng"])

        return change


def test_nested_groups_and_the_cycle_on_active_directory(tree: Tree) -> None:
    """webex-all gets the members of webex-eng and of sre (outside the selection base); the
    webex-eng/sre cycle is cut and named; anchors are the canonical objectGUID strings, and
    ``find_group`` finds a group by its GUID in upper case with braces."""
    made = nested_tree(tree)
    with source(tree) as directory:
        groups = {g.first("cn"): g for g in directory.read_groups().groups}
        by_guid = directory.find_group("{" + tree.dc.guid(made["top"]).upper() + "}")
    top = groups["webex-all"]
    assert top.members == norm(made["ann"], made["ben"], made["cid"])
    assert [normalize_dn(n) for n in top.nested] == [normalize_dn(made["eng"]), normalize_dn(made["sre"])]
    assert len(top.cycles) == 1 and top.cycles[0].count(" > ") == 2
    assert top.anchor == tree.dc.guid(made["top"]) and by_guid == top


def test_only_security_groups_are_pushed_by_default(tree: Tree) -> None:
    """With the activedirectory preset, a distribution group matching ``groups.filter`` is not
    read; ``security_only: false`` reads it too."""
    ann = tree.user("ann")
    tree.dc.add_group(tree.groups, "webex-security", [ann])
    tree.dc.add(
        f"CN=webex-distribution,{tree.groups}",
        {
            "objectClass": "group",
            "sAMAccountName": "webex-distribution",
            "groupType": GLOBAL_DISTRIBUTION,
            "member": ann,
        },
    )
    with source(tree) as directory:
        assert [g.first("cn") for g in directory.read_groups().groups] == ["webex-security"]
    with source(tree, security_only=False) as directory:
        assert {g.first("cn") for g in directory.read_groups().groups} == {
            "webex-security",
            "webex-distribution",
        }


def test_the_digest_follows_a_nested_group_on_usnchanged(tree: Tree) -> None:
    """The listing reads uSNChanged: the digest is stable while nothing changes, and changes when
    a member leaves a nested group outside the selection base, or that group is moved."""
    made = nested_tree(tree)
    with source(tree) as directory:
        first = directory.read_groups().digest
        assert directory.group_digest() == first
        tree.dc.modify(made["sre"], [(ldap.MOD_DELETE, "member", made["cid"])])
        second = directory.group_digest()
        tree.dc.move(made["sre"], tree.people)
        third = directory.group_digest()
        (top,) = [g for g in directory.read_groups().groups if g.first("cn") == "webex-all"]
    assert len({first, second, third}) == 3
    assert top.members == norm(made["ann"], made["ben"])
