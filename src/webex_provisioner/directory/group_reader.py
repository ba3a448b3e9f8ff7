"""From group entries to ``DirectoryGroup`` values, for one group read.

A ``GroupReader`` lives for one ``read_groups`` (or ``find_group``): it remembers the member
values of every group it read, selected or nested, so that a group nested in several selected
groups is read once. Member values follow Active Directory's ranged retrieval to the end
(``groups.member_values``); the names the ``groups.name`` rule reads are decoded as text.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import normalize_dn
from webex_provisioner.directory.entries import anchor_value
from webex_provisioner.directory.group_listing import GroupListing
from webex_provisioner.directory.groups import member_values
from webex_provisioner.directory.nesting import flatten
from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model import DirectoryGroup

log = structlog.get_logger()


class _Normalized(dict[str, str]):
    """A memo of ``normalize_dn``: a user is a member of many groups (a third of a read's time
    at 1,000 groups of 300 members without it). A DN already in normal form is its own normal
    form (one string, not two equal ones)."""

    def __missing__(self, dn: str) -> str:
        value = normalize_dn(dn)
        self[dn] = value = dn if value == dn else value
        return value


class _Shared(dict[str, str]):
    """One string for each distinct member value of a read: a user in three groups is read three
    times, and each group's values are kept for the groups nesting it (at 1,000 groups of 300
    members, 200,000 strings fewer)."""

    def values_of(self, values: list[str]) -> tuple[str, ...]:
        return tuple(self.setdefault(value, value) for value in values)


class GroupReader:
    """Reads groups into ``DirectoryGroup`` values; see the module docstring.

    ``names`` are the attributes ``groups.name`` reads; ``nested`` is ``groups.nested ==
    "flatten"``; ``listing`` tells which member DNs are groups.
    """

    def __init__(
        self,
        conn: Connection,
        config: DirectoryConfig,
        listing: GroupListing,
        *,
        names: Collection[str],
        nested: bool,
    ) -> None:
        self._conn = conn
        self._config = config
        self._listing = listing
        self._names = frozenset(name.lower() for name in names)
        self._nested = nested
        self._members: dict[str, tuple[str, ...] | None] = {}
        self._normalized = _Normalized()
        self._shared = _Shared()
        self.nested_reads = 0

    def group(self, dn: str, attrs: Mapping[str, list[bytes]]) -> DirectoryGroup:
        """The group of this entry (read with the anchor, the name attributes and the member
        attributes), its members flattened as ``groups.nested`` says.

        A group without an anchor the bind DN can read raises ``DirectoryIncompleteError``: left
        out, it would look deleted."""
        config = self._config
        anchor = anchor_value(attrs, config.anchor)
        if anchor is None:
            raise DirectoryIncompleteError(
                f"the group {dn} at {config.url} has no {config.anchor} the bind DN can read, so it "
                f"cannot be linked; grant the bind DN read access to {config.anchor} (or fix "
                "directory.anchor). No group was read: a group left out would look deleted",
                retryable=False,
            )
        values = self._shared.values_of(member_values(self._conn, dn, attrs, config.member_attributes))
        self._members[self._normalized[dn]] = values
        found = flatten(
            dn,
            values,
            is_group=self._listing.is_group,
            read_members=self._read_members,
            nested=self._nested,
            normalize=self._normalized.__getitem__,
        )
        return DirectoryGroup(
            anchor=anchor,
            dn=dn,
            attributes=self._name_attributes(dn, attrs, anchor),
            members=found.members,
            nested=found.nested,
            cycles=found.cycles,
        )

    def _read_members(self, dn: str) -> Sequence[str] | None:
        """The member values of the nested group at ``dn``, read once per reader; ``None`` when
        it is no group (deleted since the listing)."""
        key = self._normalized[dn]
        if key not in self._members:
            config = self._config
            listed = self._listing.dns.get(key, dn)
            found = self._conn.read(
                listed, config.group_filter, config.member_attributes, what="the nested group"
            )
            self.nested_reads += 1
            self._members[key] = (
                None
                if found is None
                else self._shared.values_of(
                    member_values(self._conn, found[0], found[1], config.member_attributes)
                )
            )
        return self._members[key]

    def _name_attributes(
        self, dn: str, attrs: Mapping[str, list[bytes]], anchor: str
    ) -> dict[str, tuple[str, ...]]:
        """The attributes ``groups.name`` reads, names lower case, values as text (a value that
        is not UTF-8 is left out and logged; the anchor is its text form)."""
        anchor_key = self._config.anchor.lower()
        decoded: dict[str, tuple[str, ...]] = {}
        for name, raw in attrs.items():
            key = name.lower()
            if key not in self._names:
                continue
            if key == anchor_key:
                decoded[key] = (anchor,)
                continue
            values = []
            for value in raw:
                try:
                    values.append(value.decode("utf-8"))
                except UnicodeDecodeError:
                    log.warning(
                        "directory.group_name_undecodable", group=dn, attribute=name, value=value.hex()
                    )
            if values:
                decoded[key] = decoded.get(key, ()) + tuple(values)
        return decoded
