"""The vocabulary of licences assigned by rule (docs/licenses.md).

Every linked, active user gets the licences of the rules it matches. The state records each
licence a user holds that webex-provisioner knows of, and whether webex-provisioner assigned it
(*ours*): only those are ever reclaimed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from webex_provisioner.model.actions import ActionKind, Reason


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
    """A licence a linked user holds, as recorded: ``ours`` when webex-provisioner assigned it."""

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
class LicenseAction:
    """Assign or reclaim one licence of one user, with the rule that asks for it (or why none)."""

    kind: ActionKind
    reason: Reason
    anchor: str
    email: str
    license_id: str
    license_name: str
    webex_id: str | None = None
    rule: str = ""
    detail: str = ""

    @property
    def subject(self) -> str:
        """What the action is about, as people name it: the user's e-mail."""
        return self.email
