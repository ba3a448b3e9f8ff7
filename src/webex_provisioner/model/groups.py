"""The vocabulary of Webex groups pushed from directory groups (docs/groups.md).

A *selected* directory group (``groups:``) becomes one Webex group, linked by the directory
group's anchor. Its members in Webex are the linked users among its directory members; the
group link records which of them this tool made members, so that a member added by anyone else
is never removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from webex_provisioner.model.actions import ActionKind, Reason


@dataclass(frozen=True, slots=True)
class DirectoryGroup:
    """A directory group selected for Webex.

    ``attributes`` holds the values ``groups.name`` reads (lower-case names). ``members`` holds
    the normalized DNs of its members that are not groups, flattened through nested groups with
    ``groups.nested: flatten`` (direct members only with ``direct``); ``nested`` names the groups
    flattened into it and ``cycles`` the membership cycles met (each as ``A > B > A``).
    """

    anchor: str
    dn: str
    attributes: Mapping[str, tuple[str, ...]]
    members: frozenset[str] = frozenset()
    nested: tuple[str, ...] = ()
    cycles: tuple[str, ...] = ()

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name.lower())
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class GroupRead:
    """The selected directory groups, and a digest of what they look like now: equal digests
    mean nothing about the selected groups (or the groups nested in them) changed."""

    groups: tuple[DirectoryGroup, ...]
    digest: str


@dataclass(frozen=True, slots=True)
class WebexGroup:
    """A SCIM Group of the organization; ``members`` (Webex user ids) when they were read."""

    id: str
    name: str
    external_id: str | None = None
    members: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class GroupLink:
    """The stored binding of a directory group's anchor to a Webex group.

    ``members`` are the anchors of the linked users this tool made members: the only memberships
    it manages (and ever removes).
    """

    anchor: str
    webex_id: str
    name: str
    dn: str
    members: frozenset[str] = frozenset()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Member:
    """A user an action adds to or removes from a group: its anchor, and its e-mail to show."""

    anchor: str
    email: str


@dataclass(frozen=True, slots=True)
class GroupAction:
    """One step of a plan for a Webex group, with why it is taken.

    ``members`` are those a ``create_group`` starts with, or those ``add_members`` /
    ``remove_members`` add or remove. ``webex_id`` is known for everything but ``create_group``.
    ``skipped`` counts the directory members that are not provisioned users (not added).
    """

    kind: ActionKind
    reason: Reason
    anchor: str
    name: str
    dn: str = ""
    webex_id: str | None = None
    members: tuple[Member, ...] = ()
    old_name: str | None = None
    skipped: int = 0
    detail: str = ""

    @property
    def subject(self) -> str:
        """What the action is about, as people name it: the group's name."""
        return self.name
