"""LdapDirectory's own behaviour as a ``GroupSource``, against a real slapd: Example Corp's groups
flattened and direct, a diamond, a nested group outside the selection base, ``groups.dns``, the
name attributes, and what changes the digest (and what does not). Each test that builds groups
builds them in an OU of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ldap
import pytest

from tests.directory.helpers import CONTRACTORS, ENGINEERING, GROUPS, SALES, SRE, config_for, dn
from webex_provisioner.config import DirectoryConfig, GroupsConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.pushed_groups import GROUPS_PER_PAGE, PushedGroups
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError
from webex_provisioner.model import DirectoryGroup
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.sandbox import SUFFIX, TARGETED_GROUP, Company, ThrowawaySlapd
from webex_provisioner.sandbox.company import DANGLING_MEMBER
from webex_provisioner.sandbox.ldiftext import entry


def directory(slapd: ThrowawaySlapd, **settings: object) -> LdapDirectory:
    groups = GroupsConfig.model_validate(settings)
    return LdapDirectory(config_for(slapd), read_process=False, groups=groups)


def by_cn(groups: Sequence[DirectoryGroup]) -> dict[str, DirectoryGroup]:
    return {group.first("cn") or group.dn: group for group in groups}


def people(*uids: str) -> frozenset[str]:
    return frozenset(normalize_dn(dn(uid)) for uid in uids)


def listed(company: Company, group: str) -> set[str]:
    """The member values of one of Example Corp's groups, normalized."""
    return {normalize_dn(m) for g in company.groups if g.dn == group for m in g.members}


