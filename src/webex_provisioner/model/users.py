"""Directory users, Webex users, links, and the actions a plan takes on users."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from webex_provisioner.model.actions import ActionKind, Reason

Attributes = Mapping[str, str]


class EncodedAttributes(Mapping[str, str]):
    """Attributes a store keeps encoded until first used, then decoded and kept (a full cycle
    loads every link, and uses the applied attributes of only a few). ``peek`` decodes them
    without keeping the result: for a comparison made once (a drift check compares them all)."""

    __slots__ = ()

    @abstractmethod
    def peek(self) -> Mapping[str, str]:
        """The attributes, decoded for this one use."""

    @abstractmethod
    def encoded(self) -> str:
        """The attributes as the store keeps them (equal texts, equal attributes)."""


def read_once(attributes: Attributes) -> Mapping[str, str]:
    """``attributes`` to read once: an ``EncodedAttributes`` is decoded without keeping it."""
    return attributes.peek() if isinstance(attributes, EncodedAttributes) else attributes


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """An LDAP entry of the configured user object class under the base DN.

    ``attributes`` holds the entry's values decoded as UTF-8 text, keyed by the attribute name in
    lower case. Values that are not valid UTF-8 are left out and their attribute named in
    ``undecodable``, so the mapping can report the user instead of sending garbage.
    ``labels`` are put on by the directory for the licence rules (docs/licenses.md).
    """

    anchor: str
    dn: str
    attributes: Mapping[str, tuple[str, ...]]
    disabled: bool = False
    in_scope: bool = True
    scope_reason: str = ""
    undecodable: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    """The licence rules' labels the user matches (``model.licenses.group_label`` /
    ``filter_label``), among those the directory was asked to put on users."""

    def values(self, name: str) -> tuple[str, ...]:
        return self.attributes.get(name.lower(), ())

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class WebexUser:
    """A SCIM User resource of the organization, with its mapped attributes flattened;
    ``created`` is its ``meta.created`` when Webex told it."""

    id: str
    email: str
    active: bool
    attributes: Attributes = field(default_factory=dict)
    created: datetime | None = None


class ListedUser:
    """A Webex user as a listing returned it: its ``id``, and a ``fingerprint`` of what Webex sent
    for it (those bytes themselves, or a digest of them), equal in two listings when nothing of
    the user changed. Its attributes are read only when asked (``read``): a drift check reads
    only the users whose fingerprint changed since it last verified them."""

    __slots__ = ("fingerprint", "id")

    def __init__(self, id: str, fingerprint: bytes) -> None:
        self.id = id
        self.fingerprint = fingerprint

    @abstractmethod
    def read(self) -> WebexUser:
        """The user, as ``WebexClient.list_users`` gives it for the same keys."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r})"


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
