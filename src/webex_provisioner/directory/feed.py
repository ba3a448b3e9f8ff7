"""``LdapChangeFeed``: what the LDAP change feeds share (a ``ChangeFeed`` of ``ports``).

A subclass says where the directory is now (``_position``: a content sync cookie, a time) and
what changed since a position (``_fetch``: changed user entries, deletes or the present list,
whether a group changed). This class turns that into a ``ChangeSet`` of labelled users:

* **Group membership.** The feed keeps, per watermark it handed out, the expanded membership of
  the targeted groups and of the licence rules' groups (``labels.Memberships``). When a group
  changed, it expands again and the users who entered or left are changed users, labelled anew. A
  process that did not hand out the watermark (a one-off ``sync``) expands once and compares with
  the membership fingerprint inside the watermark; if the membership moved, it cannot tell whose,
  and answers with a full read.
* **Licence rules.** A watermark handed out with licence rules' labels names them (a
  fingerprint); asked with other labels (the rules changed), the feed answers with a full read,
  since users it did not report may have entered or left a new rule's selection.
* **Deletes.** Explicit deletes pass through. A *present list* (every entry still there) is
  compared with the anchors known at that watermark; without them, a full read answers.
* **Full reads** (``full=True``) read every directory user through ``LdapDirectory.read_users``,
  after taking the new position, so that nothing changing during the read is lost.

Baselines live in memory only and are kept for the last two watermarks, so a cycle that failed
after ``changes`` (and did not store the new watermark) can ask again from the old one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.connection import Connection, Entry
from webex_provisioner.directory.dn import is_under, normalize_dn
from webex_provisioner.directory.entries import anchor_value
from webex_provisioner.directory.labels import Labeller, Memberships, expand
from webex_provisioner.directory.ldap import LdapDirectory
from webex_provisioner.errors import DirectoryIncompleteError
from webex_provisioner.model import DirectoryUser
from webex_provisioner.ports import ChangeSet

log = structlog.get_logger()

Position = dict[str, str]


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the directory looked like at a watermark: the membership and the known anchors."""

    membership: Memberships
    known: frozenset[str] | None = None
    groups: frozenset[str] | None = None


@dataclass
class Fetched:
    """What changed since a position, as a subclass found it."""

    position: Position
    entries: list[Entry] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    present: set[str] | None = None
    groups_changed: bool = False
    group_entries: set[str] = field(default_factory=set)
    group_deletes: set[str] = field(default_factory=set)


class FullReadNeeded(Exception):  # noqa: N818 - a signal inside this module, never raised outside
    """The change set cannot be answered incrementally; the message says why."""


