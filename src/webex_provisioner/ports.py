"""The ports of the engine: where the directory, Webex and the state live.

Each port is a small protocol stating its rules in its docstrings, with one adapter per technology
(``LdapDirectory``, ``ScimWebexClient``, ``SqliteStateStore`` / ``PostgresStateStore``), an
in-memory fake in ``webex_provisioner.testing`` and a contract suite that the fake and every
adapter pass (``webex_provisioner.testing.contracts``).

``Notifier`` is one channel that tells operators (a webhook, e-mail, a Webex space); what the
notifications keep between cycles is ``NotificationBookkeeping``, part of ``StateStore``.

Optional capabilities are protocols of their own (``MarkableFeed``, ``NotifyingFeed``,
``GroupSource``, ``BulkCreator``, ``WebexGroups``, ``WebexLicenses``, ``CountsRequests``), checked with
``isinstance``: an adapter that offers one says so by implementing it, and the engine never
probes for a method by name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from webex_provisioner.errors import WebexError
from webex_provisioner.model import (
    Action,
    ActionKind,
    Attributes,
    AuditEntry,
    Change,
    CycleRecord,
    DirectoryGroup,
    DirectoryUser,
    Grant,
    GroupAction,
    GroupLink,
    GroupRead,
    InstanceRecord,
    License,
    LicenseAction,
    LicenseAnswer,
    LicenseRefusal,
    Link,
    ListedUser,
    Problem,
    WebexGroup,
    WebexUser,
)
from webex_provisioner.model.notifications import NotificationState, OutboundMessage

# -- the directory ------------------------------------------------------------------------------


class UserStream(Protocol):
    """The directory users of one read, one at a time; ``close`` stops a read left early (a
    reader process is stopped, a search abandoned)."""

    def __iter__(self) -> Iterator[DirectoryUser]: ...

    def __next__(self) -> DirectoryUser: ...

    def close(self) -> None: ...


class DirectorySource(Protocol):
    """Reads directory users. Raises ``DirectoryError`` subclasses, never a library's exception."""

    def read_users(self) -> UserStream:
        """Every directory user under the base DN matching the user filter, labelled with
        ``in_scope`` and ``disabled``.

        The stream raises ``DirectoryIncompleteError`` (or ``DirectoryUnavailableError``) if the
        read cannot be completed, *after* yielding what it got: a caller must treat a read that
        raised as partial and never deprovision from it. A stream that is not read to the end
        must be closed to free what it holds.
        """
        ...

    def prepare_read(self, expected_users: int) -> None:
        """A full ``read_users`` of about ``expected_users`` follows soon: get ready for it if
        that takes time (a reader process starts its interpreter). Doing nothing is fine."""
        ...

    def find_user(self, key: str) -> DirectoryUser | None:
        """One directory user by e-mail (the mapped attribute), anchor or DN, labelled like
        ``read_users``; ``None`` when there is none."""
        ...

    def probe(self) -> Mapping[str, str]:
        """What the server is and offers (vendor, naming contexts, controls). Raises if unreachable."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What changed in the directory since a watermark.

    ``changed`` holds directory users added or modified since then, labelled like
    ``DirectorySource.read_users`` (including users whose scope changed because a targeted or
    nested group changed); ``deleted`` holds the anchors of deleted entries. ``watermark`` is
    what to store once the changes are applied. ``full`` is True when the feed could not answer
    incrementally (no watermark, an expired cookie, a changed server identity) and ``changed``
    is then every directory user, as a full read: only such a set may classify unseen linked
    users as deleted.
    """

    changed: tuple[DirectoryUser, ...]
    deleted: tuple[str, ...]
    watermark: str
    full: bool = False


class ChangeFeed(Protocol):
    """Incremental change detection: RFC 4533 content sync, modifyTimestamp polling, uSNChanged,
    DirSync. Raises ``DirectoryError`` subclasses like ``DirectorySource``.

    ``kind`` names the mechanism (``content_sync``, ``timestamp``, ...) for logs and metrics;
    ``watermark_name`` is the key its watermark is stored under, one per kind, so that switching
    the mechanism never hands one feed's watermark to another.
    """

    @property
    def kind(self) -> str: ...

    @property
    def watermark_name(self) -> str: ...

    def changes(self, watermark: str | None) -> ChangeSet:
        """What changed since ``watermark``; a full set (``full=True``) when it cannot tell."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class MarkableFeed(ChangeFeed, Protocol):
    """A feed that can say where the directory stands *before* a full read, so that a full cycle
    reads the directory itself (streaming) and stores this mark once its actions are applied."""

    def mark(self) -> str: ...


class ChangeNotifier(Protocol):
    """Says *when* the directory changed (a persistent search), never what changed."""

    def start(self) -> None: ...

    def wait(self, timeout: float) -> bool:
        """Block until a change is reported (``True``) or ``timeout`` seconds pass (``False``)."""
        ...

    def wake(self) -> None:
        """Make ``wait`` return now."""
        ...

    def clear(self) -> None:
        """Forget the reported changes (before the cycle that reads them)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class NotifyingFeed(ChangeFeed, Protocol):
    """A feed whose server can push change notifications (a persistent content sync)."""

    def notifier(self) -> ChangeNotifier: ...


