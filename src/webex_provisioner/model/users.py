"""Directory users, Webex users, links, and the actions a plan takes on users."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from webex_provisioner.model.actions import ActionKind, Reason

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

    @property
    def subject(self) -> str:
        """What the action is about, as people name it: the user's e-mail."""
        return self.email
