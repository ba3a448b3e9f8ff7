"""How plans, cycles, links, status and explanations look to a machine: the ``--json`` outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from webex_provisioner.engine.drift import repaired
from webex_provisioner.engine.explain import Explanation
from webex_provisioner.engine.license_report import UserLicenses
from webex_provisioner.engine.logs import audit_json
from webex_provisioner.engine.report import CycleReport, action_status
from webex_provisioner.model import (
    Action,
    CapacityRow,
    CycleRecord,
    GroupAction,
    GroupLink,
    InstanceRecord,
    LicenseAction,
    Link,
    Plan,
    Problem,
    WebexUser,
)


def problem_json(problem: Problem) -> dict[str, str | None]:
    """A user left alone, as JSON."""
    return {
        "kind": problem.kind.value,
        "anchor": problem.anchor,
        "dn": problem.dn,
        "email": problem.email,
        "detail": problem.detail,
        "resource": problem.resource,
    }


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
        "after": [{"attribute": name, "webex_id_of": dn} for name, dn in action.pending] or None,
    }


def action_result_json(action: Action, status: Callable[[Action], tuple[str, str]]) -> dict[str, Any]:
    """An action of a cycle, and what became of it: ``status`` (planned, applied, failed,
    skipped) and ``error``."""
    state, error = status(action)
    return {**action_json(action), "status": state, "error": error or None}


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "users_read": plan.users_read,
        "groups_read": plan.groups_read,
        "counts": plan.counts(),
        "actions": [action_json(a) for a in plan.all_actions],
        "held": [action_json(a) for a in plan.held],
        "group_actions": [group_action_json(a) for a in plan.groups],
        "held_group_actions": [group_action_json(a) for a in plan.held_groups],
        "license_actions": [license_action_json(a) for a in plan.licenses],
        "held_license_actions": [license_action_json(a) for a in plan.held_licenses],
        "capacity": [capacity_json(row) for row in plan.capacity],
        "problems": [problem_json(p) for p in plan.problems],
    }


def license_action_json(action: LicenseAction) -> dict[str, Any]:
    """A licence action: the user, and each licence with why."""
    return {
        "action": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "email": action.email,
        "webex_id": action.webex_id,
        "licenses": [{"id": i.license_id, "name": i.name, "why": i.why} for i in action.licenses],
        "detail": action.detail or None,
    }


def capacity_json(row: CapacityRow) -> dict[str, Any]:
    return {
        "license_id": row.license_id,
        "name": row.name,
        "total": row.total,
        "consumed": row.consumed,
        "free": row.free,
        "assign": row.assign,
        "reclaim": row.reclaim,
        "shortfall": row.shortfall,
    }


def group_action_json(action: GroupAction) -> dict[str, Any]:
    """A group action, with every member's e-mail (the terminal shows counts)."""
    return {
        "action": action.kind.value,
        "reason": action.reason.value,
        "anchor": action.anchor,
        "name": action.name,
        "old_name": action.old_name,
        "dn": action.dn,
        "webex_id": action.webex_id,
        "members": [{"anchor": m.anchor, "email": m.email or None} for m in action.members],
        "skipped_members": action.skipped,
        "detail": action.detail or None,
    }


def group_link_json(link: GroupLink) -> dict[str, Any]:
    return {
        "anchor": link.anchor,
        "webex_id": link.webex_id,
        "name": link.name,
        "dn": link.dn,
        "managed_members": sorted(link.members),
        "created_at": link.created_at.isoformat() if link.created_at else None,
        "updated_at": link.updated_at.isoformat() if link.updated_at else None,
        "last_error": link.last_error,
    }


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
        "directory_seconds": round(report.directory_seconds, 3),
        "apply_seconds": round(report.apply_seconds, 3),
        "plan": plan_json(report.plan),
    }
    status = action_status(report)
    result["plan"]["actions"] = [action_result_json(a, status) for a in report.plan.all_actions]
    result["plan"]["license_actions"] = [
        {**license_action_json(a), **dict(zip(("status", "error"), status(a), strict=True))}
        for a in report.plan.licenses
    ]
    result["drift"] = drift_json(report)
    if report.applied is not None:
        result["applied"] = {f"{k}:{o}": n for (k, o), n in sorted(report.applied.counts.items())}
        result["failures"] = [
            {"action": a.kind.value, "email": a.subject, "anchor": a.anchor, "error": err}
            for a, err in report.applied.failures
        ]
    return result


def drift_json(report: CycleReport) -> dict[str, Any] | None:
    """What the cycle's drift check read, found and repaired (``None``: it had none)."""
    found = report.drift
    if found is None:
        return None
    return {
        "concluded": found.error is None,
        "warnings": list(found.warnings),
        "webex_users": found.webex_users,
        "compared": found.compared,
        "unchanged": found.unchanged,
        "orphans": found.orphans,
        "found": {kind.value: n for kind, n in sorted(found.found().items())} if found.error is None else {},
        "repaired": {kind.value: n for kind, n in sorted(repaired(report).items())},
    }


def orphan_json(user: WebexUser) -> dict[str, Any]:
    return {
        "webex_id": user.id,
        "email": user.email,
        "state": "active" if user.active else "inactive",
        "created_at": user.created.isoformat() if user.created else None,
    }


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


def explanation_json(x: Explanation) -> dict[str, Any]:
    user = x.user
    return {
        "key": x.key,
        "directory": None
        if user is None
        else {
            "dn": user.dn,
            "anchor": user.anchor,
            "in_scope": user.in_scope,
            "scope_reason": user.scope_reason,
            "disabled": user.disabled,
            "attributes": {k: list(v) for k, v in sorted(user.attributes.items())},
        },
        "desired": None
        if x.desired is None
        else {"attributes": dict(x.desired.attributes), "problem": x.desired.problem},
        "webex": None
        if x.webex is None
        else {
            "id": x.webex.id,
            "email": x.webex.email,
            "active": x.webex.active,
            "attributes": dict(x.webex.attributes),
        },
        "links": [link_json(link) for link in x.links],
        "next_cycle": [action_json(a) for a in x.actions],
        "problems": [problem_json(p) for p in x.problems],
        "held": [action_json(a) for a in x.held],
        "history": [audit_json(e) for e in x.history],
        "groups": [{"name": g.name, "webex_id": g.webex_id, "anchor": g.anchor} for g in x.groups],
        "licenses": None if x.licenses is None else user_licenses_json(x.licenses),
        "drift": list(x.drift),
        "error": x.error,
    }


def user_licenses_json(view: UserLicenses) -> dict[str, Any]:
    return {
        "wanted": [{"name": name, "why": why} for name, why in view.wanted],
        "held_in_webex": view.held,
        "recorded": [{"name": name, "ours": ours} for name, ours in view.recorded],
        "refused": [{"name": name, "detail": detail} for name, detail in view.refused],
        "next_cycle": [license_action_json(a) for a in view.actions],
        "problems": [problem_json(p) for p in view.problems],
        "error": view.error,
    }
