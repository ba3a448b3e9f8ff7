"""The directory groups pushed to Webex (``groups:``): the ``GroupSource`` side of ``LdapDirectory``.

A read lists every group of the naming contexts holding the selection (``group_listing``: the
digest, and which member DNs are groups), then reads the selected groups: the DNs of
``groups.dns``, each of which must exist and match ``directory.group_filter``, or a paged search
of ``groups.selection_filter`` under ``groups.base_dn`` (default ``directory.base_dn``). Each
selected group becomes a ``DirectoryGroup`` (``group_reader``), its members flattened through
nested groups as ``groups.nested`` says (``nesting``).

Any failure raises: a read that stops early is never returned as a smaller selection, which
would delete Webex groups. The digest is listed *before* the groups are read, so a change made
during a read makes the next digest differ from the one this read returns.

Like ``find_user``, these searches use the directory's one connection: a ``read_users`` stream
read in this process (not a reader process) must be finished or closed first, or the paged
searches would disturb each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import ldap
import structlog

from webex_provisioner.config import DirectoryConfig, GroupsConfig
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory.connection import Connection, Entry
from webex_provisioner.directory.dn import is_dn
from webex_provisioner.directory.entries import anchor_filter
from webex_provisioner.directory.group_listing import GroupListing, group_contexts, list_groups
from webex_provisioner.directory.group_reader import GroupReader
from webex_provisioner.errors import DirectoryError
from webex_provisioner.model import DirectoryGroup, GroupRead

log = structlog.get_logger()

NO_GROUPS_DIGEST = "no-groups"

GROUPS_PER_PAGE = 100
"""Selected groups asked for a page at a time: a page holds every member value of its groups as
the server sent them (1,000 groups of 300 members in one page: about 30 MB at once)."""
"""The digest of a directory without ``groups:`` (no group is ever read)."""


class PushedGroups:
    """Reads the groups ``groups`` selects from the directory ``config`` describes, over a
    connection the caller hands in (``LdapDirectory``'s)."""

    def __init__(self, config: DirectoryConfig, groups: GroupsConfig) -> None:
        self.config = config
        self.groups = groups
        self.names = sorted(groups.name.attributes(), key=str.lower)
        wanted = [config.anchor, *self.names, *config.member_attributes]
        self.attributes = list({name.lower(): name for name in wanted}.values())
        self._bases = tuple(groups.dns) or (groups.base_dn or config.base_dn,)
        self._contexts: tuple[str, ...] | None = None
        self._settings = json.dumps(
            {
                "url": config.url,
                "anchor": config.anchor,
                "group_filter": config.group_filter,
                "member_attributes": config.member_attributes,
                "groups": groups.model_dump(mode="json"),
            },
            sort_keys=True,
        )

    @property
    def bases(self) -> tuple[str, ...]:
        """Where the selected groups are: ``groups.base_dn``, or the DNs of ``groups.dns``."""
        return self._bases

    def digest(self, conn: Connection) -> str:
        """The digest of the groups now (one listing; no member read)."""
        return self._listing(conn).digest

    def read(self, conn: Connection) -> GroupRead:
        """Every selected group, and the digest listed just before they were read."""
        listing = self._listing(conn)
        reader = self._reader(conn, listing)
        found: dict[str, DirectoryGroup] = {}
        for dn, attrs in self._selected(conn):
            group = reader.group(dn, attrs)
            found.setdefault(group.anchor, group)  # a DN listed twice in groups.dns
        log.info(
            "directory.groups_read",
            url=self.config.url,
            groups=len(found),
            listed=len(listing.dns),
            nested_reads=reader.nested_reads,
        )
        return GroupRead(tuple(found.values()), listing.digest)

    def find(self, conn: Connection, key: str) -> DirectoryGroup | None:
        """The group (selected or not) whose DN or anchor is ``key``, with its members."""
        key = key.strip()
        entry = self._lookup(conn, key) if key else None
        if entry is None:
            return None
        return self._reader(conn, self._listing(conn)).group(*entry)

    # -- internals ----------------------------------------------------------------------------

    def _naming_contexts(self, conn: Connection) -> tuple[str, ...]:
        """The naming contexts the selected groups and their nested groups are listed in."""
        if self._contexts is None:
            self._contexts = group_contexts(conn, self._bases)
        return self._contexts

    def _listing(self, conn: Connection) -> GroupListing:
        return list_groups(conn, self.config, self._naming_contexts(conn), self._settings)

    def _reader(self, conn: Connection, listing: GroupListing) -> GroupReader:
        return GroupReader(
            conn, self.config, listing, names=self.names, nested=self.groups.nested == "flatten"
        )

    def _selected(self, conn: Connection) -> Iterator[Entry]:
        if self.groups.dns:
            yield from [self._listed_group(conn, dn) for dn in self.groups.dns]  # all exist, or none read
            return
        base = self.groups.base_dn or self.config.base_dn
        query = self.groups.selection_filter(self.config.group_filter, self.config.type)
        try:
            yield from conn.search_all(
                base, query, self.attributes, what="the groups selected for Webex", at_most=GROUPS_PER_PAGE
            )
        except DirectoryError as exc:
            if not isinstance(exc.__cause__, ldap.NO_SUCH_OBJECT):
                raise
            setting = (
                "groups.base_dn" if self.groups.base_dn else "groups.base_dn (default: directory.base_dn)"
            )
            raise DirectoryError(
                f"the base {base} of the groups selected for Webex does not exist at {self.config.url} "
                f"(or the bind DN cannot see it); fix {setting}. No group was read"
            ) from exc

    def _listed_group(self, conn: Connection, dn: str) -> Entry:
        config = self.config
        found = conn.read(dn, config.group_filter, self.attributes, what="the group of groups.dns")
        if found is not None:
            return found
        if conn.read(dn, "(objectClass=*)", ["1.1"], what="the group of groups.dns") is None:
            raise DirectoryError(
                f"the group {dn} of groups.dns does not exist at {config.url} (or the bind DN cannot "
                "see it); fix groups.dns. No group was read: a group missing from the read would look "
                "deleted"
            )
        raise DirectoryError(
            f"the entry {dn} of groups.dns at {config.url} is not a group: it does not match "
            f"directory.group_filter {config.group_filter}; fix groups.dns or widen directory.group_filter"
        )

    def _lookup(self, conn: Connection, key: str) -> Entry | None:
        config = self.config
        if is_dn(key):
            return conn.read(key, config.group_filter, self.attributes, what="the directory group")
        by_anchor = anchor_filter(config.anchor, key)
        if by_anchor is None:
            return None
        query = all_of(config.group_filter, by_anchor)
        for context in self._naming_contexts(conn):
            found = conn.search_few(context, query, self.attributes, what="the directory group", limit=2)
            if found:
                return found[0]
        return None
