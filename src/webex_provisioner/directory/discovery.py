"""What ``init`` finds out about a directory before writing a configuration for it.

``Discoverer`` binds once, reads the root DSE (``root``: the vendor, the ``directory.type`` it
looks like, the naming contexts and which one to start from), then ``scan`` looks under a base
DN: which user object classes are there and how many, how many users have an e-mail, the
largest groups (candidates for the scope), whether content sync or DirSync is available, and how
disabled users are marked. Read-only, a handful of searches (entries are counted, not kept).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory.capabilities import (
    CONTENT_SYNC_OID,
    Dse,
    change_detection,
    dirsync_access,
    server_kind,
)
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import is_under
from webex_provisioner.directory.ldap import vendor_of
from webex_provisioner.errors import DirectoryError, DirectoryUnavailableError

MAX_GROUPS = 8
"""Candidate groups shown: the largest, and any named for Webex (``SCOPE_HINTS``)."""
SCOPE_HINTS = ("webex", "collab", "cisco")
"""A group whose name holds one of these is a candidate whatever its size (and the suggested scope)."""

# Naming contexts that hold the server's own configuration, never users.
_SERVER_CONTEXTS = ("cn=config", "cn=schema", "cn=monitor", "o=netscaperoot", "cn=changelog", "cn=accesslog")

USER_CLASSES: dict[str, tuple[tuple[str, str], ...]] = {
    "activedirectory": (("user (person)", "(&(objectCategory=person)(objectClass=user))"),),
    "other": (
        ("inetOrgPerson", "(objectClass=inetOrgPerson)"),
        ("nsPerson", "(objectClass=nsPerson)"),
        ("person", "(objectClass=person)"),
        ("posixAccount", "(objectClass=posixAccount)"),
    ),
}
"""(label, filter) of the object classes counted, by server family."""

DISABLED_MARKS: tuple[tuple[str, str], ...] = (
    ("(userAccountControl:1.2.840.113556.1.4.803:=2)", "userAccountControl's ACCOUNTDISABLE bit"),
    ("(nsAccountLock=TRUE)", "nsAccountLock: true (dsidm account lock)"),
    ("(ds-pwp-account-disabled=true)", "ds-pwp-account-disabled: true"),
    ("(pwdAccountLockedTime=*)", "pwdAccountLockedTime (the ppolicy overlay's lock)"),
)
"""(filter, how it reads) of the ways a directory marks a disabled account."""


@dataclass(frozen=True, slots=True)
class Root:
    """What the root DSE says."""

    vendor: str
    vendor_version: str
    kind: str
    naming_contexts: tuple[str, ...]
    suggested_base: str | None


@dataclass(frozen=True, slots=True)
class Count:
    label: str
    filter: str
    count: int


@dataclass(frozen=True, slots=True)
class GroupCandidate:
    dn: str
    name: str
    members: int


@dataclass(frozen=True, slots=True)
class Discovery:
    """What ``scan`` found under ``base_dn``; ``user_filter``, ``anchor``, ``disabled_filter`` are
    what a configuration should use (the preset's unless the directory says otherwise)."""

    root: Root
    base_dn: str
    user_classes: tuple[Count, ...]
    user_filter: str
    users: int
    with_mail: int
    anchor: str
    groups: tuple[GroupCandidate, ...]
    content_sync: bool
    dirsync: str
    change_detection: str
    disabled: tuple[Count, ...]
    disabled_filter: str | None


def suggested_base(dse: Dse, kind: str) -> str | None:
    """The naming context to start from: AD's default one, else the first that holds data."""
    default = [v for v in dse.get("defaultnamingcontext", []) if v]
    if kind == "activedirectory" and default:
        return default[0]
    contexts = [c for c in dse.get("namingcontexts", []) if c and not c.lower().startswith(_SERVER_CONTEXTS)]
    return contexts[0] if contexts else None


class Discoverer:
    """One bound connection to ``config.url`` (``config.base_dn`` is not used until ``scan``)."""

    def __init__(self, config: DirectoryConfig) -> None:
        self._config = config
        self._conn = Connection(config)
        self._dse: dict[str, list[str]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def root(self) -> Root:
        """The root DSE: vendor, server family, naming contexts, where to start."""
        self._dse = {
            name.lower(): [v.decode("utf-8", "replace") for v in values]
            for name, values in self._conn.root_dse().items()
        }
        kind = server_kind(self._dse)
        vendor, version = vendor_of(self._dse)
        contexts = tuple(c for c in self._dse.get("namingcontexts", []) if c)
        return Root(vendor, version, kind, contexts, suggested_base(self._dse, kind))

    def scan(self, root: Root, base_dn: str) -> Discovery:
        """Everything ``init`` wants to know under ``base_dn`` (``root`` from ``root()``)."""
        typed = typed_config(self._config, root.kind, base_dn)
        if self._conn.read(base_dn, "(objectClass=*)", ["1.1"], what="the base DN") is None:
            raise DirectoryError(
                f"{base_dn} does not exist at {self._config.url} (or the bind DN may not see it); "
                f"give one of the naming contexts ({'; '.join(root.naming_contexts) or 'none listed'}) "
                "or an entry under one"
            )
        family = "activedirectory" if root.kind == "activedirectory" else "other"
        classes = tuple(Count(label, f, self._count(base_dn, f)) for label, f in USER_CLASSES[family])
        user_filter = _user_filter(typed.user_filter, self._count(base_dn, typed.user_filter), classes)
        users = self._count(base_dn, user_filter)
        disabled = self._disabled(base_dn, user_filter, root.kind)
        dirsync = dirsync_access(self._conn, typed, self._dse) if root.kind == "activedirectory" else "no"
        return Discovery(
            root=root,
            base_dn=base_dn,
            user_classes=classes,
            user_filter=user_filter,
            users=users,
            with_mail=self._count(base_dn, all_of(user_filter, "(mail=*)")),
            anchor=typed.anchor,
            groups=self._groups(context_of(base_dn, root.naming_contexts), typed),
            content_sync=CONTENT_SYNC_OID in self._dse.get("supportedcontrol", []),
            dirsync=dirsync,
            change_detection=change_detection(typed, self._dse, dirsync=dirsync == "yes"),
            disabled=disabled,
            disabled_filter=_disabled_filter(typed.disabled_filter, disabled),
        )

    def _count(self, base_dn: str, ldap_filter: str) -> int:
        """How many entries under ``base_dn`` match (0 when the server refuses the filter)."""
        try:
            pages = self._conn.search_pages(base_dn, ldap_filter, ["1.1"], what="entries")
            return sum(len(page) for page in pages)
        except DirectoryUnavailableError:
            raise
        except DirectoryError:
            return 0

    def _disabled(self, base_dn: str, user_filter: str, kind: str) -> tuple[Count, ...]:
        marks = DISABLED_MARKS[:1] if kind == "activedirectory" else DISABLED_MARKS[1:]
        return tuple(Count(label, f, self._count(base_dn, all_of(user_filter, f))) for f, label in marks)

    def _groups(self, base_dn: str, typed: DirectoryConfig) -> tuple[GroupCandidate, ...]:
        """The largest groups under ``base_dn`` (the naming context) by direct members, and
        those named for Webex; largest first."""
        largest: list[tuple[int, str, str]] = []
        named: list[tuple[int, str, str]] = []
        try:
            for dn, attrs in self._conn.search_all(
                base_dn, typed.group_filter, ["cn", *typed.member_attributes], what="groups"
            ):
                group = _group(dn, attrs, typed.member_attributes)
                if any(hint in group[2].lower() for hint in SCOPE_HINTS):
                    named.append(group)
                elif len(largest) < MAX_GROUPS:
                    heapq.heappush(largest, group)
                else:
                    heapq.heappushpop(largest, group)
        except DirectoryUnavailableError:
            raise
        except DirectoryError:
            return ()
        ordered = sorted([*named, *largest], key=lambda g: (-g[0], g[1]))
        return tuple(GroupCandidate(dn, cn, n) for n, dn, cn in ordered)


def _group(
    dn: str, attrs: Mapping[str, Sequence[bytes]], member_attributes: Sequence[str]
) -> tuple[int, str, str]:
    """(direct members, DN, name) of a group entry (AD's ranged ``member;range=...`` counted too)."""
    names = {a.lower() for a in member_attributes}
    members = sum(len(v) for k, v in attrs.items() if k.lower().split(";")[0] in names)
    cn = next((v[0].decode("utf-8", "replace") for k, v in attrs.items() if k.lower() == "cn" and v), dn)
    return members, dn, cn


def context_of(base_dn: str, contexts: Sequence[str]) -> str:
    """The naming context holding ``base_dn`` (groups often sit beside the users, not under
    them), or ``base_dn`` itself when none is listed."""
    holding = [c for c in contexts if is_under(base_dn, c)]
    return max(holding, key=len) if holding else base_dn


def typed_config(config: DirectoryConfig, kind: str, base_dn: str) -> DirectoryConfig:
    """``config`` as a configuration of ``directory.type: kind`` would read, at ``base_dn``: the
    preset's filters, anchor and groups."""
    raw = {
        "type": kind,
        "url": config.url,
        "bind_dn": config.bind_dn,
        "bind_password": config.bind_password,
        "base_dn": base_dn,
        "timeout": config.timeout,
        "start_tls": config.start_tls,
        "ca_file": config.ca_file,
        "tls_verify": config.tls_verify,
    }
    return DirectoryConfig.model_validate(raw)


def _user_filter(preset_filter: str, preset_count: int, classes: Sequence[Count]) -> str:
    """The preset's user filter when it finds users, else the object class with the most."""
    if preset_count or not any(c.count for c in classes):
        return preset_filter
    return max(classes, key=lambda c: c.count).filter


def _disabled_filter(preset_filter: str | None, marks: Sequence[Count]) -> str | None:
    """The preset's disabled filter, else the first marking some users carry, else none."""
    if preset_filter:
        return preset_filter
    return next((m.filter for m in marks if m.count), None)
