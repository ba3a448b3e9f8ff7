"""Pure parts of the LDAP adapter: DN comparison, anchors, and AD's ranged member retrieval."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from webex_provisioner.config import DirectoryConfig, ScopeConfig
from webex_provisioner.directory.dn import is_dn, is_under
from webex_provisioner.directory.entries import anchor_filter, anchor_value, to_user
from webex_provisioner.directory.groups import expand_membership
from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model.keys import _parsed, normalize_dn


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("uid=a,ou=People,dc=Example,dc=com", "UID=A, OU=people,DC=example,DC=COM"),
        ("cn=Smith\\, John,dc=x", 'cn="Smith, John",dc=x'),
        ("cn=a+uid=b,dc=x", "uid=b+cn=a,dc=x"),
        ("uid=a,dc=x#'0101'B", "uid=a,dc=x"),
    ],
)
def test_equal_dns_normalize_alike(left: str, right: str) -> None:
    """DNs a server treats as equal (case, spaces, escaping, RDN order, uniqueMember uid) compare equal."""
    assert normalize_dn(left) == normalize_dn(right)


@pytest.mark.parametrize(
    "dn",
    [
        "uid=user000001,ou=people,dc=example,dc=com",
        "CN=John Smith,OU=Sales Team,DC=corp,DC=example",
        "cn=Jürgen Groß,ou=München,dc=example,dc=de",
        "cn=a  b,dc=x",
        "cn=a,ou=b , dc=x",
        "cn=a= b,dc=x",
        " cn=a,dc=x",
        "cn=a,dc=x ",
        "cn=a\tb,dc=x",
        "cn=a\nb,dc=x",
        "cn=a\u00a0b,dc=x",
        "cn=#41,dc=x",
        "cn=a;dc=x",
        "cn=a=b,dc=x",
    ],
)
def test_the_fast_path_normalizes_like_the_dn_parser(dn: str) -> None:
    """Every DN normalizes to what python-ldap's parser makes of it, whichever path it takes."""
    assert normalize_dn(dn) == _parsed(dn)


def test_a_dn_in_normal_form_is_its_own_normal_form() -> None:
    """A DN already in normal form comes back as the same string (a link's DN and the key made
    of it are one string in memory, at 100,000 users); any other comes back changed."""
    plain = "".join(["uid=ann,", "ou=people,dc=example,dc=com"])
    assert normalize_dn(plain) is plain
    assert normalize_dn("uid=Ann,dc=x") == "uid=ann,dc=x"


def test_different_dns_stay_different() -> None:
    """Normalization does not merge different entries."""
    assert normalize_dn("uid=a,dc=x") != normalize_dn("uid=a,dc=y")
    assert normalize_dn("cn=Smith\\, John,dc=x") != normalize_dn("cn=Smith,cn=John,dc=x")


def test_is_under_and_is_dn() -> None:
    """is_under compares whole RDNs (not string suffixes); is_dn rejects e-mails and anchors."""
    assert is_under("uid=a,ou=people,dc=x", "OU=People, dc=x")
    assert is_under("dc=x", "dc=x")
    assert not is_under("uid=a,ou=xpeople,dc=x", "ou=people,dc=x")
    assert is_dn("uid=a,dc=x")
    assert not is_dn("jane@example.com")
    assert not is_dn("1b2c3d4e-0000-4000-8000-000000000000")


def test_object_guid_anchor_is_the_canonical_guid() -> None:
    """A binary objectGUID becomes the canonical GUID string, and is searched for byte by byte."""
    guid = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    assert anchor_value({"objectGUID": [guid.bytes_le]}, "objectGUID") == str(guid)
    assert (
        anchor_filter("objectGUID", str(guid))
        == "(objectGUID=" + "".join(f"\\{b:02x}" for b in guid.bytes_le) + ")"
    )
    assert anchor_filter("objectGUID", "not-a-guid") is None


def test_text_anchor_filter_is_escaped() -> None:
    """A text anchor key is escaped in the equality filter."""
    assert anchor_filter("entryUUID", "*)(uid=*") == "(entryUUID=\\2a\\29\\28uid=\\2a)"


def test_to_user_merges_and_lower_cases() -> None:
    """Attribute names are lower-cased; an undecodable attribute is named, not kept."""
    user = to_user(
        "uid=a,dc=x",
        {"Mail": [b"a@x"], "entryUUID": [b"u-1"], "jpegPhoto": [b"\xff"]},
        "entryUUID",
        "u-1",
        disabled=False,
        in_scope=True,
        scope_reason="r",
    )
    assert user.attributes == {"mail": ("a@x",), "entryuuid": ("u-1",)}
    assert user.undecodable == frozenset({"jpegphoto"})


class _RangedGroups:
    """A fake connection serving a group's members the way Active Directory does (3 per slice)."""

    def __init__(self, members: list[str], *, stop_after: int | None = None) -> None:
        self.members = members
        self.stop_after = stop_after
        self.config = DirectoryConfig(url="ldap://ad.example", base_dn="dc=x")

    def _slice(self, start: int) -> dict[str, list[bytes]]:
        if self.stop_after is not None and start >= self.stop_after:
            return {}
        end = start + 3
        label = "*" if end >= len(self.members) else str(end - 1)
        return {f"member;range={start}-{label}": [m.encode() for m in self.members[start:end]]}

    def read(self, dn: str, filterstr: str, attributes: list[str], *, what: str) -> Any:
        requested = attributes[0]
        if ";range=" in requested:
            return dn, self._slice(int(requested.split("=")[1].split("-")[0]))
        return dn, self._slice(0)


def test_active_directory_ranged_members_are_read_to_the_end() -> None:
    """member;range=0-2, 3-5, 6-* are all read: every member of a large AD group is in scope."""
    members = [f"cn=user{i},dc=x" for i in range(8)]
    config = DirectoryConfig(url="ldap://ad.example", base_dn="dc=x", scope=ScopeConfig(groups=["cn=g,dc=x"]))
    membership = expand_membership(_RangedGroups(members), config, lambda _dn: False)  # type: ignore[arg-type]
    assert set(membership.reasons) == {normalize_dn(m) for m in members}


def test_a_broken_member_range_is_an_incomplete_read() -> None:
    """If the server stops answering ranges, the membership is unknown: DirectoryIncompleteError."""
    members = [f"cn=user{i},dc=x" for i in range(8)]
    config = DirectoryConfig(url="ldap://ad.example", base_dn="dc=x", scope=ScopeConfig(groups=["cn=g,dc=x"]))
    with pytest.raises(DirectoryIncompleteError, match="range"):
        expand_membership(_RangedGroups(members, stop_after=3), config, lambda _dn: False)  # type: ignore[arg-type]
