"""RFC 4533 content synchronization (OpenLDAP syncprov) over one bound connection.

``SyncConnection.refresh`` runs one refreshOnly search from a cookie with python-ldap's
``SyncreplConsumer`` and returns what changed: the changed entries, and either the entries
deleted since the cookie (when the server keeps a session log) or the complete list of entries
still present (the *present phase*, when it does not: after a restart of OpenLDAP 2.5, say).
``persist`` starts a refreshAndPersist search whose messages ``poll`` waits for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ldap
from ldap.syncrepl import SyncInfoMessage, SyncreplConsumer

from webex_provisioner.directory.connection import Connection, Entry, describe
from webex_provisioner.errors import DirectoryError, DirectoryUnavailableError

CONTENT_SYNC_OID = "1.3.6.1.4.1.4203.1.9.1.1"
_SYNC_REFRESH_REQUIRED = 4096  # e-syncRefreshRequired (RFC 4533 §3.3.2)


class CookieRejectedError(DirectoryError):
    """The server will not continue from this cookie; a full read must take its place."""


@dataclass
class SyncResult:
    """One refresh: changed entries, deleted entry UUIDs, or (present phase) every present UUID.

    ``present`` is ``None`` unless the server answered with a present phase; then every entry
    matching the search that is neither in ``present`` nor in ``entries`` was deleted.
    """

    entries: list[tuple[Entry, str]] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    present: set[str] | None = None
    cookie: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.entries or self.deleted or self.present is not None)


class _Consumer(SyncreplConsumer):  # type: ignore[misc]  # python-ldap is untyped
    """python-ldap's consumer loop, collecting into a ``SyncResult`` instead of a local mirror."""

    def __init__(self, raw: Any, cookie: str | None) -> None:
        self.search_ext = raw.search_ext
        self.result4 = raw.result4
        self.result = SyncResult(cookie=cookie)
        self._presented: set[str] = set()

    def syncrepl_get_cookie(self) -> str | None:
        return self.result.cookie

    def syncrepl_set_cookie(self, cookie: str | bytes) -> None:
        self.result.cookie = cookie.decode("utf-8") if isinstance(cookie, bytes) else str(cookie)

    def syncrepl_entry(self, dn: str, attrs: dict[str, list[bytes]], uuid: str) -> None:
        self.result.entries.append(((dn, attrs), uuid))

    def syncrepl_delete(self, uuids: Sequence[str]) -> None:
        self.result.deleted.update(uuids)

    def syncrepl_present(self, uuids: Sequence[str] | None, refreshDeletes: bool = False) -> None:  # noqa: N803
        if uuids is not None:
            self._presented.update(uuids)
        elif not refreshDeletes:  # the end of a present phase: the unlisted entries are gone
            self.result.present = set(self._presented)

    def syncrepl_refreshdone(self) -> None:
        return None


class SyncConnection(Connection):
    """A ``Connection`` that also speaks content synchronization."""

    def refresh(
        self, base: str, filterstr: str, attributes: Sequence[str], cookie: str | None, *, what: str
    ) -> SyncResult:
        """Everything that changed under ``base`` (matching ``filterstr``) since ``cookie``.

        ``cookie`` ``None`` returns every entry. Raises ``CookieRejectedError`` when the server
        refuses the cookie (a restored or different server), and ``DirectoryError`` subclasses
        like every other directory operation.
        """
        consumer = _Consumer(self._ldap, cookie)
        doing = f"content sync of {what} under {base}"
        try:
            msgid = consumer.syncrepl_search(
                base,
                ldap.SCOPE_SUBTREE,
                mode="refreshOnly",
                filterstr=filterstr,
                attrlist=list(attributes),
            )
            while consumer.syncrepl_poll(msgid=msgid, all=1, timeout=self.config.timeout):
                pass
        except ldap.LDAPError as exc:
            raise self._sync_failed(exc, doing) from exc
        return consumer.result

    def mark(self, base: str) -> str:
        """A cookie for now, cheaply: a content sync of the one entry at ``base``."""
        result = self.refresh_base(base)
        if result.cookie is None:
            raise DirectoryError(
                f"the directory at {self.config.url} answered a content sync of {base} without a "
                "cookie; set directory.change_detection: timestamp"
            )
        return result.cookie

    def refresh_base(self, base: str) -> SyncResult:
        consumer = _Consumer(self._ldap, None)
        try:
            msgid = consumer.syncrepl_search(
                base, ldap.SCOPE_BASE, mode="refreshOnly", filterstr="(objectClass=*)", attrlist=["1.1"]
            )
            while consumer.syncrepl_poll(msgid=msgid, all=1, timeout=self.config.timeout):
                pass
        except ldap.LDAPError as exc:
            raise self._sync_failed(exc, f"content sync of {base}") from exc
        return consumer.result

    def persist(self, base: str, filterstr: str, cookie: str | None) -> int:
        """Start a refreshAndPersist search (entry UUIDs only); returns its message id."""
        consumer = _Consumer(self._ldap, cookie)
        try:
            return int(
                consumer.syncrepl_search(
                    base, ldap.SCOPE_SUBTREE, mode="refreshAndPersist", filterstr=filterstr, attrlist=["1.1"]
                )
            )
        except ldap.LDAPError as exc:
            raise self._sync_failed(exc, f"persistent content sync under {base}") from exc

    def poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a message of a persistent search; ``True`` when it says
        something changed (an entry, a delete or present list), ``False`` on silence or a mere
        end-of-refresh marker. Raises ``DirectoryUnavailableError`` when a search ends."""
        try:
            kind, messages, _msgid, _ctrls, _n, _v = self._ldap.result4(
                ldap.RES_ANY, all=0, timeout=timeout, add_intermediates=1, add_ctrls=1
            )
        except ldap.TIMEOUT:
            return False
        except ldap.LDAPError as exc:
            raise self._sync_failed(exc, "waiting for directory changes") from exc
        if kind == ldap.RES_SEARCH_ENTRY:
            return True
        if kind == ldap.RES_INTERMEDIATE:
            for name, value, _controls in messages:
                if name == SyncInfoMessage.responseName and SyncInfoMessage(value).syncIdSet is not None:
                    return True
            return False
        if kind == ldap.RES_SEARCH_RESULT:
            self.broken = True
            raise DirectoryUnavailableError(
                f"the directory at {self.config.url} ended the persistent content sync; reconnecting"
            )
        return False

    def _sync_failed(self, exc: ldap.LDAPError, doing: str) -> DirectoryError:
        details: dict[str, Any] = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        refused = details.get("result") == _SYNC_REFRESH_REQUIRED or (
            isinstance(exc, ldap.UNWILLING_TO_PERFORM) and "newer than provider" in describe(exc)
        )
        if refused:
            return CookieRejectedError(
                f"{doing} at {self.config.url}: the server refused the stored cookie ({describe(exc)}); "
                "a full read takes its place"
            )
        return self._failed(exc, doing)