@runtime_checkable
class GroupSource(Protocol):
    """A directory that reads the groups selected for Webex (``groups:``)."""

    def read_groups(self) -> GroupRead:
        """Every selected group with its members (flattened through nested groups with
        ``groups.nested: flatten``, cycles cut and named), and the digest of the selection.
        Raises ``DirectoryIncompleteError`` when a read stops early: nothing may be concluded
        from a partial group read."""
        ...

    def group_digest(self) -> str:
        """The digest ``read_groups`` would give, computed cheaply (no members read): equal to
        the last one, nothing about the selected groups or their nested groups changed. A
        different one says only that something may have (another group changed, or the source
        cannot vouch for a recent change): it never stays equal across a change."""
        ...

    def find_group(self, key: str) -> DirectoryGroup | None:
        """One directory group (selected or not) by anchor or DN, with its members; ``None``
        when there is none."""
        ...


# -- Webex ---------------------------------------------------------------------------------------


class WebexClient(Protocol):
    """The Webex organization's users over SCIM 2.0.

    Mapped attributes travel as flat ``Attributes`` (mapping keys such as ``email``,
    ``firstName``, ``workPhone``); the adapter converts to and from SCIM resources. E-mails are
    compared case-insensitively. Errors are ``WebexError`` subclasses.
    """

    def find_by_email(self, email: str) -> WebexUser | None:
        """The Webex user whose userName equals ``email`` (case-insensitive), or ``None``."""
        ...

    def list_users(self, keys: Collection[str] | None = None) -> Iterator[WebexUser]:
        """Every user of the organization, page by page. With ``keys``, each user's attributes
        hold only those keys and the e-mail, and ``created`` is not read (a drift check reads
        every user to compare a few attributes)."""
        ...

    def scan_users(self, keys: Collection[str] | None = None) -> Iterator[ListedUser]:
        """Every user of the organization, as ``list_users`` lists them, each with a fingerprint
        of what Webex sent for it (equal in two scans when nothing of the user changed), read
        only when asked (``ListedUser.read`` gives what ``list_users(keys)`` would): a drift
        check compares only the users whose fingerprint changed since it last verified them."""
        ...

    def count_users(self) -> int:
        """How many users the organization has (one small request)."""
        ...

    def get_user(self, webex_id: str) -> WebexUser | None:
        """The Webex user with this id, or ``None`` when there is none."""
        ...

    def create_user(self, attributes: Attributes, *, active: bool = True) -> WebexUser:
        """POST a new user. Raises ``WebexConflictError`` when its e-mail is taken (409) and
        ``WebexOutcomeUnknownError`` when the request may have been applied without an answer
        (the caller looks up by e-mail before any retry)."""
        ...

    def update_user(
        self, webex_id: str, changes: Sequence[Change], *, active: bool | None = None
    ) -> WebexUser:
        """Change only what ``changes`` name (a ``new`` of ``None`` removes the attribute), and
        ``active`` when given. ``WebexNotFoundError`` when the user does not exist."""
        ...

    def delete_user(self, webex_id: str) -> None:
        """Delete the user; a user that does not exist counts as deleted."""
        ...

    def close(self) -> None: ...


CreateOutcome = str | WebexError
"""The outcome of one create sent in a batch: the new Webex id, or the error of that create
(``WebexConflictError`` for a taken e-mail, ``WebexOutcomeUnknownError`` when it may have been
applied without saying so)."""


@runtime_checkable
class BulkCreator(Protocol):
    """A Webex client that can create many users in one request (SCIM Bulk)."""

    max_batch: int
    """The most creates one ``create_users`` call takes."""

    def create_users(self, users: Sequence[tuple[Attributes, bool]]) -> list[CreateOutcome]:
        """Create users given as (attributes, active); per user and in order, its outcome.

        Raises ``WebexOutcomeUnknownError`` when the answer to the whole request is lost (any of
        them may have been created) and another ``WebexError`` when the request was refused as a
        whole (none was)."""
        ...


