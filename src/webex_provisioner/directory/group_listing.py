"""Every group where the pushed groups live, listed cheaply: which DNs are groups, and the digest.

One paged search per naming context holding the selection (``groups.base_dn``, or the DNs of
``groups.dns``), with ``directory.group_filter`` and only the anchor and the change markers
(``entryCSN`` on OpenLDAP, ``uSNChanged`` on Active Directory, ``entryUSN`` where 389 DS has its
USN plug-in, ``modifyTimestamp`` everywhere): member values are never read. The listing serves
twice: a member DN among the listed groups is a nested group, and the listed rows are the digest.

**The digest** is a SHA-256 of the ``groups:`` settings that shape a group read and of the
sorted (DN, anchor, change markers) rows. Adding, deleting, renaming or moving a group, or
changing any of its attributes (members, name) changes its row, so the digest changes whenever
a selected group or a group nested in one changes, wherever in the naming context it is. It
also changes when any other group of the naming context changes (one read too many, never one
too few). Its cost is the listing: one entry of about 150 bytes per group of the naming
context, a page per ``directory.page_size`` groups.

A server that dates changes only to the second (``modifyTimestamp`` alone, as 389 DS without
its USN plug-in) cannot tell two changes within one second apart: while a group changed within
the last ``SETTLE_SECONDS`` (by this machine's clock), and for a group whose markers the bind
DN cannot read, the digest gets a random suffix, so that it equals no later digest and the
next cycle reads the groups again.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import normalize_dn
from webex_provisioner.directory.entries import anchor_value
from webex_provisioner.directory.groups import naming_contexts_of

log = structlog.get_logger()

CHANGE_MARKERS = ("entryCSN", "uSNChanged", "entryUSN", "modifyTimestamp")
"""The operational attributes that change with every change of an entry, finest first."""

_FINE = frozenset({"entrycsn", "usnchanged", "entryusn"})
SETTLE_SECONDS = 5.0
"""How long after a change a group dated only to the second keeps the digest unsettled."""

_TIME_DIGITS = 14  # YYYYmmddHHMMSS of a GeneralizedTime


@dataclass(frozen=True, slots=True)
class GroupListing:
    """The groups of the naming contexts: normalized DN -> DN as the server spells it, and the digest."""

    dns: Mapping[str, str]
    digest: str

    def is_group(self, normalized_dn: str) -> bool:
        return normalized_dn in self.dns


def group_contexts(conn: Connection, bases: Sequence[str]) -> tuple[str, ...]:
    """The naming contexts holding ``bases``, as the root DSE names them; where it does not, the
    ``dc=`` suffix of each base (the base itself when it has none)."""
    contexts = naming_contexts_of(conn, bases)
    if contexts is None:
        contexts = {_domain_suffix(base) for base in bases}
    return tuple(sorted(contexts, key=str.lower))


def list_groups(
    conn: Connection, config: DirectoryConfig, contexts: Iterable[str], settings: str
) -> GroupListing:
    """One listing of every group under ``contexts`` (see the module docstring); ``settings``
    is what else the digest covers (the settings that shape a group read)."""
    dns: dict[str, str] = {}
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    unsettled: list[str] = []
    attributes = [config.anchor, *CHANGE_MARKERS]
    now = datetime.now(UTC)
    for context in contexts:
        for dn, attrs in conn.search_all(context, config.group_filter, attributes, what="every group"):
            key = normalize_dn(dn)
            if key in dns:
                continue  # a naming context below another one
            dns[key] = dn
            markers = _markers(attrs)
            rows.append((dn, anchor_value(attrs, config.anchor) or "", markers))
            if not _settled(markers, now):
                unsettled.append(dn)
    rows.sort()
    digest = hashlib.sha256(json.dumps([settings, rows], ensure_ascii=False).encode()).hexdigest()
    if unsettled:
        log.info(
            "directory.group_digest_unsettled",
            groups=len(unsettled),
            example=unsettled[0],
            detail="changed within seconds on a server dating changes to the second, or without a change "
            "marker the bind DN can read: the next cycle reads the groups again",
        )
        digest = f"{digest}+{uuid.uuid4().hex}"
    return GroupListing(dns, digest)


def _markers(attrs: Mapping[str, list[bytes]]) -> tuple[str, ...]:
    """The change markers of an entry as sorted ``name=value`` text (names lower case)."""
    wanted = {name.lower() for name in CHANGE_MARKERS}
    return tuple(
        sorted(
            f"{name.lower()}={value.decode('utf-8', 'replace')}"
            for name, values in attrs.items()
            if name.lower() in wanted
            for value in values
        )
    )


def _settled(markers: Sequence[str], now: datetime) -> bool:
    """Whether a later change of the entry is sure to change its markers: a fine marker, or a
    modifyTimestamp older than ``SETTLE_SECONDS``."""
    names = {marker.partition("=")[0] for marker in markers}
    if names & _FINE:
        return True
    stamps = [m.partition("=")[2] for m in markers if m.startswith("modifytimestamp=")]
    when = _generalized_time(stamps[0]) if stamps else None
    return when is not None and when <= now - timedelta(seconds=SETTLE_SECONDS)


def _generalized_time(text: str) -> datetime | None:
    """A UTC GeneralizedTime (``20240101120000Z``, ``20240101120000.0Z``); ``None`` otherwise."""
    digits = text[:_TIME_DIGITS]
    if not text.endswith("Z") or len(digits) < _TIME_DIGITS or not digits.isdigit():
        return None
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _domain_suffix(dn: str) -> str:
    """The trailing ``dc=`` RDNs of ``dn`` (``dc=example,dc=com``), or ``dn`` without any."""
    parts = [part.strip() for part in dn.split(",")]
    start = len(parts)
    while start > 0 and parts[start - 1].lower().startswith("dc="):
        start -= 1
    return ",".join(parts[start:]) if start < len(parts) else dn
