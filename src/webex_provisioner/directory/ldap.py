"""``LdapDirectory``: the ``DirectorySource`` for LDAP servers (OpenLDAP, AD, 389 DS, PingDirectory).

``read_users`` first computes the labels it can hold in memory (the anchors of disabled users,
the members of the targeted groups or the anchors matching the scope filter, and for the licence
rules' labels the DNs of each rule's group and filter: ``directory/rule_labels.py``), then
streams the directory users page by page, labelling each. Nothing else is kept: 100k users never
sit in a list.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from types import TracebackType
from typing import Self

import structlog

from webex_provisioner.config import DirectoryConfig, GroupsConfig
from webex_provisioner.config.ldap_filter import all_of, any_of, equals
from webex_provisioner.directory.capabilities import describe
from webex_provisioner.directory.connection import PAGED_RESULTS_OID, Connection, Entry
from webex_provisioner.directory.dn import is_dn, is_under
from webex_provisioner.directory.entries import anchor_filter, anchor_value, to_user
from webex_provisioner.directory.groups import Membership, NestedGroupCandidates, expand_membership
from webex_provisioner.directory.inchain import InChainExpansion
from webex_provisioner.directory.pushed_groups import NO_GROUPS_DIGEST, PushedGroups
from webex_provisioner.directory.reader import ReaderProcess
from webex_provisioner.directory.rule_labels import NO_LABELS, DnLabels, RuleLabels, RuleMembers
from webex_provisioner.errors import DirectoryError
from webex_provisioner.model import DirectoryGroup, DirectoryUser, GroupRead
from webex_provisioner.ports import UserStream

log = structlog.get_logger()

CONTENT_SYNC_OID = "1.3.6.1.4.1.4203.1.9.1.1"
_AD_CAPABILITY_OID = "1.2.840.113556.1.4.800"
# With directory.read_process: auto, reads of this many users or more run in a reader process
# (below, starting its interpreter costs more than it saves).
READ_PROCESS_FROM = 10_000

# (dn, anchor) -> (in_scope, scope_reason)
ScopeLabel = Callable[[str, str], tuple[bool, str]]
# (dn, raw attributes, anchor, disabled, in_scope, scope_reason, licence rule labels)
LabelledEntry = tuple[str, dict[str, list[bytes]], str, bool, bool, str, frozenset[str]]


class LdapDirectory:
    """Reads directory users over LDAP with python-ldap: one connection, not shared across threads.

    ``attributes`` are the directory attributes the mapping needs (the anchor is always added);
    ``email_attribute`` is the mapped e-mail attribute ``find_user`` matches an e-mail against.
    ``find_user`` reuses the group membership computed by the last ``read_users`` for
    ``membership_max_age`` seconds (and throughout a read), so classifying many users is cheap.
    The connection opens (and binds) on first use and reopens after it was lost.

    ``labels`` are the licence rules' labels to put on users (``Config.license_labels()``,
    ``directory/rule_labels.py``); without, nothing more is read.

    With ``groups`` (the ``groups:`` configuration) it is also a ``GroupSource``
    (``directory/pushed_groups.py``); without, it reads no group: ``read_groups`` is empty,
    with a constant digest, and ``find_group`` finds nothing. Group reads use the same
    connection: finish or close a ``read_users`` stream read in this process first.
    """

    def __init__(
        self,
        config: DirectoryConfig,
        attributes: Collection[str] = (),
        *,
        email_attribute: str = "mail",
        membership_max_age: float = 60.0,
        read_process: bool | None = None,
        groups: GroupsConfig | None = None,
        labels: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.labels = RuleLabels(config, labels)
        self._groups = None if groups is None else PushedGroups(config, groups)
        setting = config.read_process if read_process is None else read_process
        self._read_process: bool | None = None if setting == "auto" else bool(setting)
        self.email_attribute = email_attribute
        self.membership_max_age = membership_max_age
        names = {name.lower(): name for name in attributes}
        names.setdefault(config.anchor.lower(), config.anchor)
        self.attributes: tuple[str, ...] = tuple(sorted(names.values(), key=str.lower))
        self._conn: Connection | None = None
        self._membership: Membership | None = None
        self._membership_at = 0.0
        self._reading = 0
        self._in_chain = InChainExpansion(config)
        self._given: tuple[Membership | None, RuleMembers | None, float] | None = None
        self._rules: tuple[RuleMembers, float] | None = None
        self._prepared: ReaderProcess | None = None
        self._large_read = False

    # -- DirectorySource ----------------------------------------------------------------------

    def read_users(self) -> UserStream:
        """Every directory user under the base DN matching the user filter, labelled.

        Raises (after yielding what it got) ``DirectoryIncompleteError`` when the read stops early,
        ``DirectoryUnavailableError`` when the server cannot be reached, ``DirectoryAuthError``
        when the bind is refused, and ``DirectoryError`` when a targeted group does not exist.

        With ``read_process``, a child process starts reading at once (directory/reader.py) and
        the iterator hands over what it reads; close the iterator to stop it early.
        """
        if not self.read_process:
            return self._read_here()
        self._large_read = False
        reader, self._prepared = self._prepared or self._new_reader(), None
        if reader is None:
            return self._read_here()
        membership, rules = self._take_given()
        reader.start(self.attributes, membership, rules, self.labels.labels)
        return reader

    @property
    def read_process(self) -> bool:
        """Whether the next ``read_users`` runs in a reader process: ``directory.read_process``,
        where ``auto`` means when ``prepare_read`` expects ``READ_PROCESS_FROM`` users or more
        and this process may use two processors or more."""
        if self._read_process is not None:
            return self._read_process
        return self._large_read and usable_processors() >= 2

    def prepare_read(self, expected_users: int) -> None:
        """With a reader process for a read of ``expected_users``, start its interpreter now (it
        imports for half a second), so that the next ``read_users`` finds it ready."""
        self._large_read = expected_users >= READ_PROCESS_FROM
        if self.read_process and self._prepared is None:
            self._prepared = self._new_reader()
            self._large_read = self._prepared is not None

    def _new_reader(self) -> ReaderProcess | None:
        """A reader process; with ``read_process: auto``, ``None`` (and a warning) when none
        can be started, so that the read happens in this process instead."""
        try:
            return ReaderProcess(self.config)
        except DirectoryError as exc:
            if self._read_process:
                raise
            log.warning(
                "directory.reader_unavailable", error=exc.message, detail="reading in the engine process"
            )
            return None

    def _read_here(self) -> Generator[DirectoryUser, None, None]:
        anchor_name = self.config.anchor
        self._reading += 1
        try:
            for dn, attrs, anchor, disabled, in_scope, reason, labels in self._labelled_entries():
                yield to_user(
                    dn,
                    attrs,
                    anchor_name,
                    anchor,
                    disabled=disabled,
                    in_scope=in_scope,
                    scope_reason=reason,
                    labels=labels,
                )
        finally:
            self._reading -= 1
            self._membership_at = time.monotonic()
            if self._rules is not None:
                self._rules = (self._rules[0], self._membership_at)

    def _labelled_entries(self) -> Iterator[LabelledEntry]:
        config = self.config
        conn = self._connection()
        membership, rules = self._take_given()
        disabled = (
            self._anchors(conn, config.disabled_filter, "disabled users") if config.disabled_filter else set()
        )
        label = self._scope_label(conn, membership)
        rule_labels = self._rule_labels(conn, rules)
        read = skipped = 0
        for page in conn.search_pages(
            config.base_dn, config.user_filter, self.attributes, what="directory users"
        ):
            for dn, attrs in page:
                anchor = anchor_value(attrs, config.anchor)
                if anchor is None:
                    self._report_no_anchor(dn)
                    skipped += 1
                    continue
                read += 1
                labels = NO_LABELS if rule_labels is None else rule_labels(dn)
                yield (dn, attrs, anchor, anchor in disabled, *label(dn, anchor), labels)
        log.info("directory.read", url=config.url, base_dn=config.base_dn, users=read, without_anchor=skipped)

    def find_user(self, key: str) -> DirectoryUser | None:
        """One directory user by DN (under the base DN), anchor or e-mail; ``None`` if there is none.

        Raises ``DirectoryError`` when an e-mail matches several directory users (a conflict the
        caller must resolve by anchor or DN).
        """
        key = key.strip()
        if not key:
            return None
        config = self.config
        conn = self._connection()
        found = self._lookup(conn, key)
        if found is None:
            return None
        dn, attrs = found
        anchor = anchor_value(attrs, config.anchor)
        if anchor is None:
            self._report_no_anchor(dn)
            return None
        disabled = config.disabled_filter is not None and self._matches(conn, dn, config.disabled_filter)
        if config.scope.groups:
            membership = self._fresh_membership() or self._expand(conn)
            in_scope, reason = _group_label(membership, dn)
        elif config.scope.filter:
            in_scope, reason = _filter_label(
                config.scope.filter, self._matches(conn, dn, config.scope.filter)
            )
        else:
            in_scope, reason = True, self._everyone_reason()
        labels = self.labels.entry_labels(conn, dn, self._current_rules(conn)) if self.labels else NO_LABELS
        return to_user(
            dn,
            attrs,
            config.anchor,
            anchor,
            disabled=disabled,
            in_scope=in_scope,
            scope_reason=reason,
            labels=labels,
        )

    def probe(self) -> dict[str, str]:
        """What the server is and offers: vendor, naming contexts, controls, content sync, paging."""
        conn = self._connection()
        dse = {
            name.lower(): [v.decode("utf-8", "replace") for v in values]
            for name, values in conn.root_dse().items()
        }
        controls = dse.get("supportedcontrol", [])
        vendor, version = vendor_of(dse)
        base_found = (
            conn.read(self.config.base_dn, "(objectClass=*)", ["1.1"], what="the base DN") is not None
        )
        return {
            "url": self.config.url,
            "bind_dn": self.config.bind_dn or "(anonymous)",
            "vendor": vendor,
            "vendor_version": version,
            "naming_contexts": "; ".join(dse.get("namingcontexts", [])),
            "supported_controls": ",".join(controls),
            "content_sync": "yes" if CONTENT_SYNC_OID in controls else "no",
            "paged_results": "yes" if PAGED_RESULTS_OID in controls else "no",
            "base_dn_found": "yes" if base_found else "no",
            **describe(conn, self.config, dse),
        }

    # -- GroupSource ----------------------------------------------------------------------------

    @property
    def pushed_group_bases(self) -> tuple[str, ...]:
        """Where the groups ``groups:`` selects are (none without ``groups:``)."""
        return () if self._groups is None else self._groups.bases

    def read_groups(self) -> GroupRead:
        """Every group ``groups:`` selects, with its members, and the digest (see
        ``directory/pushed_groups.py``). Raises ``DirectoryIncompleteError`` when the read stops
        early, ``DirectoryError`` when a group of ``groups.dns`` is missing or no group."""
        if self._groups is None:
            return GroupRead((), NO_GROUPS_DIGEST)
        return self._groups.read(self._connection())

    def group_digest(self) -> str:
        """The digest ``read_groups`` would give now: one listing of the groups' DNs, anchors and
        change markers, no member read (``directory/group_listing.py``)."""
        if self._groups is None:
            return NO_GROUPS_DIGEST
        return self._groups.digest(self._connection())

    def find_group(self, key: str) -> DirectoryGroup | None:
        """A group matching ``directory.group_filter`` (selected or not) by DN or anchor, with
        its members as ``read_groups`` gives them; ``None`` when there is none (or no ``groups:``)."""
        if self._groups is None:
            return None
        return self._groups.find(self._connection(), key)

    def use_membership(self, membership: Membership | None, rules: RuleMembers | None = None) -> None:
        """Label the next ``read_users`` with ``membership`` (the targeted groups as a change feed
        expanded them for its watermark, just before) and ``rules`` (the licence rules' groups,
        likewise) instead of expanding them again: one expansion, 5 % of a full cycle at 100,000
        users, and the read and the watermark agree. Not used if the read starts more than
        ``membership_max_age`` seconds later."""
        given = membership is not None or rules is not None
        self._given = (membership, rules, time.monotonic()) if given else None

    def close(self) -> None:
        """Close the connection and forget the group membership (100,000 DNs for a large scope);
        stop a reader process prepared and not used."""
        if self._prepared is not None:
            self._prepared.close()
            self._prepared = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._membership = None
        self._rules = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def connection(self) -> Connection:
        """The bound connection (opened, or reopened after it was lost), for change feeds."""
        return self._connection()

    def _connection(self) -> Connection:
        if self._conn is not None and self._conn.broken:
            self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = Connection(self.config)
        return self._conn

    def _anchors(self, conn: Connection, extra_filter: str, what: str) -> set[str]:
        """Anchors of the directory users that also match ``extra_filter`` (an anchor-only search)."""
        config = self.config
        found = set()
        for _dn, attrs in conn.search_all(
            config.base_dn, all_of(config.user_filter, extra_filter), [config.anchor], what=what
        ):
            anchor = anchor_value(attrs, config.anchor)
            if anchor is not None:
                found.add(anchor)
        return found

    def _matches(self, conn: Connection, dn: str, extra_filter: str) -> bool:
        user_filter = all_of(self.config.user_filter, extra_filter)
        return conn.read(dn, user_filter, ["1.1"], what="the directory user") is not None

    def _expand(self, conn: Connection) -> Membership:
        self._membership = self._in_chain.membership(conn) or expand_membership(
            conn, self.config, NestedGroupCandidates(conn, self.config)
        )
        self._membership_at = time.monotonic()
        return self._membership

    def _fresh_membership(self) -> Membership | None:
        """The group membership of the last read, if find_user may reuse it: always during a read
        (a new expansion would disturb its paging), else for ``membership_max_age`` seconds."""
        if self._reading > 0 or time.monotonic() - self._membership_at < self.membership_max_age:
            return self._membership
        return None

    def _take_given(self) -> tuple[Membership | None, RuleMembers | None]:
        """What ``use_membership`` handed over, once, if it is recent enough."""
        given, self._given = self._given, None
        if given is None or time.monotonic() - given[2] >= self.membership_max_age:
            return None, None
        return given[0], given[1]

    def _scope_label(self, conn: Connection, given: Membership | None) -> ScopeLabel:
        scope = self.config.scope
        if scope.groups:
            if given is not None:
                membership = self._membership = given
            else:
                membership = self._expand(conn)
            return lambda dn, _anchor: _group_label(membership, dn)
        if scope.filter:
            scope_filter = scope.filter
            matching = self._anchors(conn, scope_filter, "directory users in the scope filter")
            return lambda _dn, anchor: _filter_label(scope_filter, anchor in matching)
        reason = self._everyone_reason()
        return lambda _dn, _anchor: (True, reason)

    def _rule_labels(self, conn: Connection, given: RuleMembers | None) -> DnLabels | None:
        """The licence rules' labels of a user by DN, for one read: each rule's group expanded
        (or as handed over) and one DN-only search per rule's filter, before any user is read;
        ``None`` without labels."""
        if not self.labels:
            return None
        members = given if given is not None else self.labels.members(conn, self._in_chain)
        self._rules = (members, time.monotonic())
        return DnLabels({**members, **self.labels.matching_dns(conn)})

    def _current_rules(self, conn: Connection) -> RuleMembers:
        """The rules' group members of the last read, if ``find_user`` may reuse them (as
        ``_fresh_membership`` says), else expanded now."""
        if self._rules is not None:
            members, at = self._rules
            if self._reading > 0 or time.monotonic() - at < self.membership_max_age:
                return members
        members = self.labels.members(conn, self._in_chain)
        self._rules = (members, time.monotonic())
        return members

    def _everyone_reason(self) -> str:
        return f"under the base DN {self.config.base_dn} (no targeted groups or scope filter)"

    def _lookup(self, conn: Connection, key: str) -> Entry | None:
        config = self.config
        if is_dn(key):
            if not is_under(key, config.base_dn):
                return None
            return conn.read(key, config.user_filter, self.attributes, what="the directory user")
        by_key = any_of(
            *(f for f in (anchor_filter(config.anchor, key), equals(self.email_attribute, key)) if f)
        )
        user_filter = all_of(config.user_filter, by_key)
        found = conn.search_few(
            config.base_dn, user_filter, self.attributes, what="the directory user", limit=20
        )
        if len(found) > 1:
            by_anchor = [e for e in found if (anchor_value(e[1], config.anchor) or "").lower() == key.lower()]
            if len(by_anchor) != 1:
                dns = "; ".join(dn for dn, _ in found)
                raise DirectoryError(
                    f"{len(found)} directory users under {config.base_dn} match {key!r} ({dns}); "
                    "their e-mail is shared: look the user up by anchor or DN, and fix the duplicate"
                )
            found = by_anchor
        return found[0] if found else None

    def _report_no_anchor(self, dn: str) -> None:
        log.warning(
            "directory.user_without_anchor",
            dn=dn,
            anchor=self.config.anchor,
            detail="skipped; the bind DN may lack read access to the anchor, or directory.anchor is wrong",
        )


def usable_processors() -> int:
    """How many processors this process may run on (its affinity where the system tells)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else os.cpu_count() or 1


def _group_label(membership: Membership, dn: str) -> tuple[bool, str]:
    reason = membership.reason(dn)
    return (True, reason) if reason is not None else (False, membership.not_member)


def _filter_label(scope_filter: str, matches: bool) -> tuple[bool, str]:
    return (
        (True, f"matches scope filter {scope_filter}")
        if matches
        else (False, f"does not match scope filter {scope_filter}")
    )


def vendor_of(dse: dict[str, list[str]]) -> tuple[str, str]:
    """(vendor, version) from the root DSE, guessed from hints when vendorName is absent."""
    version = ", ".join(dse.get("vendorversion", [])) or "unknown"
    if dse.get("vendorname"):
        return ", ".join(dse["vendorname"]), version
    classes = {v.lower() for v in dse.get("objectclass", []) + dse.get("structuralobjectclass", [])}
    if "openldaprootdse" in classes or "configcontext" in dse:
        return "OpenLDAP", version
    if _AD_CAPABILITY_OID in dse.get("supportedcapabilities", []) or "forestfunctionality" in dse:
        return "Active Directory", version
    return "unknown", version
