"""What is kept of cycles: their records, the audit trail, the running instances."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


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
