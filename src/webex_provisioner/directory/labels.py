"""Changed entries become labelled directory users, the way ``LdapDirectory.read_users`` labels them.

A change feed hands over a few changed entries at a time. ``Labeller`` finds which of them are
disabled, in scope and matching each licence rule's filter with one search per batch of anchors
(not one per user), puts on the labels of the licence rules' groups they are members of, reads the
users whose membership changed by DN, and adds the users who share an e-mail with a changed one,
so the planner sees a shared e-mail as the conflict it is even in an incremental cycle.

``Memberships`` holds who the groups a feed watches contain (the targeted groups and the licence
rules' groups); its ``digest`` fingerprints that (not why), so a stored watermark can tell a later
process whether the membership moved in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.config.ldap_filter import all_of, any_of, equals
from webex_provisioner.directory.connection import Connection, Entry
from webex_provisioner.directory.dn import is_under
from webex_provisioner.directory.entries import anchor_filter, anchor_value, to_user
from webex_provisioner.directory.groups import Membership, NestedGroupCandidates, expand_membership
from webex_provisioner.directory.rule_labels import NO_LABELS, DnLabels, RuleLabels, RuleMembers
from webex_provisioner.model import DirectoryUser

log = structlog.get_logger()

BATCH = 200  # anchors or e-mails per OR-filter


def chunks(items: Sequence[str], size: int = BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def membership_digest(membership: Membership | None) -> str:
    """A short fingerprint of the set of member DNs (``-`` when the scope has no groups)."""
    if membership is None:
        return "-"
    listed = "".join(f"{dn}\n" for dn in sorted(membership.reasons))
    return hashlib.sha256(listed.encode("utf-8")).hexdigest()[:32]


def membership_moves(before: Membership, after: Membership) -> set[str]:
    """Normalized DNs that entered or left the targeted groups between two expansions."""
    return set(before.reasons).symmetric_difference(after.reasons)


@dataclass(frozen=True, slots=True)
class Memberships:
    """Who the groups a change feed watches contain: the targeted groups (``None`` when the scope
    has none) and each licence rule's group (``rules``: label -> normalized member DNs)."""

    scope: Membership | None
    rules: RuleMembers = field(default_factory=dict)

    def digest(self) -> str:
        """``membership_digest`` of the targeted groups, and with licence rules' groups a
        fingerprint of both (so a watermark stored without them keeps its digest)."""
        digest = membership_digest(self.scope)
        if not self.rules:
            return digest
        listed = [digest] + [
            f"{label}\n" + "".join(f"{dn}\n" for dn in sorted(dns))
            for label, dns in sorted(self.rules.items())
        ]
        return hashlib.sha256("\x1e".join(listed).encode("utf-8")).hexdigest()[:32]

    def moves(self, after: Memberships) -> set[str]:
        """Normalized DNs that entered or left a targeted group or a licence rule's group."""
        moved = set()
        if self.scope is not None and after.scope is not None:
            moved = membership_moves(self.scope, after.scope)
        empty: frozenset[str] = frozenset()
        for label in {*self.rules, *after.rules}:
            moved |= self.rules.get(label, empty).symmetric_difference(after.rules.get(label, empty))
        return moved


def expand(conn: Connection, config: DirectoryConfig) -> Membership | None:
    """The targeted groups' membership now, or ``None`` when the scope has no groups."""
    if not config.scope.groups:
        return None
    return expand_membership(conn, config, NestedGroupCandidates(conn, config))


