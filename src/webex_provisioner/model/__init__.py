"""The vocabulary of webex-provisioner (docs/architecture.md, "Vocabulary") as plain, immutable data.

Everything here is a value: no I/O, no clock. Adapters produce and consume these types; the
mapping and the planner compute with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

# A desired or applied Webex user, flattened: mapping key (``email``, ``firstName``, ``department``,
# ``workPhone``, ``extensionAttribute3``, ...) -> value. Absent keys mean "no value".
Attributes = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """An LDAP entry of the configured user object class under the base DN.

    ``attributes`` holds the entry's values decoded as UTF-8 text, keyed by the attribute name in
    lower case. Values that are not valid UTF-8 are left out and their attribute named in
    ``undecodable``, so the mapping can report the user instead of sending garbage.
    """

    anchor: str
    dn: str
    attributes: Mapping[str, tuple[str, ...]]
    disabled: bool = False
    in_scope: bool = True
    scope_reason: str = ""
    undecodable: frozenset[str] = frozenset()

    def values(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name.lower(), ())

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class WebexUser:
    """A SCIM User resource of the organization, with its mapped attributes flattened."""

    id: str
    email: str
    active: bool
    attributes: Attributes = field(default_factory=dict)


class LinkState(StrEnum):
    """What we last made of the linked Webex user."""

    ACTIVE = "active"
    DISABLED = "disabled"


class ActionKind(StrEnum):
    CREATE = "create"
    LINK = "link"
    UPDATE = "update"
    DISABLE = "disable"
    REACTIVATE = "reactivate"
    DELETE = "delete"

    @property
    def deprovisions(self) -> bool:
        return self in (ActionKind.DISABLE, ActionKind.DELETE)


class Reason(StrEnum):
    ENTERED_SCOPE = "entered_scope"
    MATCHED_EXISTING = "matched_existing"
    ATTRIBUTES_CHANGED = "attributes_changed"
    DELETED_IN_DIRECTORY = "deleted_in_directory"
    DISABLED_IN_DIRECTORY = "disabled_in_directory"
    LEFT_SCOPE = "left_scope"
    RE_ENABLED = "re_enabled"
    RE_ENTERED_SCOPE = "re_entered_scope"
    GRACE_PERIOD_ELAPSED = "grace_period_elapsed"
    WEBEX_USER_MISSING = "webex_user_missing"


class Deprovision(StrEnum):
    """What a deprovision trigger does (provisioning.on_deleted / on_disabled / on_left_scope)."""

    DISABLE = "disable"
    DELETE = "delete"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Link:
    """The stored binding of an anchor to a Webex user id, with what was last applied."""

    anchor: str
    webex_id: str
    email: str
    dn: str
    state: LinkState = LinkState.ACTIVE
    applied: Attributes = field(default_factory=dict)
    fingerprint: str = ""
    deprovisioned_at: datetime | None = None
    deprovision_reason: Reason | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One Webex attribute an update changes. ``None`` means absent (a removal or an addition)."""

    attribute: str
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a plan, with why it is taken.

    ``desired`` is the whole desired user for ``create`` and ``link``; ``changes`` is what an
    ``update`` sends (only changed attributes). ``webex_id`` is known for everything but ``create``
    (and a follow-up of a user created in the same cycle). ``pending`` names, for a follow-up,
    each attribute that takes the Webex id of a DN provisioned earlier in the cycle (a manager).
    """

    kind: ActionKind
    reason: Reason
    anchor: str
    email: str
    dn: str = ""
    webex_id: str | None = None
    changes: tuple[Change, ...] = ()
    desired: Attributes = field(default_factory=dict)
    active: bool = True
    detail: str = ""
    pending: tuple[tuple[str, str], ...] = ()


class ProblemKind(StrEnum):
    CONFLICT = "conflict"
    INVALID = "invalid"
    FAILED = "failed"
    PROTECTED = "protected"


@dataclass(frozen=True, slots=True)
class Problem:
    """A directory user the plan leaves alone, and why (conflict, invalid data, a failed
    lookup in Webex, protected)."""

    kind: ProblemKind
    anchor: str
    dn: str
    email: str | None
    detail: str


@dataclass(frozen=True, slots=True)
class Plan:
    """What one cycle will do: ordered actions, plus the users it deliberately leaves alone."""

    actions: tuple[Action, ...] = ()
    problems: tuple[Problem, ...] = ()
    held: tuple[Action, ...] = ()
    users_read: int = 0
    followups: tuple[Action, ...] = ()
    """Updates applied once ``actions`` are: they need a Webex id those create (a manager's)."""

    @property
    def all_actions(self) -> tuple[Action, ...]:
        """Every action a cycle applies, in order: ``actions``, then ``followups``."""
        return (*self.actions, *self.followups) if self.followups else self.actions

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for action in self.all_actions:
            counts[action.kind.value] = counts.get(action.kind.value, 0) + 1
        return counts


class CycleKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    USER = "user"


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    HELD = "held"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: an action applied, failed or held, or a problem reported."""

    cycle_id: str
    time: datetime
    anchor: str
    email: str
    action: str
    reason: str
    outcome: Outcome
    webex_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """A cycle as stored: kind, timings, counts, outcome."""

    id: str
    kind: CycleKind
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = "running"
    counts: Mapping[str, int] = field(default_factory=dict)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class InstanceRecord:
    """A running ``webex-provisioner run``: the active one applies cycles, standbys wait."""

    name: str
    host: str
    pid: int
    role: str
    started_at: datetime
    role_since: datetime
    last_seen: datetime
