"""The vocabulary of licences assigned by rule (docs/licenses.md).

Every linked, active user gets the licences of the rules it matches. A rule selects users by a
*label* the directory puts on them (``group:<normalized DN>`` for the members of a group,
``filter:<LDAP filter>`` for the users a filter matches; ``everyone`` needs none). The state
records each licence a linked user holds that webex-provisioner knows of as a *grant*, and
whether webex-provisioner assigned it (*ours*): only those are ever reclaimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webex_provisioner.model.actions import ActionKind, Reason
from webex_provisioner.model.keys import normalize_dn


def group_label(dn: str) -> str:
    """The label of the members (nested as ``directory.scope.nested_groups``) of a group."""
    return f"group:{normalize_dn(dn)}"


def filter_label(ldap_filter: str) -> str:
    """The label of the users an LDAP filter matches (the filter as configured)."""
    return f"filter:{ldap_filter}"


CALLING_WORD = "calling"


def is_calling_license(name: str) -> bool:
    """Whether a licence is a Webex Calling one, by its name: it contains ``calling`` in any case
    (``Webex Calling - Professional``). Adapters and fakes set ``License.calling`` with it."""
    return CALLING_WORD in name.casefold()


@dataclass(frozen=True, slots=True)
class LicenseRuleSpec:
    """One rule of ``licenses.rules``: who it is for (``label``: ``None`` for everyone), how to
    name it to people, and the licences it assigns (names or ids, as configured)."""

    number: int
    label: str | None
    description: str
    assign: tuple[str, ...]

    @property
    def title(self) -> str:
        """``rule 2 (member of cn=messaging,…)``: how plans and explanations name the rule."""
        return f"rule {self.number} ({self.description})"


@dataclass(frozen=True, slots=True)
class License:
    """A licence of the organization, with its units (``GET /v1/licenses``)."""

    id: str
    name: str
    total: int
    consumed: int
    calling: bool = False
    """A Calling licence: it needs a location and a number, which rules cannot give."""

    @property
    def free(self) -> int:
        return max(0, self.total - self.consumed)


@dataclass(frozen=True, slots=True)
class Grant:
    """A licence a linked user holds, as recorded: ``ours`` when webex-provisioner assigned it
    (only those are reclaimed), not ours when the user held it before webex-provisioner would
    have assigned it (an administrator's, a template's)."""

    anchor: str
    license_id: str
    ours: bool
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class LicenseAnswer:
    """What Webex answered to a change of a user's licences: the licences it holds now, and
    whether every change was done (``complete``: 200; ``False``: 206, some were not)."""

    held: frozenset[str]
    complete: bool = True


@dataclass(frozen=True, slots=True)
class LicenseItem:
    """One licence of a licence action, and why: the rule that asks for it (``rule 2: member of
    cn=…``), or why nothing asks for it any more."""

    license_id: str
    name: str
    why: str = ""


@dataclass(frozen=True, slots=True)
class LicenseAction:
    """Assign (``assign_license``) or reclaim (``reclaim_license``) some licences of one user:
    one request. ``webex_id`` is ``None`` for a user this cycle creates (known once it is)."""

    kind: ActionKind
    reason: Reason
    anchor: str
    email: str
    licenses: tuple[LicenseItem, ...]
    webex_id: str | None = None
    detail: str = ""

    @property
    def subject(self) -> str:
        """What the action is about, as people name it: the user's e-mail."""
        return self.email

    @property
    def license_ids(self) -> tuple[str, ...]:
        return tuple(item.license_id for item in self.licenses)


@dataclass(frozen=True, slots=True)
class LicenseRefusal:
    """A licence Webex refused to assign to a user for a reason that does not pass by itself
    (a documented 400 code: conflicting licences, a Calling licence without a number). It is not
    asked for again until the rules change (``rules`` is their digest when it was refused)."""

    anchor: str
    license_id: str
    code: int | None
    detail: str
    rules: str
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CapacityRow:
    """One licence in a plan: its units (as Webex last said), the assignments and reclaims the
    plan sends, and the users left without for lack of free units (``shortfall``)."""

    license_id: str
    name: str
    total: int
    consumed: int
    assign: int = 0
    reclaim: int = 0
    shortfall: int = 0

    @property
    def free(self) -> int:
        return max(0, self.total - self.consumed)
