"""How plans, cycles, links, status and explanations look to a person: rich tables and text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from webex_provisioner.engine.explain import Explanation
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.model import (
    Action,
    AuditEntry,
    CycleRecord,
    GroupAction,
    InstanceRecord,
    Link,
    Plan,
    Problem,
)
from webex_provisioner.rules.lifecycle import diff

_IMPLIED = frozenset({"email", "externalId"})  # shown in the e-mail column / always the anchor


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def describe_changes(action: Action) -> str:
    pending = dict(action.pending)
    if action.changes:
        return "; ".join(
            f"{c.attribute}: {c.old!r} → the Webex id of {pending[c.attribute]} (provisioned first)"
            if c.attribute in pending
            else f"{c.attribute}: {c.old!r} → {c.new!r}"
            for c in action.changes
        )
    if action.desired and action.kind.value == "create":
        state = "new, active" if action.active else "new, inactive"
        shown = ", ".join(f"{k}={v}" for k, v in sorted(action.desired.items()) if k not in _IMPLIED)
        return f"{state}: {shown}" if shown else state
    return action.detail


def actions_table(actions: Sequence[Action], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("action", "reason", "email", "what changes"):
        table.add_column(column, overflow="fold")
    for action in actions:
        table.add_row(action.kind.value, action.reason.value, action.email, describe_changes(action))
    return table


def problems_table(problems: Sequence[Problem]) -> Table:
    table = Table(title="Left alone", title_justify="left")
    for column in ("kind", "user or group", "why"):
        table.add_column(column, overflow="fold")
    for problem in problems:
        who = problem.email or problem.dn or problem.anchor
        table.add_row(
            problem.kind.value, who if problem.resource == "user" else f"group {who}", problem.detail
        )
    return table


def describe_group_action(action: GroupAction) -> str:
    """What a group action changes, with member counts (the e-mails are in --json)."""
    parts = []
    if action.old_name:
        parts.append(f"renamed from {action.old_name!r}")
    if action.members:
        shown = ", ".join(m.email or m.anchor for m in action.members[:3])
        more = f" and {len(action.members) - 3} more" if len(action.members) > 3 else ""
        parts.append(f"{len(action.members)} member(s): {shown}{more}")
    if action.skipped:
        parts.append(f"{action.skipped} directory member(s) not provisioned")
    return "; ".join(parts) or action.detail


def group_actions_table(actions: Sequence[GroupAction], title: str) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("action", "reason", "group", "what changes"):
        table.add_column(column, overflow="fold")
    for action in actions:
        table.add_row(action.kind.value, action.reason.value, action.name, describe_group_action(action))
    return table


def render_plan(plan: Plan) -> Group:
    parts: list[Any] = []
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts().items())) or "nothing to do"
    groups = f", {plan.groups_read} group(s)" if plan.groups_read else ""
    parts.append(Text(f"{plan.users_read} directory user(s){groups} read; planned: {counts}.", style="bold"))
    if plan.actions or plan.followups:
        parts.append(actions_table(plan.all_actions, "Planned actions"))
    if plan.held:
        parts.append(
            actions_table(plan.held, "Held by the deprovision guard (apply with sync --approve-held)")
        )
    if plan.groups:
        parts.append(group_actions_table(plan.groups, "Planned group actions"))
    if plan.held_groups:
        parts.append(
            group_actions_table(
                plan.held_groups, "Group actions held by the guard (apply with sync --approve-held)"
            )
        )
    if plan.problems:
        parts.append(problems_table(plan.problems))
    return Group(*parts)


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
                table.add_row(action.kind.value, action.subject, error)
            parts.append(table)
    if report.error:
        parts.append(Text(f"Cycle failed: {report.error}", style="bold red"))
    elif report.plan.holds:
        parts.append(
            Text(
                f"{len(report.plan.held) + len(report.plan.held_groups)} action(s) held by the guard "
                "(safety.max_deprovisions). "
                "Review them with 'webex-provisioner plan', then run 'webex-provisioner sync --approve-held' "
                "or 'webex-provisioner sync --discard-held'.",
                style="bold yellow",
            )
        )
    return Group(*parts)


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


def instances_table(instances: Iterable[InstanceRecord]) -> Table:
    table = Table(title="Instances of 'run'", title_justify="left")
    for column in ("instance", "host", "pid", "role", "since", "last seen"):
        table.add_column(column, overflow="fold")
    for i in instances:
        table.add_row(i.name, i.host, str(i.pid), i.role, _when(i.role_since), _when(i.last_seen))
    return table


def _verdict(x: Explanation) -> str:
    if x.error:
        return f"cannot plan: {x.error}"
    if x.problems:
        return "; ".join(f"left alone ({p.kind.value}): {p.detail}" for p in x.problems)
    if x.actions:
        return "; ".join(
            f"{a.kind.value} ({a.reason.value}) {describe_changes(a)}".strip() for a in x.actions
        )
    return "nothing to do: Webex already matches the directory"


def render_explanation(x: Explanation) -> Group:
    parts: list[Any] = [Text(f"Explanation for {x.key}", style="bold")]
    user = x.user
    if user is None:
        parts.append(Text("Directory: not found (deleted, or outside base_dn and user_filter)."))
    else:
        scope = "in scope" if user.in_scope else "out of scope"
        state = "disabled" if user.disabled else "enabled"
        parts.append(
            Text(f"Directory: {user.dn}\n  anchor {user.anchor}; {state}; {scope}: {user.scope_reason}")
        )
    if x.desired is not None:
        table = Table(title="Desired vs last applied", title_justify="left")
        for column in ("attribute", "desired", "last applied", "in Webex"):
            table.add_column(column, overflow="fold")
        applied = x.links[0].applied if x.links else {}
        in_webex = x.webex.attributes if x.webex else {}
        for name in sorted(set(x.desired.attributes) | set(applied)):
            table.add_row(
                name, x.desired.attributes.get(name, ""), applied.get(name, ""), in_webex.get(name, "")
            )
        parts.append(table)
        if x.desired.problem:
            parts.append(Text(f"Mapping problem: {x.desired.problem}", style="yellow"))
        changed = diff(x.desired.attributes, applied)
        parts.append(Text(f"{len(changed)} attribute(s) differ from what was last applied."))
    if x.webex is None:
        parts.append(Text("Webex: no user with this e-mail."))
    else:
        parts.append(
            Text(f"Webex: {x.webex.email} id {x.webex.id}, {'active' if x.webex.active else 'inactive'}")
        )
    for link in x.links:
        parts.append(
            Text(
                f"Link: anchor {link.anchor} -> Webex {link.webex_id}, {link.state.value}"
                + (f", last error: {link.last_error}" if link.last_error else "")
            )
        )
    if not x.links:
        parts.append(Text("Link: none"))
    parts.append(Text(f"Next cycle: {_verdict(x)}", style="bold"))
    parts += _explanation_footer(x)
    return Group(*parts)


def _explanation_footer(x: Explanation) -> list[Any]:
    """The user's pushed groups, held actions and history."""
    parts: list[Any] = []
    if x.groups:
        parts.append(Text(f"Pushed groups: {', '.join(g.name for g in x.groups)}"))
    if x.held:
        parts.append(Text(f"Held: {', '.join(a.kind.value for a in x.held)} awaiting 'sync --approve-held'"))
    if x.history:
        parts.append(audit_table(x.history))
    return parts