@runtime_checkable
class WebexGroups(Protocol):
    """The organization's SCIM Groups. Names compare case-insensitively; members are Webex user
    ids. Errors are ``WebexError`` subclasses; an unknown group id is ``WebexNotFoundError``."""

    max_members: int
    """The most members one request may add or remove (callers send more in several)."""

    def find_group(self, name: str) -> WebexGroup | None:
        """The group whose displayName equals ``name`` (case-insensitive), without members."""
        ...

    def list_groups(self) -> Iterator[WebexGroup]:
        """Every group of the organization, without members."""
        ...

    def get_group(self, group_id: str) -> WebexGroup | None:
        """The group with this id and all its members; ``None`` when there is none."""
        ...

    def create_group(self, name: str, external_id: str, members: Sequence[str] = ()) -> WebexGroup:
        """Create a group with at most ``max_members`` members. ``WebexConflictError`` when the
        name is taken (where Webex refuses duplicate names); ``WebexOutcomeUnknownError`` when it
        may have been created without an answer (the caller looks it up by name)."""
        ...

    def rename_group(self, group_id: str, name: str) -> None: ...

    def add_members(self, group_id: str, members: Sequence[str]) -> None:
        """Add these users (at most ``max_members``); members already in are fine."""
        ...

    def remove_members(self, group_id: str, members: Sequence[str]) -> None:
        """Remove these users (at most ``max_members``); users not in the group are fine."""
        ...

    def delete_group(self, group_id: str) -> None:
        """Delete the group; one that does not exist counts as deleted."""
        ...


