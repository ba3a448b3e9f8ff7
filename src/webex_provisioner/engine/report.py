"""What a cycle (or a dry run) found and did, and the exit code that says so (docs/cli.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from webex_provisioner.engine.executor import ApplyResult
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import AnyAction, CycleKind, Plan, ProblemKind
from webex_provisioner.model.drift import DriftFindings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_USERS_FAILED, EXIT_HELD = 0, 1, 2, 3, 4


def utc_now() -> datetime:
    return datetime.now(UTC)


class Phase(StrEnum):
    """The phases of a cycle, as a live view names them (``Cycle(phase=...)``)."""

    READ = "reading the directory"
    LOOKUP = "looking up Webex"
    LICENSES = "planning licences"
    APPLY = "applying"
    RECORD = "recording"


@dataclass
class CycleReport:
    """What a cycle (or a dry run) found and did."""

    cycle_id: str
    kind: CycleKind
    started_at: datetime
    dry_run: bool
    plan: Plan = field(default_factory=Plan)
    applied: ApplyResult | None = None
    error: str | None = None
    finished_at: datetime | None = None
    passes: int = 0
    directory_seconds: float = 0.0
    apply_seconds: float = 0.0
    interrupted: bool = False
    failure: ProvisionerError | None = field(default=None, repr=False)
    drift: DriftFindings | None = None
    """What the cycle's drift check found (``None``: it had none, docs/drift.md)."""

    @property
    def exit_code(self) -> int:
        """1 failed; else 4 when deprovisions are held (an administrator must decide: this wins
        over 3, since most directories always have a user or two left alone); else 3 when users
        failed or were left alone; else 0."""
        if self.error is not None:
            return EXIT_FAILED
        if self.plan.holds:
            return EXIT_HELD
        if self.applied is not None and self.applied.failed:
            return EXIT_USERS_FAILED
        if any(p.kind is not ProblemKind.PROTECTED for p in self.plan.problems):
            return EXIT_USERS_FAILED
        return EXIT_OK

    def add_directory_time(self, seconds: float) -> None:
        self.directory_seconds += seconds

    @property
    def outcome(self) -> str:
        if self.interrupted:
            return "interrupted"
        return {EXIT_OK: "succeeded", EXIT_FAILED: "failed", EXIT_USERS_FAILED: "partial", EXIT_HELD: "held"}[
            self.exit_code
        ]

    def counts(self) -> dict[str, int]:
        counts = {f"planned_{k}": v for k, v in self.plan.counts().items()}
        if self.applied is not None:
            for (kind, outcome), n in self.applied.counts.items():
                counts[f"{kind}_{outcome}"] = n
        counts["held"] = len(self.plan.held) + len(self.plan.held_groups) + len(self.plan.held_licenses)
        counts["problems"] = len(self.plan.problems)
        counts["users_read"] = self.plan.users_read
        if self.drift is not None and self.drift.error is None:
            counts.update({f"drift_{kind.value}": n for kind, n in self.drift.found().items() if n})
        return counts


def action_status(report: CycleReport) -> Callable[[AnyAction], tuple[str, str]]:
    """What became of each action of ``report``'s plan, as ``(status, error)``: ``planned`` in a
    dry run or an apply that did not run to its end (the audit log has what it did), else
    ``applied``, ``failed`` or ``skipped`` (a follow-up whose manager did not make it, or a
    user's action after one that failed) with the error."""
    applied = report.applied
    if applied is None or report.interrupted:
        return lambda _action: ("planned", "")
    known = {(a.anchor, a.kind): ("skipped", why) for a, why in applied.skipped}
    known.update(((a.anchor, a.kind), ("failed", error)) for a, error in applied.failures)
    return lambda action: known.get((action.anchor, action.kind), ("applied", ""))