def test_example_corp_flattened(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """webex-users gets the people listed directly, those of engineering, of sre (nested in
    engineering) and of sales (groupOfUniqueNames), and the dangling DN, as normalized DNs; the
    three groups are named in ``nested`` depth first, and the engineering/sre cycle in ``cycles``."""
    with directory(shared_slapd, base_dn=GROUPS, filter="(cn=webex-users)") as source:
        (group,) = source.read_groups().groups
    assert group.members == people(*company.in_scope) | {normalize_dn(DANGLING_MEMBER)}
    assert group.nested == (ENGINEERING, SRE, SALES)
    assert group.cycles == (f"{ENGINEERING} > {SRE} > {ENGINEERING}",)
    assert dict(group.attributes) == {"cn": ("webex-users",)}


def test_example_corp_direct(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """With ``nested: direct``, webex-users has only its direct members (the dangling DN too);
    its member groups are neither members nor expanded, and no cycle is reported."""
    with directory(shared_slapd, base_dn=GROUPS, filter="(cn=webex-users)", nested="direct") as source:
        (group,) = source.read_groups().groups
    groups = {normalize_dn(g) for g in (ENGINEERING, SALES)}
    assert group.members == frozenset(listed(company, TARGETED_GROUP) - groups)
    assert normalize_dn(dn("psharma")) in group.members and normalize_dn(dn("nbjork")) not in group.members
    assert (group.nested, group.cycles) == ((), ())


def test_dns_selects_the_groups_listed(shared_slapd: ThrowawaySlapd) -> None:
    """``groups.dns`` reads exactly the groups listed (in any spelling), whatever ``filter``
    would say; a group nested in one of them is read as nested, not selected."""
    with directory(shared_slapd, dns=[ENGINEERING.upper(), SALES]) as source:
        read = source.read_groups()
    assert set(by_cn(read.groups)) == {"engineering", "sales"}
    assert by_cn(read.groups)["engineering"].nested == (SRE,)


@pytest.mark.parametrize(
    ("listed", "words"),
    [
        (
            f"cn=no-such-group,{GROUPS}",
            r"cn=no-such-group,ou=groups,dc=example,dc=com of groups.dns does not exist.*fix groups.dns",
        ),
        (dn("ahart"), r"uid=ahart,ou=people,dc=example,dc=com of groups.dns .* is not a group.*group_filter"),
    ],
)
def test_a_dns_entry_that_is_no_group_stops_the_read(
    shared_slapd: ThrowawaySlapd, listed: str, words: str
) -> None:
    """A DN of ``groups.dns`` that does not exist, or is not a group, raises ``DirectoryError``
    naming the DN and the fix, before any group is read (a missing group would look deleted)."""
    with (
        directory(shared_slapd, dns=[ENGINEERING, listed]) as source,
        pytest.raises(DirectoryError, match=words),
    ):
        source.read_groups()


def test_a_selection_base_that_does_not_exist_is_named(shared_slapd: ThrowawaySlapd) -> None:
    """A ``groups.base_dn`` that does not exist raises ``DirectoryError`` naming the base and
    the setting to fix (not ``directory.base_dn``, which exists)."""
    with (
        directory(shared_slapd, base_dn=f"ou=nowhere,{SUFFIX}", filter="(cn=*)") as source,
        pytest.raises(
            DirectoryError, match=r"ou=nowhere,dc=example,dc=com .*does not exist.*fix groups.base_dn\."
        ),
    ):
        source.read_groups()


def test_find_group_reads_any_group_by_dn_or_anchor(shared_slapd: ThrowawaySlapd) -> None:
    """``find_group`` finds a group that is not selected, by DN and by anchor, flattened as a
    read would; a user's DN is no group."""
    with directory(shared_slapd, base_dn=GROUPS, filter="(cn=webex-users)") as source:
        found = source.find_group(CONTRACTORS)
        assert found is not None and found.members == people("bwhite", "kryan")
        assert source.find_group(found.anchor) == found
        assert source.find_group(dn("ahart")) is None
        engineering = source.find_group(ENGINEERING)
    assert engineering is not None and engineering.nested == (SRE,)


def test_without_groups_nothing_is_read() -> None:
    """Without ``groups:``, nothing is read (not even a connection is opened: the URL here
    answers nothing): no group, a constant digest, no group found."""
    config = DirectoryConfig(url="ldap://127.0.0.1:9", base_dn=SUFFIX)
    with LdapDirectory(config, read_process=False) as source:
        read = source.read_groups()
        assert read.groups == () and read.digest == source.group_digest() == "no-groups"
        assert source.find_group(ENGINEERING) is None


# -- groups of a test's own -------------------------------------------------------------------


@dataclass
class Tree:
    """An OU of one test: ``pushed`` (the selection base) and ``teams`` (outside it)."""

    slapd: ThrowawaySlapd
    root: str

    @property
    def pushed(self) -> str:
        return f"ou=pushed,{self.root}"

    @property
    def teams(self) -> str:
        return f"ou=teams,{self.root}"

    def group(self, parent: str, cn: str, *members: str, **attributes: str) -> str:
        group = f"cn={cn},{parent}"
        values = [("objectClass", "groupOfNames"), ("cn", cn), *attributes.items()]
        self.slapd.add(entry(group, values + [("member", m) for m in members]))
        return group

    def source(self, **settings: object) -> LdapDirectory:
        return directory(self.slapd, base_dn=self.pushed, filter="(cn=*)", **settings)


@pytest.fixture
def tree(shared_slapd: ThrowawaySlapd) -> Iterator[Tree]:
    root = f"ou=t{uuid.uuid4().hex[:8]},{SUFFIX}"
    shared_slapd.add(
        entry(root, [("objectClass", "organizationalUnit")])
        + entry(f"ou=pushed,{root}", [("objectClass", "organizationalUnit")])
        + entry(f"ou=teams,{root}", [("objectClass", "organizationalUnit")])
    )
    yield Tree(shared_slapd, root)


def test_a_diamond_outside_the_selection_base(tree: Tree) -> None:
    """top (selected) holds left and right, both in another OU and both holding shared: members
    of all three count, shared is named once in ``nested``, no cycle; the nested groups outside
    the selection base are not selected themselves."""
    shared = tree.group(tree.teams, "shared", dn("cobi"))
    left = tree.group(tree.teams, "left", dn("ahart"), shared)
    right = tree.group(tree.teams, "right", dn("gmoore"), shared)
    tree.group(tree.pushed, "top", left, right)
    with tree.source() as source:
        (top,) = source.read_groups().groups
    assert top.members == people("ahart", "gmoore", "cobi")
    assert top.nested == (left, shared, right) and top.cycles == ()


def test_a_selected_group_nested_in_another_is_both(tree: Tree) -> None:
    """A selected group nested in another selected group is pushed itself and flattened into
    the other; a cycle through both is reported on each, from its own point of view."""
    inner = f"cn=inner,{tree.pushed}"
    outer = tree.group(tree.pushed, "outer", dn("ahart"), inner)
    tree.group(tree.pushed, "inner", dn("gmoore"), outer)
    with tree.source() as source:
        groups = by_cn(source.read_groups().groups)
    assert groups["outer"].members == groups["inner"].members == people("ahart", "gmoore")
    assert groups["outer"].cycles == (f"{outer} > {inner} > {outer}",)
    assert groups["inner"].cycles[0].startswith(f"cn=inner,{tree.pushed} > ")


def test_more_groups_than_a_page_share_one_string_per_member(tree: Tree) -> None:
    """Selected groups are read a page of ``GROUPS_PER_PAGE`` at a time, every one of them; a
    user in many groups is one string in all their member sets (a large read keeps each member
    DN once, not once per group)."""
    count = GROUPS_PER_PAGE + 5
    for n in range(count):
        tree.group(tree.pushed, f"team{n:03d}", dn("ahart"), dn("gmoore"))
    with tree.source() as source:
        groups = source.read_groups().groups
    assert len(groups) == count
    assert all(group.members == people("ahart", "gmoore") for group in groups)
    ahart = normalize_dn(dn("ahart"))
    assert len({id(next(m for m in group.members if m == ahart)) for group in groups}) == 1


def test_name_attributes_of_a_template(tree: Tree) -> None:
    """A template's attributes are read as text under lower-case names; a group without one of
    them is still read (the engine reports a missing name)."""
    tree.group(tree.pushed, "sales-emea", dn("ahart"), description="Sales, EMEA")
    tree.group(tree.pushed, "bare", dn("ahart"))
    with tree.source(name="{{ description }} ({{ cn }})") as source:
        groups = by_cn(source.read_groups().groups)
    assert dict(groups["sales-emea"].attributes) == {"cn": ("sales-emea",), "description": ("Sales, EMEA",)}
    assert dict(groups["bare"].attributes) == {"cn": ("bare",)}


def test_the_digest_follows_nested_groups(tree: Tree) -> None:
    """The digest changes when a member joins or leaves a nested group outside the selection
    base, when that group is renamed, and when it is deleted; each read's digest is the digest
    taken just before it. A change to a user, or a read, changes nothing."""
    inner = tree.group(tree.teams, "inner", dn("cobi"))
    tree.group(tree.pushed, "top", dn("ahart"), inner)
    with tree.source() as source:
        digests = [source.read_groups().digest]
        tree.slapd.modify(dn("ahart"), {"title": "Chief"})
        assert source.group_digest() == digests[0]
        for change in (
            lambda: tree.slapd.modify(inner, [(ldap.MOD_ADD, "member", [dn("gmoore").encode()])]),
            lambda: tree.slapd.modify(inner, [(ldap.MOD_DELETE, "member", [dn("cobi").encode()])]),
            lambda: tree.slapd.rename(inner, "cn=renamed"),
            lambda: tree.slapd.delete(f"cn=renamed,{tree.teams}"),
        ):
            change()
            digest = source.group_digest()
            assert digest not in digests
            assert source.read_groups().digest == digest == source.group_digest()
            digests.append(digest)
        (top,) = source.read_groups().groups
    assert top.members == people("ahart") | {normalize_dn(inner)} and top.nested == ()


class _StopsAfterOneGroup:
    """A connection whose selection search yields one group, then fails as a lost paging cookie
    does (``Connection.search_pages`` raises ``DirectoryIncompleteError`` after a page)."""

    config = DirectoryConfig(url="ldap://ldap.example", base_dn=SUFFIX)

    def root_dse(self) -> dict[str, list[bytes]]:
        return {"namingContexts": [SUFFIX.encode()]}

    def search_all(
        self, base: str, filterstr: str, attributes: list[str], *, what: str, at_most: int | None = None
    ) -> Iterator[Any]:
        if what == "every group":
            return iter([])
        return self._selection()

    def _selection(self) -> Iterator[Any]:
        yield (
            f"cn=first,{GROUPS}",
            {"entryUUID": [b"u-1"], "cn": [b"first"], "member": [dn("ahart").encode()]},
        )
        raise DirectoryIncompleteError("the read is incomplete, it stopped after 1 page(s) of 1 entries")


def test_a_selection_that_stops_early_is_no_smaller_selection() -> None:
    """When the paged search of the selection fails after some groups, ``read_groups`` raises
    ``DirectoryIncompleteError`` and returns nothing: the groups not read would look deleted."""
    groups = PushedGroups(_StopsAfterOneGroup.config, GroupsConfig(filter="(cn=*)"))
    with pytest.raises(DirectoryIncompleteError, match="stopped after 1 page"):
        groups.read(_StopsAfterOneGroup())  # type: ignore[arg-type]
