"""A plan: what one cycle will do, and what it leaves alone."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from webex_provisioner.model.groups import GroupAction
from webex_provisioner.model.licenses import CapacityRow, LicenseAction
from webex_provisioner.model.users import Action

AnyAction = Action | GroupAction | LicenseAction
"""An action on a user, a Webex group or a user's licences."""


class ProblemKind(StrEnum):
    CONFLICT = "conflict"
    INVALID = "invalid"
    FAILED = "failed"
    PROTECTED = "protected"
    SHORTFALL = "shortfall"
    """A licence a rule asks for could not be assigned: no free units."""
    DRIFT = "drift"
    """Webex differs from what webex-provisioner applied, and ``drift:`` says to report it."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A directory user the plan leaves alone, and why (conflict, invalid data, a failed
    lookup in Webex, protected, drift in Webex reported)."""

    kind: ProblemKind
    anchor: str
    dn: str
    email: str | None
    detail: str
    resource: str = "user"
    """What is left alone: ``user`` (``email`` is its e-mail), ``group`` (``email`` is its
    name) or ``license`` (a user's licence: ``email`` is the user's)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What one cycle will do: ordered actions on users (and their follow-ups), actions on Webex
    groups, what a guard holds, and what it deliberately leaves alone."""

    actions: tuple[Action, ...] = ()
    problems: tuple[Problem, ...] = ()
    held: tuple[Action, ...] = ()
    users_read: int = 0
    followups: tuple[Action, ...] = ()
    """Updates applied once ``actions`` are: they need a Webex id those create (a manager's)."""
    groups: tuple[GroupAction, ...] = ()
    """Actions on Webex groups, applied once the users' are (their members must exist)."""
    held_groups: tuple[GroupAction, ...] = ()
    groups_read: int = 0
    licenses: tuple[LicenseAction, ...] = ()
    """Assignments and reclaims of licences (reclaims first), applied once the users' and the
    groups' actions are (a new user must exist first)."""
    held_licenses: tuple[LicenseAction, ...] = ()
    capacity: tuple[CapacityRow, ...] = ()
    """The licences the rules name (and any the plan reclaims), with their units."""

    @property
    def all_actions(self) -> tuple[Action, ...]:
        """Every user action a cycle applies, in order: ``actions``, then ``followups``."""
        return (*self.actions, *self.followups) if self.followups else self.actions

    @property
    def holds(self) -> bool:
        """Whether a guard holds anything (users, groups, licences) for an administrator to approve."""
        return bool(self.held or self.held_groups or self.held_licenses)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        actions: list[AnyAction] = [*self.all_actions, *self.groups, *self.licenses]
        kinds = [a.kind.value for a in actions]
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
        return counts
