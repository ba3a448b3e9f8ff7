"""What a cycle (or a dry run) found and did, and the exit code that says so (docs/cli.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from webex_provisioner.engine.executor import ApplyResult
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import CycleKind, Plan, ProblemKind

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_USERS_FAILED, EXIT_HELD = 0, 1, 2, 3, 4


def utc_now() -> datetime:
    return datetime.now(UTC)


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
    interrupted: bool = False
    failure: ProvisionerError | None = field(default=None, repr=False)

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
        counts["held"] = len(self.plan.held) + len(self.plan.held_groups)
        counts["problems"] = len(self.plan.problems)
        counts["users_read"] = self.plan.users_read
        return counts
