"""The group listing behind the digest, without a server: what the digest covers, when it
refuses to be stable (changes dated only to the second, no readable change marker), and where
groups are listed when the root DSE does not say."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.group_listing import (
    CHANGE_MARKERS,
    SETTLE_SECONDS,
    group_contexts,
    list_groups,
)
from webex_provisioner.errors import DirectoryError

Row = tuple[str, dict[str, list[bytes]]]
CONFIG = DirectoryConfig(url="ldap://ldap.example", base_dn="ou=people,dc=example,dc=com")


class _Listing:
    """A connection whose group search answers ``rows``, and whose root DSE answers ``contexts``
    (or fails when ``None``)."""

    def __init__(
        self, rows: Sequence[Row] = (), contexts: Sequence[str] | None = ("dc=example,dc=com",)
    ) -> None:
        self.rows = list(rows)
        self.contexts = contexts
        self.searches: list[tuple[str, str, list[str]]] = []

    def search_all(
        self, base: str, filterstr: str, attributes: Sequence[str], *, what: str, at_most: int | None = None
    ) -> Any:
        self.searches.append((base, filterstr, list(attributes)))
        return iter(self.rows)

    def root_dse(self) -> dict[str, list[bytes]]:
        if self.contexts is None:
            raise DirectoryError("reading the root DSE failed: insufficient access")
        return {"namingContexts": [c.encode() for c in self.contexts]}


def row(name: str, anchor: str, **markers: str) -> Row:
    attrs = {"entryUUID": [anchor.encode()], **{k: [v.encode()] for k, v in markers.items()}}
    return f"cn={name},ou=groups,dc=example,dc=com", attrs


def digest(rows: Sequence[Row], settings: str = "s") -> str:
    return list_groups(_Listing(rows), CONFIG, ["dc=example,dc=com"], settings).digest  # type: ignore[arg-type]


def stamp(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y%m%d%H%M%SZ")


CSN = "20260101000000.000001Z#000000#000#000000"


def test_the_listing_asks_for_anchors_and_change_markers_only() -> None:
    """One search per context with the group filter, asking for the anchor and the change
    markers, never the member attributes; the listed DNs are the groups."""
    conn = _Listing([row("eng", "u-1", entryCSN=CSN)])
    listing = list_groups(conn, CONFIG, ["dc=example,dc=com"], "s")  # type: ignore[arg-type]
    assert conn.searches == [("dc=example,dc=com", CONFIG.group_filter, ["entryUUID", *CHANGE_MARKERS])]
    assert listing.is_group("cn=eng,ou=groups,dc=example,dc=com")
    assert not listing.is_group("uid=ann,ou=people,dc=example,dc=com")


def test_the_digest_is_stable_and_order_free_but_sees_every_change() -> None:
    """Equal rows in any order give equal digests; another marker, DN, anchor, an added or a
    removed group, or other settings each give another digest."""
    rows = [row("eng", "u-1", entryCSN=CSN), row("ops", "u-2", entryCSN=CSN)]
    same = digest(rows)
    assert digest(list(reversed(rows))) == same
    variants = [
        [row("eng", "u-1", entryCSN=CSN.replace("000001", "000002")), rows[1]],
        [row("engineering", "u-1", entryCSN=CSN), rows[1]],
        [row("eng", "u-9", entryCSN=CSN), rows[1]],
        [*rows, row("new", "u-3", entryCSN=CSN)],
        rows[:1],
    ]
    assert len({same, *(digest(v) for v in variants)}) == len(variants) + 1
    assert digest(rows, settings="other") != same


def test_a_recent_change_dated_to_the_second_unsettles_the_digest() -> None:
    """With modifyTimestamp alone, a group changed within ``SETTLE_SECONDS`` makes the digest
    equal to no other (a second change in the same second would not show); once the change is
    older, the digest is stable."""
    recent = [row("eng", "u-1", modifyTimestamp=stamp(0))]
    assert digest(recent) != digest(recent)
    settled = [row("eng", "u-1", modifyTimestamp=stamp(SETTLE_SECONDS + 5))]
    assert digest(settled) == digest(settled)
    fine = [row("eng", "u-1", modifyTimestamp=stamp(0), uSNChanged="4711")]
    assert digest(fine) == digest(fine)


def test_a_group_without_a_readable_change_marker_unsettles_the_digest() -> None:
    """A group whose change markers the bind DN cannot read gives a digest equal to no other:
    its changes would not show, so every cycle reads the groups."""
    hidden = [row("eng", "u-1")]
    assert digest(hidden) != digest(hidden)


def test_groups_are_listed_in_the_naming_contexts_holding_the_selection() -> None:
    """The longest naming context holding each base; without a readable root DSE, the ``dc=``
    suffix of each base."""
    conn = _Listing(contexts=["dc=example,dc=com", "ou=emea,dc=example,dc=com", "dc=other,dc=org"])
    bases = ["ou=groups,dc=example,dc=com", "cn=x,ou=teams,ou=emea,dc=example,dc=com"]
    assert group_contexts(conn, bases) == ("dc=example,dc=com", "ou=emea,dc=example,dc=com")  # type: ignore[arg-type]
    blind = _Listing(contexts=None)
    assert group_contexts(blind, ["ou=groups,DC=Example,DC=com", "o=corp"]) == ("DC=Example,DC=com", "o=corp")  # type: ignore[arg-type]