class LdapChangeFeed:
    """Base of the LDAP change feeds, each a ``ports.MarkableFeed`` (a subclass names its
    ``kind`` and ``watermark_name``); see the module docstring."""

    kind: ClassVar[str] = ""
    watermark_name: ClassVar[str] = ""

    def __init__(self, config: DirectoryConfig, directory: LdapDirectory) -> None:
        self.config = config
        self.directory = directory
        self.labeller = Labeller(config, directory.attributes, directory.email_attribute, directory.labels)
        self._conn: Connection | None = None
        self._baselines: dict[str, Baseline] = {}
        self._latest: Position | None = None

    # -- ChangeFeed ---------------------------------------------------------------------------

    def mark(self) -> str:
        """The watermark of now, before a full read: store it once that read was applied."""
        conn = self.connection()
        position = self._position(conn)
        membership = self._expand(conn)
        # the full read that follows labels with it
        self.directory.use_membership(membership.scope, membership.rules)
        watermark = self._encode(position, membership.digest())
        self._baselines = {watermark: Baseline(membership, groups=self._group_uuids(conn))}
        self._latest = position
        return watermark

    def changes(self, watermark: str | None) -> ChangeSet:
        """What changed since ``watermark``; a full read (``full=True``) when it cannot tell."""
        decoded = self._decode(watermark) if watermark is not None else None
        if decoded is None:
            return self._full("no usable watermark" if watermark is None else "the watermark is unreadable")
        position, digest, labels = decoded
        if labels != self._labels_digest():
            return self._full("the licence rules' labels changed since the watermark")
        try:
            return self._incremental(watermark or "", position, digest)
        except FullReadNeeded as why:
            reason = str(why)
        return self._full(reason)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def latest_position(self) -> Position | None:
        """The position of the last watermark handed out (for a persistent listener)."""
        return self._latest

    # -- for subclasses -----------------------------------------------------------------------

    def _open(self) -> Connection:
        return Connection(self.config)

    def _position(self, conn: Connection) -> Position:
        raise NotImplementedError

    def _fetch(self, conn: Connection, position: Position) -> Fetched:
        raise NotImplementedError

    def _group_uuids(self, conn: Connection) -> frozenset[str] | None:
        """The ids of every group that may matter, when ``_fetch`` reports deletes by id."""
        return None

    def connection(self) -> Connection:
        """The feed's own bound connection (reopened after it was lost)."""
        if self._conn is not None and self._conn.broken:
            self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    @property
    def watched_groups(self) -> tuple[str, ...]:
        """The groups whose membership labels users: the targeted groups and the licence rules'."""
        return (*self.config.scope.groups, *self.labeller.rules.groups.values())

    def group_bases(self, conn: Connection) -> list[str]:
        """Where the groups that matter live: the naming contexts holding the watched groups
        (nested groups may be anywhere in them), or each group's parent when the root DSE
        does not say."""
        contexts = [
            v.decode("utf-8", "replace")
            for name, values in conn.root_dse().items()
            if name.lower() == "namingcontexts"
            for v in values
        ]
        bases: dict[str, str] = {}
        for group in self.watched_groups:
            holding = [c for c in contexts if c and is_under(group, c)]
            base = max(holding, key=len) if holding else group.split(",", 1)[-1]
            bases.setdefault(normalize_dn(base), base)
        return sorted(bases.values())

    # -- internals ----------------------------------------------------------------------------

    def _incremental(self, watermark: str, position: Position, digest: str) -> ChangeSet:
        conn = self.connection()
        baseline = self._baselines.get(watermark)
        fetched = self._fetch(conn, position)
        changed_anchors = {
            a for _, attrs in fetched.entries if (a := anchor_value(attrs, self.config.anchor))
        }
        if fetched.present is not None:
            if baseline is None or baseline.known is None:
                raise FullReadNeeded(
                    "the directory listed the entries still present instead of the deleted ones "
                    "(no session log, or it was lost in a restart), and this process does not know "
                    "the earlier entries to compare with"
                )
            if not fetched.present and not fetched.entries and baseline.known:
                raise DirectoryIncompleteError(
                    f"the directory at {self.config.url} listed no entry at all under "
                    f"{self.config.base_dn} while {len(baseline.known)} were known; nothing was "
                    "planned or deprovisioned. Check the server and directory.base_dn"
                )
            deleted = set(baseline.known) - fetched.present - changed_anchors
            known: frozenset[str] | None = frozenset(fetched.present | changed_anchors)
        else:
            deleted = fetched.deleted - changed_anchors
            known = (
                frozenset((baseline.known - deleted) | changed_anchors)
                if baseline is not None and baseline.known is not None
                else None
            )
        groups = baseline.groups if baseline is not None else None
        groups_changed = (
            fetched.groups_changed
            or bool(fetched.group_entries)
            or bool(fetched.group_deletes & groups if groups is not None else fetched.group_deletes)
        )
        if groups is not None:
            groups = frozenset((groups | fetched.group_entries) - fetched.group_deletes)
        membership, moved, new_digest = self._regroup(
            conn, baseline.membership if baseline is not None else None, groups_changed, fetched, digest
        )
        users = self._users(conn, fetched.entries, moved, membership)
        new_watermark = self._encode(fetched.position, new_digest)
        self._baselines = {
            **({watermark: baseline} if baseline is not None else {}),
            new_watermark: Baseline(membership, known, groups),
        }
        self._latest = fetched.position
        log.debug(
            "change_feed.changes",
            kind=self.kind,
            changed=len(users),
            deleted=len(deleted),
            membership_moves=len(moved),
        )
        return ChangeSet(tuple(users), tuple(sorted(deleted)), new_watermark)

    def _regroup(
        self,
        conn: Connection,
        before: Memberships | None,
        groups_changed: bool,
        fetched: Fetched,
        digest: str,
    ) -> tuple[Memberships, set[str], str]:
        """The watched groups' membership after a fetch (expanded again when a group changed, or
        when this process does not know it and has entries to label), the normalized DNs that
        entered or left a group, and the watermark's new membership digest."""
        if not self.watched_groups or not (groups_changed or (before is None and fetched.entries)):
            return before or Memberships(None), set(), digest
        now = self._expand(conn)
        new_digest = now.digest() if groups_changed else digest  # it only moves after a group change
        if before is not None:
            return now, before.moves(now), new_digest
        if new_digest != digest:
            raise FullReadNeeded(
                "the membership of the targeted groups or of the licence rules' groups changed since "
                "the last cycle, and this process does not know the earlier membership to tell whose"
            )
        return now, set(), new_digest

    def _expand(self, conn: Connection) -> Memberships:
        return Memberships(expand(conn, self.config), self.labeller.rules.members(conn))

    def _users(
        self, conn: Connection, entries: list[Entry], moved: set[str], membership: Memberships
    ) -> list[DirectoryUser]:
        seen = {normalize_dn(dn) for dn, _ in entries}
        entries = entries + self.labeller.read_dns(conn, moved - seen)
        users = self.labeller.users(conn, entries, membership.scope, membership.rules)
        partners = self.labeller.sharing_email(conn, users)
        return users + self.labeller.users(conn, partners, membership.scope, membership.rules)

    def _full(self, reason: str) -> ChangeSet:
        log.info("change_feed.full_read", kind=self.kind, reason=reason)
        conn = self.connection()
        position = self._position(conn)
        membership = self._expand(conn)
        self.directory.use_membership(membership.scope, membership.rules)
        users = tuple(self.directory.read_users())
        watermark = self._encode(position, membership.digest())
        self._baselines = {
            watermark: Baseline(membership, frozenset(u.anchor for u in users), self._group_uuids(conn))
        }
        self._latest = position
        return ChangeSet(users, (), watermark, full=True)

    def _labels_digest(self) -> str | None:
        """A fingerprint of the licence rules' labels (``None`` without: no key in the watermark)."""
        labels = self.labeller.rules.labels
        if not labels:
            return None
        return hashlib.sha256("\n".join(labels).encode("utf-8")).hexdigest()[:32]

    def _encode(self, position: Position, digest: str) -> str:
        data: dict[str, Any] = {"kind": self.kind, "position": position, "members": digest}
        labels = self._labels_digest()
        if labels is not None:
            data["labels"] = labels
        return json.dumps(data, sort_keys=True)

    def _decode(self, watermark: str) -> tuple[Position, str, str | None] | None:
        try:
            data: Any = json.loads(watermark)
        except ValueError:
            return None
        if not isinstance(data, Mapping) or data.get("kind") != self.kind:
            return None
        position, digest, labels = data.get("position"), data.get("members"), data.get("labels")
        if not isinstance(position, Mapping) or not isinstance(digest, str):
            return None
        return (
            {str(k): str(v) for k, v in position.items()},
            digest,
            labels if isinstance(labels, str) else None,
        )