@runtime_checkable
class WebexLicenses(Protocol):
    """The organization's licences (``/v1/licenses``) and who holds them.

    Users are named by their SCIM id (``WebexUser.id``); the adapter converts to the People
    API's ``personId`` and back. Errors are ``WebexError`` subclasses.
    """

    def list_licenses(self) -> list[License]:
        """Every licence of the organization with its units (one request)."""
        ...

    def license_holders(self, license_id: str) -> Iterator[str]:
        """The SCIM ids of the users holding a licence, page by page (workspaces left out).
        ``WebexNotFoundError`` when there is no such licence."""
        ...

    def user_licenses(self, webex_id: str) -> frozenset[str]:
        """The ids of the licences a user holds now (People API). ``WebexNotFoundError`` when
        there is no such user."""
        ...

    def change_licenses(
        self, webex_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> LicenseAnswer:
        """Add and remove licences of one user in one request (``PATCH /v1/licenses/users``).

        Sending it again is harmless (adding a licence held, or removing one not held, changes
        nothing). The answer says which licences the user holds now and whether every change was
        done (206: some adds were not, e.g. no free units). Raises ``WebexRejectedError`` with
        Webex's ``errorCode`` in ``code`` when the request was refused (nothing changed),
        ``WebexNotFoundError`` when the user does not exist, ``WebexOutcomeUnknownError`` when
        no answer came."""
        ...


NO_ANSWER = "none"
"""The status label of a request that got no HTTP answer (timeout, connection error)."""


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Request counters at one moment. ``requests`` maps (method, status label) to a count."""

    requests: dict[tuple[str, str], int] = field(default_factory=dict)
    throttled: int = 0
    retries: int = 0
    total_latency: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def avg_latency(self) -> float:
        return self.total_latency / self.total if self.total else 0.0

    def by_method(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for (method, _), count in self.requests.items():
            counts[method] += count
        return dict(counts)


@runtime_checkable
class CountsRequests(Protocol):
    """A client that counts its requests (for ``/metrics`` and the benchmark)."""

    def request_stats(self) -> StatsSnapshot: ...


# -- the state -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One durable result of an action: its audit entry, and the link to save or drop with it."""

    audit: AuditEntry
    save_link: Link | None = None
    drop_link: str | None = None
    save_group: GroupLink | None = None
    drop_group: str | None = None
    save_grants: tuple[Grant, ...] = ()
    drop_grants: tuple[tuple[str, str], ...] = ()
    """(anchor, licence id) of grants to forget."""


class LinkStore(Protocol):
    """The links: which anchor is bound to which Webex user, and what was last applied to it.

    A Webex id is linked to one anchor at most. Links are written only through ``record``,
    together with the audit entries that explain them. The store keeps a link's ``created_at``
    from its first save (the link's own when it has one, else the record's time), sets
    ``updated_at`` to the time of the record that saved it, and keeps the fingerprint of what was
    applied (``model.keys.fingerprint``), whatever the saved link said.
    """

    def links(self) -> Iterator[Link]:
        """Every link, by anchor."""
        ...

    def count_links(self) -> int:
        """How many links are stored (without reading them)."""
        ...

    def get_link(self, anchor: str) -> Link | None: ...

    def find_links(self, key: str) -> list[Link]:
        """Links whose anchor, Webex id, e-mail (folded) or DN (normalized) is ``key``, by anchor."""
        ...

    def record(self, records: Iterable[Record]) -> None:
        """Write audit entries and their link changes in one transaction, in order (each
        record's ``drop_link`` before its ``save_link``). Saving a link whose Webex id is linked
        to another anchor raises ``StateError`` naming both, and nothing of the batch is written."""
        ...


class CycleLog(Protocol):
    """The cycles run and the audit trail."""

    def start_cycle(self, cycle: CycleRecord) -> None: ...

    def finish_cycle(self, cycle: CycleRecord) -> None:
        """Store the cycle's end (its outcome and counts); it replaces what ``start_cycle`` stored."""
        ...

    def cycles(self, limit: int = 10) -> list[CycleRecord]:
        """The most recent cycles, newest first."""
        ...

    def audit(self, *, anchor: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries (of one anchor when given), newest first."""
        ...


class Lease(Protocol):
    """The cycle lock, and the instances of ``run`` that announce themselves.

    One owner at a time holds the lock, until it releases it or lets it expire.
    """

    def acquire_lock(self, owner: str, ttl_seconds: float) -> bool:
        """Take (or renew) the cycle lock for ``owner``; ``False`` if another live owner has it.
        ``ttl_seconds`` must be positive (``ValueError``)."""
        ...

    def release_lock(self, owner: str) -> None:
        """Release the lock if ``owner`` holds it; someone else's lock is left alone."""
        ...

    def lock_owner(self) -> str | None:
        """Who holds the lock and has not let it expire, or ``None``."""
        ...

    def announce(self, instance: InstanceRecord) -> None:
        """Record (or refresh) a running instance and its role; its ``last_seen`` is the heartbeat."""
        ...

    def instances(self, max_age_seconds: float) -> list[InstanceRecord]:
        """Instances seen within ``max_age_seconds``, the active one first."""
        ...

    def forget_instance(self, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredRefreshToken:
    """A refresh token Webex rotated, as stored; ``replaces`` is the digest of the configured
    refresh token that was in force when it was stored (a changed configuration wins)."""

    value: str = field(repr=False)
    replaces: str
    stored_at: datetime


class Bookkeeping(Protocol):
    """What one cycle leaves for the next: change feed watermarks, the baseline token, the users
    to retry, the problems still open, held actions and their approvals, a rotated refresh token.

    Every setter replaces what was stored; ``None`` or an empty collection clears it.
    """

    def get_watermark(self, name: str) -> str | None:
        """Where a change feed stopped (``ChangeFeed.watermark_name``)."""
        ...

    def set_watermark(self, name: str, value: str | None) -> None: ...

    def baseline(self) -> str | None:
        """The token every stored watermark carries; clearing it makes the next cycle a full one."""
        ...

    def set_baseline(self, token: str | None) -> None: ...

    def retry_anchors(self) -> list[str]:
        """The anchors incremental cycles read again (their last action or lookup failed), in order."""
        ...

    def set_retry_anchors(self, anchors: Sequence[str]) -> None: ...

    def open_problems(self) -> list[Problem]:
        """The users left alone by recent cycles, in order, until a cycle finds them fine."""
        ...

    def set_open_problems(self, problems: Sequence[Problem]) -> None: ...

    def hold(self, actions: Sequence[Action], cycle_id: str) -> None:
        """Replace the held actions with these."""
        ...

    def held(self) -> list[Action]:
        """The held actions, in the order they were held."""
        ...

    def approvals(self) -> set[tuple[str, ActionKind]]:
        """The held actions (anchor, kind) an operator approved for the running instance."""
        ...

    def set_approvals(self, approved: Iterable[tuple[str, ActionKind]]) -> None: ...

    def refresh_token(self) -> StoredRefreshToken | None: ...

    def save_refresh_token(self, token: StoredRefreshToken) -> None: ...


class GroupStore(Protocol):
    """The links of pushed groups (written through ``LinkStore.record``, with their audit
    entries: a record's ``drop_group`` applies before its ``save_group``), and the group
    actions a guard holds. A Webex group id is linked to one directory group at most."""

    def group_links(self) -> Iterator[GroupLink]:
        """Every group link, by anchor, with its managed members."""
        ...

    def get_group_link(self, anchor: str) -> GroupLink | None: ...

    def groups_of(self, user_anchor: str) -> list[GroupLink]:
        """The group links whose managed members include this user, by anchor."""
        ...

    def hold_groups(self, actions: Sequence[GroupAction], cycle_id: str) -> None:
        """Replace the held group actions with these."""
        ...

    def held_groups(self) -> list[GroupAction]:
        """The held group actions, in the order they were held."""
        ...


class LicenseStore(Protocol):
    """The licences linked users hold as far as webex-provisioner knows (grants, written through
    ``LinkStore.record``: a record's ``drop_link`` drops every grant of that anchor, then its
    ``drop_grants`` apply, then its ``save_grants``, each replacing the grant of its (anchor,
    licence)), the last licence catalogue read from Webex, the refusals not to ask again, and
    the licence actions a guard holds."""

    def grants(self) -> Iterator[Grant]:
        """Every grant, by anchor then licence id."""
        ...

    def grants_of(self, anchor: str) -> list[Grant]:
        """One user's grants, by licence id."""
        ...

    def license_catalog(self) -> list[License]:
        """The licences as last read from Webex (names to ids, units then), by name."""
        ...

    def set_license_catalog(self, licenses: Sequence[License]) -> None: ...

    def license_refusals(self) -> list[LicenseRefusal]:
        """The refused licences not to ask for again while the rules stand, in order stored."""
        ...

    def set_license_refusals(self, refusals: Sequence[LicenseRefusal]) -> None: ...

    def hold_licenses(self, actions: Sequence[LicenseAction], cycle_id: str) -> None:
        """Replace the held licence actions with these."""
        ...

    def held_licenses(self) -> list[LicenseAction]:
        """The held licence actions, in the order they were held."""
        ...


class NotificationBookkeeping(Protocol):
    """What the notifications keep between cycles: the conditions still open (since when, when
    last told) and the notices a channel has not taken yet, with their attempts.

    The setter replaces everything stored; an empty ``NotificationState`` clears it. Notices read
    back equal to what was stored (their counts and details included), in the order stored.
    """

    def notification_state(self) -> NotificationState: ...

    def set_notification_state(self, state: NotificationState) -> None: ...


class DriftBookkeeping(Protocol):
    """What the drift checks verified (docs/drift.md): the fingerprints of the comparisons that
    found a linked user as applied (``rules.verified``: what Webex sent for the user, its link,
    the attributes compared). The next check compares again only the users whose fingerprint is
    not among them; one that is would make the same comparison, with the same outcome.

    Each fingerprint is ``VERIFIED_BYTES`` bytes. Forgetting them is always safe (the users are
    compared again).
    """

    def verified(self) -> frozenset[bytes]:
        """The fingerprints the last saving check kept (empty when none)."""
        ...

    def save_verified(self, fingerprints: Collection[bytes]) -> None:
        """Keep ``fingerprints`` in place of all those kept before (an empty collection forgets
        them all). Each must be ``bytes`` of exactly ``VERIFIED_BYTES`` bytes, or ``StateError``
        says which one is not (by its position) and nothing is written."""
        ...


class StateStore(
    LinkStore,
    CycleLog,
    Lease,
    Bookkeeping,
    GroupStore,
    LicenseStore,
    NotificationBookkeeping,
    DriftBookkeeping,
    Protocol,
):
    """Everything the engine keeps: links, the cycle log, the lease, the bookkeeping, the links of
    pushed groups, the licences granted, the notifications' bookkeeping and what the drift checks
    verified.

    Datetimes go in timezone-aware (a naive one is refused with ``StateError``, writing nothing)
    and come back in UTC. What a store returns is its own copy: changing it, or what was handed
    to the store, never changes what is stored.
    """

    def close(self) -> None: ...


# -- notifications ------------------------------------------------------------------------------


class Notifier(Protocol):
    """One channel that tells operators: a webhook, e-mail or a Webex space (docs/notifications.md).

    ``send`` delivers one message, or raises ``NotificationError`` (and nothing else) when the
    far end refused it, answered an error, was unreachable or too slow: within the configured
    timeout, never longer. Its message names the channel and what failed, never a credential.
    """

    @property
    def channel(self) -> str:
        """``webhook``, ``email`` or ``webex``."""
        ...

    def send(self, message: OutboundMessage) -> None: ...

    def close(self) -> None: ...
