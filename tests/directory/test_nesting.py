"""Flattening a selected group's members through nested groups, without a server: members,
``nested`` and ``cycles`` for ``flatten`` and ``direct``, diamonds, cycles, a group that
vanished; and a group entry read with Active Directory's ranged member retrieval."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.group_listing import GroupListing
from webex_provisioner.directory.group_reader import GroupReader
from webex_provisioner.directory.nesting import Flattened, flatten
from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model.keys import normalize_dn


def user(name: str) -> str:
    return f"uid={name},ou=people,dc=x"


def group(name: str) -> str:
    return f"cn={name},ou=groups,dc=x"


def flat(tree: Mapping[str, Sequence[str]], root: str, *, nested: bool = True) -> Flattened:
    """``flatten`` of ``root`` over groups given as name -> member DNs; reads are counted."""
    groups = {normalize_dn(group(name)): members for name, members in tree.items()}
    reads: list[str] = []

    def read(dn: str) -> Sequence[str] | None:
        reads.append(dn)
        return groups.get(normalize_dn(dn))

    found = flatten(group(root), tree[root], is_group=groups.__contains__, read_members=read, nested=nested)
    assert len(reads) == len(set(map(normalize_dn, reads))), f"a group was read twice: {reads}"
    return found


def norm(*dns: str) -> frozenset[str]:
    return frozenset(normalize_dn(dn) for dn in dns)


def test_flatten_counts_nested_members_and_names_the_nested_groups() -> None:
    """With flatten, members of nested groups at any depth are members; ``nested`` lists the
    groups flattened in, in the order reached; member values are normalized."""
    tree = {
        "top": [user("Ann"), group("mid")],
        "mid": [user("ben"), group("low")],
        "low": [user("cid")],
    }
    found = flat(tree, "top")
    assert found.members == norm(user("ann"), user("ben"), user("cid"))
    assert all(member == normalize_dn(member) for member in found.members)
    assert found.nested == (group("mid"), group("low"))
    assert found.cycles == ()


def test_direct_drops_member_groups_and_reads_none() -> None:
    """With direct, member groups are neither members nor expanded (nothing is read), and
    ``nested`` and ``cycles`` stay empty, even where flattening would meet a cycle."""
    tree = {"top": [user("ann"), group("mid"), group("top")], "mid": [user("ben"), group("top")]}

    def refuse(dn: str) -> None:
        raise AssertionError(f"direct read the nested group {dn}")

    keys = {normalize_dn(group(name)) for name in tree}
    found = flatten(group("top"), tree["top"], is_group=keys.__contains__, read_members=refuse, nested=False)
    assert found == Flattened(norm(user("ann")))


def test_a_cycle_is_cut_and_named_from_the_group_reached_again() -> None:
    """top > a > b > a: b's member a is on the path, so the edge is cut and ``a > b > a`` named;
    every member on the loop still counts."""
    tree = {
        "top": [group("a")],
        "a": [user("ann"), group("b")],
        "b": [user("ben"), group("a")],
    }
    found = flat(tree, "top")
    assert found.members == norm(user("ann"), user("ben"))
    assert found.cycles == (f"{group('a')} > {group('b')} > {group('a')}",)
    assert found.nested == (group("a"), group("b"))


def test_a_group_listing_itself_back_is_a_cycle_not_a_member() -> None:
    """A selected group reached again from inside (directly or through another) is a cycle, never
    a member of itself."""
    tree = {"top": [group("top"), group("a")], "a": [user("ann"), group("TOP")]}
    found = flat(tree, "top")
    assert found.members == norm(user("ann"))
    assert found.cycles == (
        f"{group('top')} > {group('top')}",
        f"{group('top')} > {group('a')} > {group('top')}",
    )


def test_a_diamond_is_expanded_once_and_is_no_cycle() -> None:
    """top holds left and right, both holding shared: shared is read once, named once in
    ``nested``, and no cycle is reported."""
    tree = {
        "top": [group("left"), group("right")],
        "left": [user("ann"), group("shared")],
        "right": [user("ben"), group("Shared")],
        "shared": [user("cid")],
    }
    found = flat(tree, "top")
    assert found.members == norm(user("ann"), user("ben"), user("cid"))
    assert found.nested == (group("left"), group("shared"), group("right"))
    assert found.cycles == ()


def test_a_listed_group_that_vanished_is_a_plain_member() -> None:
    """A member DN listed as a group whose read finds nothing (deleted since the listing) is kept
    as a member DN, for the engine to resolve (or not)."""
    gone = group("gone")
    found = flatten(
        group("top"),
        [user("ann"), gone],
        is_group={normalize_dn(gone)}.__contains__,
        read_members=lambda _dn: None,
        nested=True,
    )
    assert found.members == norm(user("ann"), gone) and found.nested == ()


class _RangedServer:
    """A connection serving groups the way Active Directory does: ``member;range=`` slices of 3."""

    def __init__(self, groups: Mapping[str, list[str]], *, stop_after: int | None = None) -> None:
        self.groups = {normalize_dn(dn): members for dn, members in groups.items()}
        self.stop_after = stop_after
        self.config = DirectoryConfig(url="ldap://ad.example", base_dn="dc=x", anchor="objectGUID")
        self.reads: list[tuple[str, str]] = []

    def entry(self, dn: str) -> dict[str, list[bytes]]:
        attrs = self.read(dn, "(objectClass=group)", ["member"], what="test")[1]
        return {"objectGUID": [bytes(range(16))], "cn": ["Ünïcode".encode(), b"\xff"], **attrs}

    def read(self, dn: str, filterstr: str, attributes: list[str], *, what: str) -> Any:
        self.reads.append((dn, attributes[0]))
        members = self.groups.get(normalize_dn(dn))
        if members is None:
            return None
        start = int(attributes[0].split("=")[1].split("-")[0]) if ";range=" in attributes[0] else 0
        if self.stop_after is not None and start >= self.stop_after:
            return dn, {}
        end = start + 3
        label = "*" if end >= len(members) else str(end - 1)
        return dn, {f"member;range={start}-{label}": [m.encode() for m in members[start:end]]}


def reader(server: _RangedServer, *, nested: bool = True) -> GroupReader:
    listing = GroupListing({key: key for key in server.groups}, "digest")
    return GroupReader(server, server.config, listing, names=["cn", "objectGUID"], nested=nested)  # type: ignore[arg-type]


def test_ranged_members_are_read_to_the_end_in_selected_and_nested_groups() -> None:
    """A selected group and a nested group of 7 members each, served 3 at a time: every member
    counts; the anchor is the canonical GUID; names are text (a value that is not UTF-8 left out)."""
    top = [user(f"t{i}") for i in range(6)] + [group("inner")]
    inner = [user(f"i{i}") for i in range(7)]
    server = _RangedServer({group("top"): top, group("inner"): inner})
    found = reader(server).group(group("top"), server.entry(group("top")))
    assert found.members == norm(*top[:6], *inner)
    assert found.nested == (group("inner"),)
    assert found.anchor == "03020100-0504-0706-0809-0a0b0c0d0e0f"
    assert dict(found.attributes) == {"cn": ("Ünïcode",), "objectguid": (found.anchor,)}


def test_a_broken_member_range_stops_the_read() -> None:
    """When the server stops answering ranges, the group's membership is unknown: the read
    raises ``DirectoryIncompleteError`` rather than returning a group with fewer members."""
    server = _RangedServer({group("top"): [user(f"u{i}") for i in range(8)]}, stop_after=3)
    with pytest.raises(DirectoryIncompleteError, match="range"):
        reader(server).group(group("top"), server.entry(group("top")))


def test_a_group_without_a_readable_anchor_stops_the_read() -> None:
    """A selected group whose anchor the bind DN cannot read raises ``DirectoryIncompleteError``
    naming the group and the fix (left out, it would look deleted), and is not retryable."""
    server = _RangedServer({group("top"): [user("ann")]})
    attrs = server.entry(group("top"))
    del attrs["objectGUID"]
    with pytest.raises(DirectoryIncompleteError, match=r"cn=top,ou=groups,dc=x.*read access") as caught:
        reader(server).group(group("top"), attrs)
    assert not caught.value.retryable
