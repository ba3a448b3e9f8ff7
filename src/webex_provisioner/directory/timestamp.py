"""``TimestampFeed``: incremental cycles by ``modifyTimestamp`` polling, for any LDAP server.

Each cycle searches the directory users, and the groups, modified at or after the last poll's
start minus ``directory.timestamp_overlap`` (which covers clock skew between this host and the
server, replication delay and the timestamps' one-second resolution). What the overlap delivers
twice is planned twice and changes nothing the second time.

A deleted entry has no timestamp left to find: deletes are invisible to polling, and so is a
deleted nested group. The periodic full cycle of ``run`` (``schedule.full_every``) finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.feed import Fetched, LdapChangeFeed, Position
from webex_provisioner.directory.ldap import LdapDirectory

_FORMAT = "%Y%m%d%H%M%SZ"


def generalized_time(moment: datetime) -> str:
    """``20261127141631Z``: an LDAP GeneralizedTime in UTC, to the second."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def _now() -> datetime:
    return datetime.now(UTC)


class TimestampFeed(LdapChangeFeed):
    """A ``MarkableFeed`` over ``modifyTimestamp`` (see the module docstring for what it cannot see)."""

    kind = "timestamp"
    watermark_name = "directory.modify_timestamp.watermark"

    def __init__(
        self, config: DirectoryConfig, directory: LdapDirectory, *, clock: Callable[[], datetime] = _now
    ) -> None:
        super().__init__(config, directory)
        self._clock = clock
        self._bases: list[str] | None = None

    def _position(self, conn: Connection) -> Position:
        return {"since": generalized_time(self._clock())}

    def _fetch(self, conn: Connection, position: Position) -> Fetched:
        config = self.config
        started = self._clock()
        try:
            since = datetime.strptime(position["since"], _FORMAT).replace(tzinfo=UTC)
        except (KeyError, ValueError):
            since = datetime.fromtimestamp(0, UTC)
        stamp = f"(modifyTimestamp>={generalized_time(since - config.timestamp_overlap)})"
        entries = list(
            conn.search_all(
                config.base_dn,
                all_of(config.user_filter, stamp),
                self.labeller.attributes,
                what="directory users modified since the last cycle",
            )
        )
        if self._bases is None:
            self._bases = self.group_bases(conn) if self.watched_groups else []
        groups_changed = any(
            True
            for base in self._bases
            for _ in conn.search_all(
                base, all_of(config.group_filter, stamp), ["1.1"], what="groups modified since the last cycle"
            )
        )
        return Fetched(
            position={"since": generalized_time(started)}, entries=entries, groups_changed=groups_changed
        )
