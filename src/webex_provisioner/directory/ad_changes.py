"""Incremental change detection for Active Directory: DirSync, or uSNChanged on one pinned DC.

Both feeds are ``LdapChangeFeed`` subclasses (``directory/feed.py``: labelling, group membership
moves and full reads are shared with the OpenLDAP feeds); ``open_ad_change_feed`` returns
``AdChangeFeed``, which uses DirSync and falls back to uSNChanged.

* **DirSync** (control 1.2.840.113556.1.4.841) with the server's cookie as the position. It needs
  the "Replicating Directory Changes" right on the domain; when the server refuses it, a warning
  is logged once and uSNChanged is used from then on. A cookie the server no longer accepts
  (another domain, a rebuilt DC) makes a full read with a fresh cookie. DirSync returns only the
  changed attributes, so changed users are read again; deleted ones come back as tombstones.
* **uSNChanged** against the domain controller ``directory.url`` names. USNs are local to a DC,
  so the position pins it: its ``dnsHostName``, its ``invocationId`` (which changes when its
  database is restored) and its ``highestCommittedUSN``. Another DC, another invocationId or a
  lower USN make a full read. Deletes are found through tombstones: a search under
  ``CN=Deleted Objects`` with the Show Deleted control (1.2.840.113556.1.4.417) for users with
  ``isDeleted=TRUE`` and ``uSNChanged`` above the position, keyed by the anchor (``objectGUID``).

Changed users are searched in the whole domain, not only under the base DN: a linked user moved
out of the base DN comes back out of scope at once (``left_scope``), not at the next full cycle.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

import ldap
import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of, any_of
from webex_provisioner.directory.ad import DIRSYNC_OID
from webex_provisioner.directory.adcontrols import RESPONSE_CONTROLS, DirSyncControl, show_deleted
from webex_provisioner.directory.capabilities import tombstones_readable
from webex_provisioner.directory.connection import Connection, Entry
from webex_provisioner.directory.dn import is_under, normalize_dn
from webex_provisioner.directory.entries import anchor_value, to_user
from webex_provisioner.directory.feed import Fetched, FullReadNeeded, LdapChangeFeed, Position
from webex_provisioner.directory.guid import guid_from_bytes
from webex_provisioner.directory.ldap import LdapDirectory
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError, DirectoryUnavailableError
from webex_provisioner.model import DirectoryUser
from webex_provisioner.ports import ChangeSet

log = structlog.get_logger()

_TOMBSTONES = "(&(isDeleted=TRUE)(objectClass=user))"
_TOMBSTONE_ADVICE = (
    "deleted users are found by full cycles only; let the bind account list {base} "
    '(dsacls "{base}" /takeownership, then dsacls "{base}" /G <domain>\\<account>:LCRP)'
)
# How a server says no to DirSync for this account (or at all).
_REFUSED = (ldap.INSUFFICIENT_ACCESS, ldap.UNAVAILABLE_CRITICAL_EXTENSION)


def open_ad_change_feed(config: DirectoryConfig, directory: LdapDirectory) -> AdChangeFeed:
    """The change feed of an Active Directory (``directory.change_detection``): ``auto`` and
    ``dirsync`` use DirSync and fall back to uSNChanged when the server refuses it; ``usn`` (and
    ``timestamp``, polling) use uSNChanged."""
    return AdChangeFeed(config, directory, dirsync=config.change_detection in ("auto", "dirsync"))


class DirSyncRefusedError(DirectoryError):
    """The server does not let this account use DirSync (no Replicating Directory Changes right)."""


class AdFeed(LdapChangeFeed):
    """What both AD feeds share: users outside the base DN come back out of scope."""

    def __init__(self, config: DirectoryConfig, directory: LdapDirectory) -> None:
        super().__init__(config, directory)
        self._outside: list[Entry] = []

    def changes(self, watermark: str | None) -> ChangeSet:
        self._outside = []
        result = super().changes(watermark)
        if result.full or not self._outside:
            return result
        moved = [u for u in (_moved_away(e, self.config) for e in self._outside) if u is not None]
        return replace(result, changed=(*result.changed, *moved))

    def split(self, entries: Iterable[Entry]) -> list[Entry]:
        """The entries under the base DN; the others are kept to be reported out of scope."""
        inside = []
        for dn, attrs in entries:
            if is_under(dn, self.config.base_dn):
                inside.append((dn, attrs))
            else:
                self._outside.append((dn, attrs))
        return inside

    def naming_context(self, conn: Connection) -> str:
        return naming_context(conn, self.config.base_dn)


class UsnFeed(AdFeed):
    """uSNChanged polling of the pinned domain controller, deletes from tombstones."""

    kind = "usn"
    watermark_name: ClassVar[str] = "directory.active_directory.watermark"

    def __init__(self, config: DirectoryConfig, directory: LdapDirectory) -> None:
        super().__init__(config, directory)
        self._tombstones_readable: bool | None = None  # asked once, on first use

    def _position(self, conn: Connection) -> Position:
        return domain_controller(conn)

    def _fetch(self, conn: Connection, position: Position) -> Fetched:
        config = self.config
        now = domain_controller(conn)
        if position.get("dc") != now["dc"]:
            raise FullReadNeeded(
                f"the domain controller changed ({position.get('dc')} -> {now['dc']}); USNs are per DC"
            )
        if position.get("invocation_id") != now["invocation_id"]:
            raise FullReadNeeded(f"the invocationId of {now['dc']} changed: its database was restored")
        try:
            since = int(position["usn"]) + 1
        except (KeyError, ValueError):
            raise FullReadNeeded("the watermark has no USN") from None
        if since - 1 > int(now["usn"]):
            raise FullReadNeeded(f"the highestCommittedUSN of {now['dc']} went back below the watermark")
        context = self.naming_context(conn)
        newer = f"(uSNChanged>={since})"
        entries = conn.search_all(
            context,
            all_of(config.user_filter, newer),
            self.labeller.attributes,
            what="changed directory users",
        )
        groups_changed = bool(self.watched_groups) and any(
            True
            for _ in conn.search_all(
                context, all_of(config.group_filter, newer), ["1.1"], what="changed groups"
            )
        )
        return Fetched(
            position=now,
            entries=self.split(entries),
            deleted=set(self._tombstones(conn, context, newer)),
            groups_changed=groups_changed,
        )

    def _tombstones(self, conn: Connection, context: str, newer: str) -> list[str]:
        base = f"CN=Deleted Objects,{context}"
        if self._tombstones_readable is None:
            self._tombstones_readable = tombstones_readable(conn, context)
            if not self._tombstones_readable:
                log.warning(
                    "directory.tombstones_unreadable",
                    base=base,
                    detail=_TOMBSTONE_ADVICE.format(base=base),
                )
        if not self._tombstones_readable:
            return []
        try:
            found, _controls = conn.search_with_controls(
                base, all_of(_TOMBSTONES, newer), [self.config.anchor], [show_deleted()], what="deleted users"
            )
        except DirectoryUnavailableError:
            raise
        except DirectoryIncompleteError as exc:  # more than MaxPageSize deletes: an unpaged search stops
            raise FullReadNeeded(
                f"too many deleted users to list since the watermark ({exc.message})"
            ) from exc
        except DirectoryError as exc:
            self._tombstones_readable = False
            log.warning(
                "directory.tombstones_unreadable",
                base=base,
                error=exc.message,
                detail=_TOMBSTONE_ADVICE.format(base=base),
            )
            return []
        return [a for _dn, attrs in found if (a := anchor_value(attrs, self.config.anchor)) is not None]


class DirSyncFeed(AdFeed):
    """The DirSync control, its cookie as the position."""

    kind = "dirsync"
    watermark_name: ClassVar[str] = "directory.active_directory.watermark"

    def _position(self, conn: Connection) -> Position:
        cookie, _entries = self._dirsync(conn, b"", keep=False)
        return {"cookie": base64.b64encode(cookie).decode("ascii")}

    def _fetch(self, conn: Connection, position: Position) -> Fetched:
        try:
            cookie = base64.b64decode(position.get("cookie", ""), validate=True)
        except ValueError:
            raise FullReadNeeded("the DirSync cookie in the watermark is unreadable") from None
        if not cookie:
            raise FullReadNeeded("the watermark has no DirSync cookie")
        cookie, entries = self._dirsync(conn, cookie, keep=True)
        deleted = {
            a
            for _dn, attrs in entries
            if _is_deleted(attrs) and (a := anchor_value(attrs, self.config.anchor))
        }
        live = {dn: attrs for dn, attrs in entries if not _is_deleted(attrs)}
        users = self.split(self.labeller.read_dns(conn, set(live)) + self._read_outside(conn, live))
        user_dns = {normalize_dn(dn) for dn, _ in (*users, *self._outside)}
        groups_changed = bool(self.watched_groups) and any(
            self._is_group(conn, dn) for dn in live if normalize_dn(dn) not in user_dns
        )
        return Fetched(
            position={"cookie": base64.b64encode(cookie).decode("ascii")},
            entries=users,
            deleted=deleted,
            groups_changed=groups_changed,
        )

    def _read_outside(self, conn: Connection, live: Mapping[str, Any]) -> list[Entry]:
        found = []
        for dn in live:
            if not is_under(dn, self.config.base_dn):
                entry = conn.read(dn, self.config.user_filter, self.labeller.attributes, what="a moved user")
                if entry is not None:
                    found.append(entry)
        return found

    def _is_group(self, conn: Connection, dn: str) -> bool:
        return conn.read(dn, self.config.group_filter, ["1.1"], what="a changed entry") is not None

    def _dirsync(self, conn: Connection, cookie: bytes, *, keep: bool) -> tuple[bytes, list[Entry]]:
        """Every DirSync page from ``cookie``: the next cookie, and the entries when ``keep``."""
        config = self.config
        context = self.naming_context(conn)
        query = any_of(config.user_filter, config.group_filter, _TOMBSTONES)
        watched = watched_attributes(config, self.labeller.rules.filters.values())
        attributes = sorted({*self.labeller.attributes, *watched, "name", "isDeleted"})
        control = DirSyncControl(cookie)
        kept: list[Entry] = []
        cookies = {cookie}
        while True:
            try:
                found, controls = conn.search_with_controls(
                    context, query, attributes, [control], RESPONSE_CONTROLS, what="changes (DirSync)"
                )
            except (DirectoryUnavailableError, DirectoryIncompleteError):
                raise
            except DirectoryError as exc:
                if isinstance(exc.__cause__, _REFUSED) and not cookie:
                    raise DirSyncRefusedError(exc.message) from exc
                if cookie:
                    raise FullReadNeeded(
                        f"the server did not accept the DirSync cookie ({exc.message})"
                    ) from exc
                raise
            if keep:
                kept += found
            answer = [c for c in controls if c.controlType == DIRSYNC_OID]
            if not answer:
                raise DirectoryIncompleteError(
                    f"the DirSync search at {config.url} came back without the DirSync control, so the "
                    "changes are unknown; check that no proxy between here and the server drops controls"
                )
            control.cookie = answer[0].cookie
            if not answer[0].more_results:
                return control.cookie, kept
            if control.cookie in cookies:
                raise DirectoryIncompleteError(
                    f"the DirSync search at {config.url} says more changes follow but returned a cookie "
                    "it had returned before, so it would never end; the changes are unknown, nothing "
                    "was concluded from them"
                )
            cookies.add(control.cookie)


class AdChangeFeed:
    """A ``MarkableFeed``: DirSync while the server grants it, else uSNChanged; one watermark
    name for both (a watermark of the other kind makes a full read)."""

    watermark_name = "directory.active_directory.watermark"

    def __init__(self, config: DirectoryConfig, directory: LdapDirectory, *, dirsync: bool = True) -> None:
        self._config = config
        self._usn = UsnFeed(config, directory)
        self._dirsync: DirSyncFeed | None = DirSyncFeed(config, directory) if dirsync else None

    @property
    def kind(self) -> str:
        """``dirsync`` or ``usn``: what the next call uses."""
        return (self._dirsync or self._usn).kind

    def changes(self, watermark: str | None) -> ChangeSet:
        if self._dirsync is not None:
            try:
                return self._dirsync.changes(watermark)
            except DirSyncRefusedError as exc:
                self._refused(exc)
        return self._usn.changes(watermark)

    def mark(self) -> str:
        if self._dirsync is not None:
            try:
                return self._dirsync.mark()
            except DirSyncRefusedError as exc:
                self._refused(exc)
        return self._usn.mark()

    def latest_position(self) -> Position | None:
        return (self._dirsync or self._usn).latest_position()

    def close(self) -> None:
        self._usn.close()
        if self._dirsync is not None:
            self._dirsync.close()

    def _refused(self, exc: DirSyncRefusedError) -> None:
        assert self._dirsync is not None
        self._dirsync.close()
        self._dirsync = None
        log.warning(
            "directory.dirsync_refused",
            url=self._config.url,
            bind_dn=self._config.bind_dn,
            error=exc.message,
            detail="using uSNChanged instead; grant the bind account 'Replicating Directory Changes' on "
            "the domain for DirSync, or set directory.change_detection: usn",
        )


def domain_controller(conn: Connection) -> Position:
    """The identity of the DC answering: ``dc`` (dnsHostName), ``invocation_id`` and ``usn``."""
    values = {name.lower(): raw for name, raw in conn.root_dse().items()}
    try:
        usn = int(values["highestcommittedusn"][0])
        host = values["dnshostname"][0].decode("utf-8")
        service = values["dsservicename"][0].decode("utf-8")
    except (KeyError, IndexError, ValueError) as exc:
        raise DirectoryError(
            f"the root DSE of {conn.config.url} has no highestCommittedUSN, dnsHostName or dsServiceName; "
            "Active Directory change detection needs a domain controller: check directory.type and url"
        ) from exc
    ntds = conn.read(service, "(objectClass=*)", ["invocationId"], what="the domain controller's settings")
    raw = {name.lower(): v for name, v in (ntds[1] if ntds else {}).items()}.get("invocationid")
    if not raw:
        raise DirectoryError(
            f"the invocationId of {host} ({service}) cannot be read at {conn.config.url}; let the bind "
            "account read the domain controller's NTDS Settings object"
        )
    return {"dc": host.lower(), "invocation_id": guid_from_bytes(raw[0]), "usn": str(usn)}


def naming_context(conn: Connection, base_dn: str) -> str:
    """The naming context (domain root) holding ``base_dn``: DirSync and tombstones live there."""
    dse = {name.lower(): raw for name, raw in conn.root_dse().items()}
    contexts = [v.decode("utf-8") for v in dse.get("namingcontexts", [])]
    holding = [c for c in contexts if c and is_under(base_dn, c)]
    if holding:
        return max(holding, key=len)
    raise DirectoryError(f"no naming context of {conn.config.url} holds {base_dn}; check directory.base_dn")


def watched_attributes(config: DirectoryConfig, rule_filters: Iterable[str] = ()) -> set[str]:
    """Attributes whose change may change a label: those the filters test (the licence rules'
    ``rule_filters`` too), and the members."""
    names: set[str] = set(config.member_attributes)
    for text in (config.user_filter, config.disabled_filter, config.scope.filter, *rule_filters):
        names.update(attribute_names(text or ""))
    return names - {"objectClass", "objectCategory"}


def attribute_names(ldap_filter: str) -> set[str]:
    """The attribute names an LDAP filter tests, e.g. ``{'userAccountControl'}``."""
    names = set()
    for item in ldap_filter.split("(")[1:]:
        head = item.split("=", 1)[0].split(":", 1)[0].rstrip("~<>")
        if head and head[0].isalpha():
            names.add(head)
    return names


def _is_deleted(attrs: Mapping[str, list[bytes]]) -> bool:
    flags = [value.upper() for name, raw in attrs.items() if name.lower() == "isdeleted" for value in raw]
    return b"TRUE" in flags


def _moved_away(entry: Entry, config: DirectoryConfig) -> DirectoryUser | None:
    dn, attrs = entry
    anchor = anchor_value(attrs, config.anchor)
    if anchor is None:
        return None
    return to_user(
        dn,
        attrs,
        config.anchor,
        anchor,
        disabled=False,
        in_scope=False,
        scope_reason=f"not under the base DN {config.base_dn} (moved away)",
    )