class Labeller:
    """Labels changed user entries (``disabled``, ``in_scope``, ``scope_reason``, the licence rules'
    ``labels`` of ``rules``) for one directory."""

    def __init__(
        self,
        config: DirectoryConfig,
        attributes: Sequence[str],
        email_attribute: str,
        rules: RuleLabels | None = None,
    ) -> None:
        self.config = config
        self.attributes = tuple(attributes)
        self.email_attribute = email_attribute
        self.rules = rules if rules is not None else RuleLabels(config)

    def users(
        self,
        conn: Connection,
        entries: Iterable[Entry],
        membership: Membership | None,
        rule_members: RuleMembers | None = None,
    ) -> list[DirectoryUser]:
        """The entries (user entries with ``attributes``) as labelled directory users, the rules'
        groups' labels from ``rule_members``; entries without an anchor are skipped with a
        warning, like a full read skips them."""
        config = self.config
        anchored: list[tuple[str, str, Entry]] = []
        for dn, attrs in entries:
            anchor = anchor_value(attrs, config.anchor)
            if anchor is None:
                log.warning(
                    "directory.user_without_anchor",
                    dn=dn,
                    anchor=config.anchor,
                    detail="skipped; the bind DN may lack read access to the anchor, "
                    "or directory.anchor is wrong",
                )
                continue
            anchored.append((anchor, dn, (dn, attrs)))
        anchors = [a for a, _, _ in anchored]
        disabled = self._matching(conn, anchors, config.disabled_filter) if config.disabled_filter else set()
        scope_filter = config.scope.filter
        in_filter = self._matching(conn, anchors, scope_filter) if scope_filter else set()
        labels = self._rule_labels(conn, anchors, rule_members or {})
        users = []
        for anchor, dn, (_, attrs) in anchored:
            if membership is not None:
                reason = membership.reason(dn)
                in_scope, why = (True, reason) if reason is not None else (False, membership.not_member)
            elif scope_filter:
                in_scope = anchor in in_filter
                why = f"{'matches' if in_scope else 'does not match'} scope filter {scope_filter}"
            else:
                in_scope, why = (
                    True,
                    f"under the base DN {config.base_dn} (no targeted groups or scope filter)",
                )
            users.append(
                to_user(
                    dn,
                    attrs,
                    config.anchor,
                    anchor,
                    disabled=anchor in disabled,
                    in_scope=in_scope,
                    scope_reason=why,
                    labels=labels(dn, anchor),
                )
            )
        return users

    def _rule_labels(
        self, conn: Connection, anchors: Sequence[str], rule_members: RuleMembers
    ) -> Callable[[str, str], frozenset[str]]:
        """(dn, anchor) -> the licence rules' labels: the groups' by DN, the filters' from one
        search per filter and batch of anchors."""
        if not self.rules:
            return lambda _dn, _anchor: NO_LABELS
        by_dn = DnLabels(rule_members)
        matched: dict[str, set[str]] = {}
        for label, rule_filter in self.rules.filters.items():
            with self.rules.refused(rule_filter):
                matched[label] = self._matching(conn, anchors, rule_filter)

        def labels(dn: str, anchor: str) -> frozenset[str]:
            found = by_dn(dn)
            hits = [label for label, anchors in matched.items() if anchor in anchors]
            return found.union(hits) if hits else found

        return labels

    def read_dns(self, conn: Connection, dns: Collection[str]) -> list[Entry]:
        """The user entries at these DNs (under the base DN, matching the user filter); others are
        skipped: a group member DN may be a dangling reference or something other than a user."""
        found = []
        for dn in sorted(dns):
            if not is_under(dn, self.config.base_dn):
                continue
            entry = conn.read(dn, self.config.user_filter, self.attributes, what="the directory user")
            if entry is not None:
                found.append(entry)
        return found

    def sharing_email(self, conn: Connection, users: Sequence[DirectoryUser]) -> list[Entry]:
        """Other user entries whose e-mail attribute equals one of ``users``' (case-insensitively,
        as the server compares it)."""
        mine = {u.anchor for u in users}
        emails = sorted({v.strip() for u in users for v in u.values(self.email_attribute) if v.strip()})
        found: dict[str, Entry] = {}
        for batch in chunks(emails):
            wanted = all_of(
                self.config.user_filter, any_of(*(equals(self.email_attribute, e) for e in batch))
            )
            for dn, attrs in conn.search_all(
                self.config.base_dn, wanted, self.attributes, what="directory users sharing an e-mail"
            ):
                anchor = anchor_value(attrs, self.config.anchor)
                if anchor is not None and anchor not in mine:
                    found[anchor] = (dn, attrs)
        return list(found.values())

    def _matching(self, conn: Connection, anchors: Sequence[str], extra_filter: str) -> set[str]:
        """Which of ``anchors`` also match ``extra_filter`` (anchor-only searches, batched)."""
        config = self.config
        matching: set[str] = set()
        for batch in chunks(sorted(set(anchors))):
            by_anchor = any_of(*(f for f in (anchor_filter(config.anchor, a) for a in batch) if f))
            if not by_anchor:
                continue
            for _dn, attrs in conn.search_all(
                config.base_dn,
                all_of(config.user_filter, extra_filter, by_anchor),
                [config.anchor],
                what="changed directory users",
            ):
                anchor = anchor_value(attrs, config.anchor)
                if anchor is not None:
                    matching.add(anchor)
        return matching
