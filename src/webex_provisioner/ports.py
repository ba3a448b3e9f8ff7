"""The three ports of the engine: where the directory, Webex and the state live.

Each is a small protocol with one adapter per technology (``LdapDirectory``, ``ScimWebexClient``,
``SqliteStateStore`` / ``PostgresStateStore``) and a contract test suite every adapter passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from webex_provisioner.model import (
    Action,
    Attributes,
    AuditEntry,
    Change,
    CycleRecord,
    DirectoryUser,
    InstanceRecord,
    Link,
    WebexUser,
)


class DirectorySource(Protocol):
    """Reads directory users. Raises ``DirectoryError`` subclasses, never a library's exception."""

    def read_users(self) -> Iterator[DirectoryUser]:
        """Every directory user under the base DN matching the user filter, labelled with
        ``in_scope`` and ``disabled``.

        The iterator raises ``DirectoryIncompleteError`` (or ``DirectoryUnavailableError``) if the
        read cannot be completed, *after* yielding what it got: a caller must treat a read that
        raised as partial and never deprovision from it.
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
    DirSync. Raises ``DirectoryError`` subclasses like ``DirectorySource``."""

    def changes(self, watermark: str | None) -> ChangeSet: ...

    def close(self) -> None: ...


class WebexClient(Protocol):
    """The Webex organization's users over SCIM 2.0.

    Mapped attributes travel as flat ``Attributes`` (mapping keys such as ``email``,
    ``firstName``, ``workPhone``); the adapter converts to and from SCIM resources.
    """

    def find_by_email(self, email: str) -> WebexUser | None:
        """The Webex user whose userName equals ``email`` (case-insensitive), or ``None``."""
        ...

    def list_users(self) -> Iterator[WebexUser]:
        """Every user of the organization, page by page."""
        ...

    def count_users(self) -> int:
        """How many users the organization has (one small request)."""
        ...

    def get_user(self, webex_id: str) -> WebexUser | None: ...

    def create_user(self, attributes: Attributes, *, active: bool = True) -> WebexUser:
        """POST a new user. Raises ``WebexConflictError`` on 409 and ``WebexOutcomeUnknownError``
        when the request may have been applied without an answer (the caller looks up by e-mail
        before any retry)."""
        ...

    def update_user(
        self, webex_id: str, changes: Sequence[Change], *, active: bool | None = None
    ) -> WebexUser:
        """PATCH only what changed (and ``active`` when given). ``WebexNotFoundError`` on 404."""
        ...

    def delete_user(self, webex_id: str) -> None:
        """DELETE the user; a 404 counts as done."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Record:
    """One durable result of an action: its audit entry, and the link to save or drop with it."""

    audit: AuditEntry
    save_link: Link | None = None
    drop_link: str | None = None


class StateStore(Protocol):
    """Links, cycles, the audit trail, watermarks, held actions and the cycle lock."""

    def links(self) -> Iterator[Link]: ...

    def count_links(self) -> int:
        """How many links are stored (without reading them)."""
        ...

    def get_link(self, anchor: str) -> Link | None: ...

    def find_links(self, key: str) -> list[Link]:
        """Links whose anchor, Webex id, e-mail (case-insensitive) or DN (case-insensitive) is ``key``."""
        ...

    def record(self, records: Iterable[Record]) -> None:
        """Write audit entries and their link changes in one transaction."""
        ...

    def start_cycle(self, cycle: CycleRecord) -> None: ...

    def finish_cycle(self, cycle: CycleRecord) -> None: ...

    def cycles(self, limit: int = 10) -> list[CycleRecord]:
        """The most recent cycles, newest first."""
        ...

    def audit(self, *, anchor: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries (of one anchor when given), newest first."""
        ...

    def get_watermark(self, name: str) -> str | None: ...

    def set_watermark(self, name: str, value: str | None) -> None: ...

    def hold(self, actions: Sequence[Action], cycle_id: str) -> None:
        """Replace the held actions with these."""
        ...

    def held(self) -> list[Action]: ...

    def acquire_lock(self, owner: str, ttl_seconds: float) -> bool:
        """Take (or renew) the cycle lock for ``owner``; ``False`` if another live owner has it."""
        ...

    def release_lock(self, owner: str) -> None: ...

    def lock_owner(self) -> str | None: ...

    def announce(self, instance: InstanceRecord) -> None:
        """Record (or refresh) a running instance and its role; its ``last_seen`` is the heartbeat."""
        ...

    def instances(self, max_age_seconds: float) -> list[InstanceRecord]:
        """Instances seen within ``max_age_seconds``, the active one first."""
        ...

    def forget_instance(self, name: str) -> None: ...

    def close(self) -> None: ...
