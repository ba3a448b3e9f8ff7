"""``ContentSyncFeed``: incremental cycles from RFC 4533 content synchronization (OpenLDAP syncprov).

Two refreshOnly searches per cycle, each from its stored cookie: the directory users (base DN,
user filter, the mapped attributes) and the groups (``group_filter`` under the naming contexts
holding the targeted groups and the licence rules' groups, entry UUIDs only). With a session
log (``syncprov-sessionlog``) the server names the deleted entries; without one, or after the
log was lost (OpenLDAP 2.5 keeps it in memory), it lists every entry still present and the feed
compares (see ``LdapChangeFeed``).

Content sync identifies entries by ``entryUUID``, so it needs ``directory.anchor: entryUUID``.
"""

from __future__ import annotations

from typing import cast

from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import is_under, normalize_dn
from webex_provisioner.directory.feed import Fetched, LdapChangeFeed, Position
from webex_provisioner.directory.persist import ChangeListener
from webex_provisioner.directory.syncrepl import SyncConnection

USERS = "users"
GROUPS = "groups "  # + base DN


class ContentSyncFeed(LdapChangeFeed):
    """A ``MarkableFeed`` and ``NotifyingFeed`` over content synchronization: ``notifier``
    holds persistent searches (``persist_searches``) that say when the directory changed."""

    kind = "content_sync"
    watermark_name = "directory.content_sync.cookie"

    _bases: list[str] | None = None

    def _open(self) -> Connection:
        return SyncConnection(self.config)

    def _bases_of(self, conn: Connection) -> list[str]:
        if self._bases is None:
            self._bases = self.group_bases(conn) if self.watched_groups else []
        return self._bases

    def _position(self, conn: Connection) -> Position:
        sync = cast(SyncConnection, conn)
        position = {USERS: sync.mark(self.config.base_dn)}
        for base in self._bases_of(conn):
            position[GROUPS + base] = sync.mark(base)
        return position

    def _fetch(self, conn: Connection, position: Position) -> Fetched:
        sync = cast(SyncConnection, conn)
        config = self.config
        users = sync.refresh(
            config.base_dn,
            config.user_filter,
            self.labeller.attributes,
            position.get(USERS),
            what="directory users",
        )
        new = {USERS: users.cookie or position.get(USERS, "")}
        fetched = Fetched(
            position=new,
            entries=[entry for entry, _uuid in users.entries],
            deleted=users.deleted,
            present=users.present,
        )
        # The session log reports, under the groups' base, every entry changed that does not
        # match the group filter as deleted (users included); only the others may be groups.
        not_groups = users.deleted | {uuid for _entry, uuid in users.entries}
        for base in self._bases_of(conn):
            key = GROUPS + base
            groups = sync.refresh(base, config.group_filter, ["1.1"], position.get(key), what="groups")
            new[key] = groups.cookie or position.get(key, "")
            fetched.group_entries |= {uuid for _entry, uuid in groups.entries}
            fetched.group_deletes |= groups.deleted - not_groups
            fetched.groups_changed |= groups.present is not None
        return fetched

    def _group_uuids(self, conn: Connection) -> frozenset[str] | None:
        found: set[str] = set()
        for base in self._bases_of(conn):
            for _dn, attrs in conn.search_all(base, self.config.group_filter, ["entryUUID"], what="groups"):
                found.update(v.decode("utf-8", "replace") for k, vs in attrs.items() for v in vs)
        return frozenset(found)

    def notifier(self) -> ChangeListener:
        """A new, unstarted listener of this feed's persistent searches (``ports.ChangeNotifier``)."""
        return ChangeListener(self)

    def persist_searches(self) -> list[tuple[str, str, str | None]]:
        """(base, filter, cookie) of the searches a persistent listener should hold, from the
        position of the last watermark handed out."""
        position = self.latest_position() or {}
        searches: list[tuple[str, str, str | None]] = [
            (self.config.base_dn, self.config.user_filter, position.get(USERS))
        ]
        searches += [
            (base, self.config.group_filter, position.get(GROUPS + base)) for base in self._bases or []
        ]
        watched = {normalize_dn(base) for base in self._bases or []}
        searches += [  # the pushed groups' changes wake the daemon too (its groups phase reads them)
            (base, self.config.group_filter, None)
            for base in self.directory.pushed_group_bases
            if not any(is_under(base, w) for w in watched)
        ]
        return searches
