"""What is kept of cycles: their records, the audit trail, the running instances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from webex_provisioner.model.actions import ActionKind, Reason


class CycleKind(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"
    USER = "user"


class Outcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    HELD = "held"
    SKIPPED = "skipped"


class Audited(Protocol):
    """An action of any resource (a user's, a group's, a licence's), as the audit trail names it."""

    @property
    def anchor(self) -> str: ...

    @property
    def kind(self) -> ActionKind: ...

    @property
    def reason(self) -> Reason: ...


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

    @classmethod
    def of(
        cls,
        action: Audited,
        cycle_id: str,
        time: datetime,
        outcome: Outcome,
        *,
        subject: str,
        webex_id: str | None,
        detail: str,
    ) -> AuditEntry:
        """The audit line of ``action``; ``subject`` is whom it concerns (an e-mail, a group's name)."""
        kind, reason = action.kind.value, action.reason.value
        return cls(cycle_id, time, action.anchor, subject, kind, reason, outcome, webex_id, detail)


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
