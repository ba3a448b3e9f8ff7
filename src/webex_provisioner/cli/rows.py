"""A plan or a cycle's result as rows: one per action (or user left alone), in sections.

A section is one kind of thing (the users' actions, the held deprovisions, the users left alone;
a new resource adds its own) built from a sequence of items: its rows and their summary keys
are made from each item when asked for, so a 100,000-action plan is never held twice. The
terminal shows a summary of every section and a few rows (``cli.report_view``); ``--output``
writes every row (``cli.export``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from webex_provisioner.engine.report import CycleReport, action_status
from webex_provisioner.model import Action, GroupAction, LicenseAction, Plan, Problem

_IMPLIED = frozenset({"email", "externalId"})  # shown as the row's subject / always the anchor

Key = tuple[str, str, str]
"""What a row is counted under in a summary: (action, reason, status)."""

A = TypeVar("A", Action, GroupAction, LicenseAction)


@dataclass(frozen=True, slots=True)
class Row:
    """One action (or one user left alone), for a person or a file.

    ``status``: planned, applied, failed, skipped, held or left_alone. ``subject`` is what the
    action is about as people name it (a user's e-mail, its DN when it has none). ``changes``
    says what changes, in full; ``detail`` why it failed, was skipped or was left alone.
    ``brief`` rows may be cut to one line on a terminal (a new user's every attribute).
    """

    resource: str
    action: str
    reason: str
    status: str
    subject: str
    changes: str = ""
    detail: str = ""
    anchor: str = ""
    dn: str = ""
    webex_id: str = ""
    brief: bool = False

    @property
    def key(self) -> Key:
        return (self.action, self.reason, self.status)

    @property
    def shown(self) -> str:
        """What a terminal shows in the row's last column: the error of a failure, else the
        changes, else why."""
        if self.status in ("failed", "skipped"):
            return self.detail
        return self.changes or self.detail


@dataclass(frozen=True, slots=True)
class Section:
    """Rows of one kind, with the summary key of each: ``row`` and ``key`` make them from
    ``items`` (``key`` cheaply: summaries count every item)."""

    title: str
    subject: str
    items: Sequence[Any]
    row: Callable[[Any], Row]
    key: Callable[[Any], Key]

    def rows(self) -> Iterator[Row]:
        return map(self.row, self.items)

    def keys(self) -> Iterator[Key]:
        return map(self.key, self.items)


def describe_changes(action: Action) -> str:
    """What an action changes: ``title: 'Engineer' → 'Lead'``, or a new user's attributes."""
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


def _action_row(action: Action, status: str, detail: str) -> Row:
    return Row(
        "user",
        action.kind.value,
        action.reason.value,
        status,
        action.email or action.dn,
        describe_changes(action),
        detail,
        action.anchor,
        action.dn,
        action.webex_id or "",
        brief=action.kind.value == "create",
    )


def _problem_row(problem: Problem) -> Row:
    subject = problem.email or problem.dn or problem.anchor
    return Row(
        problem.resource,
        "",
        problem.kind.value,
        "left_alone",
        subject,
        "",
        problem.detail,
        problem.anchor,
        problem.dn,
    )


def user_sections(report: CycleReport) -> list[Section]:
    """The users' actions (with what became of each), the deprovisions held by the guard, and
    the users left alone."""
    status = action_status(report)
    return [
        _applied_section("Users", "user", report.plan.all_actions, _action_row, status),
        _applied_section("Groups", "group", report.plan.groups, _group_row, status),
        _applied_section("Licences", "license", report.plan.licenses, _license_row, status),
        *held_sections(report.plan),
    ]


def _applied_section(
    title: str,
    subject: str,
    actions: Sequence[A],
    make_row: Callable[[A, str, str], Row],
    status: Callable[[A], tuple[str, str]],
) -> Section:
    """Rows of applied (or planned) actions, each with what became of it, counted by action,
    reason and status."""

    def row(action: A) -> Row:
        return make_row(action, *status(action))

    def key(action: A) -> Key:
        return (action.kind.value, action.reason.value, status(action)[0])

    return Section(title, subject, actions, row, key)


def describe_group_action(action: GroupAction) -> str:
    """What a group action changes, with member counts and a few e-mails (``--json`` and
    ``--output`` list every member)."""
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


def _group_row(action: GroupAction, status: str, detail: str) -> Row:
    members = "; ".join(m.email or m.anchor for m in action.members)
    changes = describe_group_action(action)
    return Row(
        "group",
        action.kind.value,
        action.reason.value,
        status,
        action.name,
        f"{changes} [{members}]" if members and status != "held" else changes,
        detail,
        action.anchor,
        action.dn,
        action.webex_id or "",
        brief=bool(action.members),
    )


def describe_license_action(action: LicenseAction) -> str:
    """``Webex Messaging: rule 2 (member of cn=…)``: each licence with the rule that asks for
    it, or why nothing does any more."""
    return "; ".join(f"{item.name}: {item.why}" if item.why else item.name for item in action.licenses)


def _license_row(action: LicenseAction, status: str, detail: str) -> Row:
    return Row(
        "license",
        action.kind.value,
        action.reason.value,
        status,
        action.email or action.anchor,
        describe_license_action(action),
        detail or action.detail,
        action.anchor,
        "",
        action.webex_id or "",
    )


def held_sections(plan: Plan) -> list[Section]:
    """The deprovisions held by the guard, and the users left alone (``status`` shows the
    held ones of earlier cycles this way too)."""
    return [
        Section(
            "Held",
            "user",
            plan.held,
            lambda a: _action_row(a, "held", ""),
            lambda a: (a.kind.value, a.reason.value, "held"),
        ),
        Section(
            "Held group actions",
            "group",
            plan.held_groups,
            lambda a: _group_row(a, "held", ""),
            lambda a: (a.kind.value, a.reason.value, "held"),
        ),
        Section(
            "Held licence actions",
            "license",
            plan.held_licenses,
            lambda a: _license_row(a, "held", ""),
            lambda a: (a.kind.value, a.reason.value, "held"),
        ),
        Section(
            "Left alone",
            "user",
            plan.problems,
            _problem_row,
            lambda p: ("", p.kind.value, "left_alone"),
        ),
    ]
