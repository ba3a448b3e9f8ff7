"""Change detection: which ``ChangeFeed`` a directory gets (``directory.change_detection``).

* ``content_sync``: RFC 4533 content synchronization (``ContentSyncFeed``); needs the server's
  content sync control (OpenLDAP's syncprov overlay) and ``directory.anchor: entryUUID``.
* ``timestamp``: ``modifyTimestamp`` polling (``TimestampFeed``); any server, deletes invisible.
* ``auto``: content sync when the server's root DSE lists the control and the anchor is
  entryUUID, else timestamp polling. Active Directory (``directory.type: activedirectory``) gets
  its own feeds (uSNChanged, DirSync) from ``directory/ad_changes.py``.
* ``none``: no feed; every cycle is a full cycle.

``watermark_name(feed)`` is the state store key a feed's watermark is kept under: one per kind,
so switching the mode never hands one feed's watermark to another.
"""

from __future__ import annotations

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.ad_changes import open_ad_change_feed
from webex_provisioner.directory.content_sync import ContentSyncFeed
from webex_provisioner.directory.ldap import LdapDirectory
from webex_provisioner.directory.syncrepl import CONTENT_SYNC_OID
from webex_provisioner.directory.timestamp import TimestampFeed
from webex_provisioner.errors import ConfigError
from webex_provisioner.ports import ChangeFeed

log = structlog.get_logger()

__all__ = ["ContentSyncFeed", "TimestampFeed", "feed_kind", "open_change_feed", "watermark_name"]


def watermark_name(feed: ChangeFeed) -> str:
    """The state store key of ``feed``'s watermark (``ChangeFeed.watermark_name``)."""
    return feed.watermark_name


def feed_kind(feed: ChangeFeed | None) -> str:
    """``content_sync``, ``timestamp``, ... (``none`` without a feed), for logs and metrics."""
    return "none" if feed is None else feed.kind


def open_change_feed(config: DirectoryConfig, directory: LdapDirectory) -> ChangeFeed | None:
    """The change feed ``config.change_detection`` asks for (``None`` for ``none``).

    ``auto`` asks the server which controls it offers, so it raises ``DirectoryError``
    subclasses when the directory cannot be reached.
    """
    mode = config.change_detection
    if mode == "none":
        return None
    if config.type == "activedirectory" or mode in ("dirsync", "usn"):
        return open_ad_change_feed(config, directory)
    if mode == "timestamp":
        return TimestampFeed(config, directory)
    entry_uuid = config.anchor.lower() == "entryuuid"
    if mode == "content_sync":
        if not entry_uuid:
            raise ConfigError(
                [
                    f"directory.change_detection: content_sync identifies entries by entryUUID, but "
                    f"directory.anchor is {config.anchor}; set change_detection: timestamp (or auto)"
                ]
            )
        return ContentSyncFeed(config, directory)
    controls = directory.probe().get("supported_controls", "").split(",")
    if entry_uuid and CONTENT_SYNC_OID in controls:
        return ContentSyncFeed(config, directory)
    log.info(
        "directory.change_detection",
        mode="timestamp",
        detail="the server offers no content sync (RFC 4533)"
        if entry_uuid
        else f"content sync needs anchor entryUUID, not {config.anchor}",
    )
    return TimestampFeed(config, directory)
