"""How plans, cycles, links and status look to a person (rich tables) and to a machine (JSON)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from webex_provisioner.engine.bookkeeping import problem_json
from webex_provisioner.engine.cycle import CycleReport
from webex_provisioner.model import Action, AuditEntry, CycleRecord, InstanceRecord, Link, Plan, Problem

_IMPLIED = frozenset({"email", "externalId"})  # shown in the e-mail column / always the anchor


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def describe_changes(action: Action) -> str:
    if action.changes:
        return "; ".join(f"{c.attribute}: {c.old!r} → {c.new!r}" for c in action.changes)
    if action.desired and action.kind.value == "create":
        state = "new, active" if action.active else "new, inactive"
        shown = ", ".join(f"{k}={v}" for k, v in sorted(action.desired.items()) if k not in _IMPLIED)
        return f"{state}: {shown}" if shown else state
    return action.detail


def action_json(action: Action) -> dict[str, Any]:
    return {
        "action": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "email": action.email,
        "dn": action.dn,
        "webex_id": action.webex_id,
        "active": action.active,
        "changes": [{"attribute": c.attribute, "old": c.old, "new": c.new} for c in action.changes],
        "desired": dict(action.desired) if action.kind.value == "create" else None,
        "detail": action.detail or None,
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "users_read": plan.users_read,
        "counts": plan.counts(),
        "actions": [action_json(a) for a in plan.actions],
        "held": [action_json(a) for a in plan.held],
        "problems": [problem_json(p) for p in plan.problems],
    }


def actions_table(actions: Sequence[Action], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("action", "reason", "email", "what changes"):
        table.add_column(column, overflow="fold")
    for action in actions:
        table.add_row(action.kind.value, action.reason.value, action.email, describe_changes(action))
    return table


def problems_table(problems: Sequence[Problem]) -> Table:
    table = Table(title="Users left alone", title_justify="left")
    for column in ("kind", "user", "why"):
        table.add_column(column, overflow="fold")
    for problem in problems:
        table.add_row(problem.kind.value, problem.email or problem.dn or problem.anchor, problem.detail)
    return table


def render_plan(plan: Plan) -> Group:
    parts: list[Any] = []
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts().items())) or "nothing to do"
    parts.append(Text(f"{plan.users_read} directory user(s) read; planned: {counts}.", style="bold"))
    if plan.actions:
        parts.append(actions_table(plan.actions, "Planned actions"))
    if plan.held:
        parts.append(
            actions_table(plan.held, "Held by the deprovision guard (apply with sync --approve-held)")
        )
    if plan.problems:
        parts.append(problems_table(plan.problems))
    return Group(*parts)


def cycle_json(report: CycleReport) -> dict[str, Any]:
    result: dict[str, Any] = {
        "cycle_id": report.cycle_id,
        "kind": report.kind.value,
        "dry_run": report.dry_run,
        "outcome": report.outcome,
        "exit_code": report.exit_code,
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "error": report.error,
        "plan": plan_json(report.plan),
    }
    if report.applied is not None:
        result["applied"] = {f"{k}:{o}": n for (k, o), n in sorted(report.applied.counts.items())}
        result["failures"] = [
            {"action": a.kind.value, "email": a.email, "anchor": a.anchor, "error": err}
            for a, err in report.applied.failures
        ]
    return result


def render_cycle(report: CycleReport) -> Group:
    parts: list[Any] = [render_plan(report.plan)]
    if report.applied is not None:
        done = ", ".join(f"{n} {k} {o}" for (k, o), n in sorted(report.applied.counts.items())) or "nothing"
        parts.append(Text(f"Applied: {done}.", style="bold"))
        if report.applied.failures:
            table = Table(title="Failed", title_justify="left")
            for column in ("action", "email", "error"):
                table.add_column(column, overflow="fold")
            for action, error in report.applied.failures:
                table.add_row(action.kind.value, action.email, error)
            parts.append(table)
    if report.error:
        parts.append(Text(f"Cycle failed: {report.error}", style="bold red"))
    elif report.plan.held:
        parts.append(
            Text(
                f"{len(report.plan.held)} deprovision(s) held by the guard (safety.max_deprovisions). "
                "Review them with 'webex-provisioner plan', then run 'webex-provisioner sync --approve-held' "
                "or 'webex-provisioner sync --discard-held'.",
                style="bold yellow",
            )
        )
    return Group(*parts)


def link_json(link: Link) -> dict[str, Any]:
    return {
        "anchor": link.anchor,
        "webex_id": link.webex_id,
        "email": link.email,
        "dn": link.dn,
        "state": link.state.value,
        "applied": dict(link.applied),
        "deprovisioned_at": link.deprovisioned_at.isoformat() if link.deprovisioned_at else None,
        "deprovision_reason": link.deprovision_reason.value if link.deprovision_reason else None,
        "created_at": link.created_at.isoformat() if link.created_at else None,
        "updated_at": link.updated_at.isoformat() if link.updated_at else None,
        "last_error": link.last_error,
    }


def links_table(links: Iterable[Link]) -> Table:
    table = Table(title="Linked users", title_justify="left")
    for column in ("email", "state", "webex id", "anchor", "updated", "last error"):
        table.add_column(column, overflow="fold")
    for link in links:
        table.add_row(
            link.email,
            link.state.value,
            link.webex_id,
            link.anchor,
            _when(link.updated_at),
            link.last_error or "",
        )
    return table


def audit_table(entries: Iterable[AuditEntry], title: str = "History") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("time", "action", "reason", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(_when(e.time), e.action, e.reason, e.outcome.value, e.detail)
    return table


def cycle_record_json(cycle: CycleRecord) -> dict[str, Any]:
    return {
        "id": cycle.id,
        "kind": cycle.kind.value,
        "started_at": cycle.started_at.isoformat(),
        "finished_at": cycle.finished_at.isoformat() if cycle.finished_at else None,
        "outcome": cycle.outcome,
        "counts": dict(cycle.counts),
        "detail": cycle.detail or None,
    }


def cycles_table(cycles: Iterable[CycleRecord]) -> Table:
    table = Table(title="Recent cycles", title_justify="left")
    for column in ("started", "kind", "seconds", "outcome", "counts"):
        table.add_column(column, overflow="fold")
    for c in cycles:
        seconds = f"{(c.finished_at - c.started_at).total_seconds():.1f}" if c.finished_at else "running"
        counts = ", ".join(f"{k}={v}" for k, v in sorted(c.counts.items()) if v)
        table.add_row(_when(c.started_at), c.kind.value, seconds, c.outcome, counts or c.detail)
    return table


def make_console(*, stderr: bool = False) -> Console:
    return Console(stderr=stderr, soft_wrap=False, width=None)


def instance_json(instance: InstanceRecord) -> dict[str, Any]:
    return {
        "name": instance.name,
        "host": instance.host,
        "pid": instance.pid,
        "role": instance.role,
        "started_at": instance.started_at.isoformat(),
        "role_since": instance.role_since.isoformat(),
        "last_seen": instance.last_seen.isoformat(),
    }


def instances_table(instances: Iterable[InstanceRecord]) -> Table:
    table = Table(title="Instances of 'run'", title_justify="left")
    for column in ("instance", "host", "pid", "role", "since", "last seen"):
        table.add_column(column, overflow="fold")
    for i in instances:
        table.add_row(i.name, i.host, str(i.pid), i.role, _when(i.role_since), _when(i.last_seen))
    return table
