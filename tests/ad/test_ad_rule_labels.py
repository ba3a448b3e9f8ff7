"""The licence rules' labels on Active Directory (Samba AD DC), where it differs from OpenLDAP: a
rule's group is expanded through the in-chain matching rule, and DirSync reports only changes to
the attributes it is asked for, so a rule's filter attributes must be among them."""

from __future__ import annotations

import ldap
import pytest

from tests.ad.conftest import Tree, ad_directory, nested_with_a_cycle
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.ad_changes import open_ad_change_feed
from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.ports import ChangeSet

pytestmark = [pytest.mark.ad, pytest.mark.timeout(180)]

IN_SALES = filter_label("(department=Sales)")


def names(users: ChangeSet | list[DirectoryUser]) -> dict[str, frozenset[str]]:
    listed = users.changed if isinstance(users, ChangeSet) else users
    return {u.dn.split(",", 1)[0][3:]: u.labels for u in listed}


def test_a_rule_group_is_expanded_through_the_in_chain_rule(tree: Tree) -> None:
    """Without targeted groups, a rule's group with nested groups (and a cycle back to it) labels
    its members at any depth through the in-chain rule, in a read and in ``find_user``."""
    label = group_label(nested_with_a_cycle(tree, "messaging"))
    with LdapDirectory(ad_directory(tree), read_process=False, labels=[label]) as directory:
        users = names(list(directory.read_users()))
        assert directory._in_chain.supported is True  # only the rule's group could have used it
        found = directory.find_user(f"CN=cid,{tree.people}")
        assert found is not None and found.labels == {label}
    assert users == {"ann": {label}, "ben": {label}, "cid": {label}, "out": frozenset()}


def test_dirsync_relabels_by_a_nested_rule_group_and_a_rule_filter(tree: Tree) -> None:
    """With DirSync: a user added to a rule's nested group, one removed from it, and one whose
    department (not a mapped attribute) changes to the rule filter's come back changed with the
    labels they now match."""
    ann, ben, cid = tree.user("ann"), tree.user("ben"), tree.user("cid")
    inner = tree.dc.add_group(tree.groups, "inner", [ben])
    rule_group = tree.dc.add_group(tree.groups, "messaging", [inner])
    label = group_label(rule_group)
    config = ad_directory(tree, change_detection="dirsync")
    with LdapDirectory(config, ["mail"], read_process=False, labels=[label, IN_SALES]) as directory:
        feed = open_ad_change_feed(config, directory)
        try:
            first = feed.changes(None)
            assert names(first) == {"ann": frozenset(), "ben": {label}, "cid": frozenset()}
            tree.dc.modify(inner, [(ldap.MOD_ADD, "member", ann), (ldap.MOD_DELETE, "member", ben)])
            tree.dc.modify(cid, [(ldap.MOD_REPLACE, "department", "Sales")])
            second = feed.changes(first.watermark)
        finally:
            feed.close()
    assert feed.kind == "dirsync" and not second.full
    assert names(second) == {"ann": {label}, "ben": frozenset(), "cid": {IN_SALES}}
