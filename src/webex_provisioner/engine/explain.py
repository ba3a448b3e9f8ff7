"""``users explain``: everything about one user's decision, gathered in one place.

The directory entry as read, whether it is in scope and why, disabled or not, the desired
Webex attributes, the match in Webex, the link and what was last applied, the action the next
cycle would take (from the same planner, as a dry run) and the recent audit history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from webex_provisioner.cli.render import (
    action_json,
    audit_table,
    describe_changes,
    link_json,
)
from webex_provisioner.engine.bookkeeping import problem_json
from webex_provisioner.engine.logs import audit_json
from webex_provisioner.engine.wiring import Engine
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import Action, AuditEntry, DirectoryUser, Link, Problem, WebexUser
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.rules.mapping import Desired, compile_mapping, desired_user
from webex_provisioner.rules.planner import diff


@dataclass
class Explanation:
    key: str
    user: DirectoryUser | None
    desired: Desired | None
    links: list[Link]
    webex: WebexUser | None
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    held: list[Action] = field(default_factory=list)
    history: list[AuditEntry] = field(default_factory=list)
    error: str | None = None


def explain(engine: Engine, key: str) -> Explanation:
    """Gather the explanation of ``key`` (e-mail, anchor or DN). Writes nothing."""
    links = engine.store.find_links(key)
    user = engine.directory.find_user(key)
    if user is None and links:
        user = engine.directory.find_user(links[0].anchor)
    if user is not None and not links:
        links = engine.store.find_links(user.anchor)
    desired = None
    if user is not None:
        mapping = compile_mapping(engine.config.mapping)
        manager_ids = {normalize_dn(link.dn): link.webex_id for link in engine.store.links() if link.dn}
        desired = desired_user(user, mapping, manager_ids=manager_ids)
    email = (desired.email if desired and desired.email else None) or (links[0].email if links else None)
    webex = engine.webex.find_by_email(email) if email else None
    result = Explanation(key, user, desired, links, webex)
    anchors = {link.anchor for link in links} | ({user.anchor} if user else set())
    result.held = [a for a in engine.store.held() if a.anchor in anchors]
    for anchor in sorted(anchors):
        result.history.extend(engine.store.audit(anchor=anchor, limit=20))
    if not anchors:
        result.error = f"no directory user and no link matches {key!r}"
        return result
    try:
        report = engine.cycle().run(apply=False, user=key)
    except ProvisionerError as exc:
        result.error = exc.message
        return result
    if report.error:
        result.error = report.error
    result.actions = [a for a in (*report.plan.actions, *report.plan.held) if a.anchor in anchors]
    result.problems = [p for p in report.plan.problems if p.anchor in anchors]
    return result


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
        "error": x.error,
    }


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
    if x.held:
        parts.append(Text(f"Held: {', '.join(a.kind.value for a in x.held)} awaiting 'sync --approve-held'"))
    if x.history:
        parts.append(audit_table(x.history))
    return Group(*parts)
