"""How links, history, cycles, instances, ``check`` and explanations look to a person.

Every value is printed as text (``cli.text.plain``): never markup, never a control character.
Tables fit the terminal: long values wrap inside their cells, or are cut with an ellipsis where
the full value is shown elsewhere. Plans and cycle results are in ``cli.report_view``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group
from rich.table import Column, Table
from rich.text import Text

from webex_provisioner.cli.json_forms import link_json
from webex_provisioner.cli.rows import describe_changes, describe_license_action
from webex_provisioner.cli.text import duration, make_console, number, plain, plural
from webex_provisioner.engine.explain import Explanation
from webex_provisioner.engine.license_report import UserLicenses
from webex_provisioner.model import AuditEntry, CycleRecord, InstanceRecord, Link, Problem, WebexUser
from webex_provisioner.rules.lifecycle import diff


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def table(title: str, *columns: str | Column) -> Table:
    """A table of ``columns``; a column given by its name wraps inside its cells."""
    return Table(
        *(column if isinstance(column, Column) else Column(column, overflow="fold") for column in columns),
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )


def _cut(name: str, max_width: int | None = None) -> Column:
    """A column that stays on one line, cut with an ellipsis when too narrow."""
    return Column(name, no_wrap=True, overflow="ellipsis", max_width=max_width)


def links_table(links: Iterable[Link], title: str = "Linked users") -> Table:
    """E-mail, state, last update, Webex id (cut to fit: ``users show`` has it in full) and
    last error."""
    result = table(title, _cut("email"), _cut("state"), _cut("updated"), _cut("webex id", 14), "last error")
    for link in links:
        result.add_row(
            plain(link.email),
            link.state.value,
            link.updated_at.strftime("%Y-%m-%d %H:%M") if link.updated_at else "",
            plain(link.webex_id),
            plain(link.last_error),
        )
    return result


def orphans_table(users: Iterable[WebexUser], title: str) -> Table:
    """``users orphans``: e-mail, state, creation time and Webex id of each Webex user no link
    points to."""
    result = table(title, _cut("email"), _cut("state"), _cut("created"), _cut("webex id", 14))
    for user in users:
        created = user.created.strftime("%Y-%m-%d %H:%M") if user.created else ""
        result.add_row(plain(user.email), "active" if user.active else "inactive", created, plain(user.id))
    return result


def drift_table(problems: Iterable[Problem], title: str) -> Table:
    """``status``: the drift reported in Webex, user by user (and group by group)."""
    result = table(title, _cut("user or group"), "what drifted")
    for problem in problems:
        result.add_row(plain(problem.email or problem.dn or problem.anchor), plain(problem.detail))
    return result


def audit_table(entries: Iterable[AuditEntry], title: str = "History") -> Table:
    result = table(title, _cut("time"), "action", "reason", "outcome", "detail")
    for e in entries:
        result.add_row(_when(e.time), plain(e.action), plain(e.reason), e.outcome.value, plain(e.detail))
    return result


def _cycle_counts(counts: Mapping[str, int]) -> str:
    """A cycle's stored counts in a few words: read, applied, failed, held, left alone."""
    applied = sum(n for k, n in counts.items() if k.endswith("_applied"))
    failed = sum(n for k, n in counts.items() if k.endswith("_failed"))
    parts = [f"{number(counts.get('users_read', 0))} read", f"{number(applied)} applied"]
    parts += [f"{number(failed)} failed"] if failed else []
    parts += [f"{number(counts['held'])} held"] if counts.get("held") else []
    parts += [f"{number(counts['problems'])} left alone"] if counts.get("problems") else []
    drift = sum(n for k, n in counts.items() if k.startswith("drift_"))
    parts += [f"{number(drift)} drifted in Webex"] if drift else []
    return ", ".join(parts)


def cycles_table(cycles: Iterable[CycleRecord]) -> Table:
    result = table("Recent cycles", _cut("started"), "kind", "took", "outcome", "counts")
    for c in cycles:
        took = duration((c.finished_at - c.started_at).total_seconds()) if c.finished_at else "running"
        counts = _cycle_counts(c.counts) if c.counts else ""
        result.add_row(_when(c.started_at), c.kind.value, took, c.outcome, plain(counts or c.detail))
    return result


def instances_table(instances: Iterable[InstanceRecord]) -> Table:
    result = table("Instances of 'run'", "instance", "host", "pid", "role", "since", "last seen")
    for i in instances:
        result.add_row(
            plain(i.name), plain(i.host), str(i.pid), plain(i.role), _when(i.role_since), _when(i.last_seen)
        )
    return result


def capped(rows: list[Any], limit: int | None, what: str, hint: str) -> tuple[list[Any], Text | None]:
    """The first ``limit`` of ``rows`` (all with ``None``), and a line saying how many more
    there are and ``hint`` (how to see them)."""
    if limit is None or len(rows) <= limit:
        return rows, None
    return rows[:limit], Text(f"{plural(len(rows) - limit, 'more ' + what)} not shown: {hint}")


def capped_table(
    rows: list[Any], limit: int | None, what: str, hint: str, table_of: Callable[[list[Any]], Table]
) -> list[Any]:
    """The table ``table_of`` makes of the first ``limit`` rows, and the line saying how many
    more there are (``capped``), to print in turn."""
    shown, more = capped(rows, limit, what, hint)
    return [table_of(shown), *([more] if more else [])]


def render_check(result: Mapping[str, Any]) -> Group:
    """``check``: each section's keys and values."""
    parts: list[Text] = []
    for section, values in result.items():
        if isinstance(values, Mapping):
            parts.append(Text(section, style="bold"))
            for key, value in values.items():
                if isinstance(value, list) and value:
                    parts.append(Text(f"  {key}:"))
                    parts.extend(Text("    - ") + plain(_check_item(item)) for item in value)
                else:
                    parts.append(Text("  ") + plain(f"{key}: {value}"))
        else:
            parts.append(Text(section, style="bold") + plain(f": {values}"))
    return Group(*parts)


def _check_item(item: object) -> str:
    """One element of a list in ``check``'s output: ``key: value, ...`` for a mapping."""
    if isinstance(item, Mapping):
        return ", ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in item.items()
        )
    return str(item)


def render_link(link: Link, history: list[AuditEntry]) -> Group:
    """``users show``: one link in full, what was last applied, its recent history."""
    data = link_json(link)
    applied = data.pop("applied")
    parts: list[Any] = [
        Text(f"{name}: ", style="bold") + plain("" if value is None else value)
        for name, value in data.items()
    ]
    parts.append(Text("last applied:", style="bold"))
    parts.extend(Text("  ") + plain(f"{name}: {value}") for name, value in sorted(applied.items()))
    parts.append(audit_table(history))
    return Group(*parts)


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


def _explained_user(x: Explanation) -> Iterator[Any]:
    user = x.user
    if user is None:
        yield Text("Directory: not found (deleted, or outside base_dn and user_filter).")
        return
    scope = "in scope" if user.in_scope else "out of scope"
    state = "disabled" if user.disabled else "enabled"
    yield Text("Directory: ") + plain(user.dn)
    yield Text("  ") + plain(f"anchor {user.anchor}; {state}; {scope}: {user.scope_reason}")


def _explained_desired(x: Explanation) -> Iterator[Any]:
    if x.desired is None:
        return
    result = table("Desired vs last applied", "attribute", "desired", "last applied", "in Webex")
    applied = x.links[0].applied if x.links else {}
    in_webex = x.webex.attributes if x.webex else {}
    for name in sorted(set(x.desired.attributes) | set(applied)):
        values = (x.desired.attributes.get(name), applied.get(name), in_webex.get(name))
        result.add_row(plain(name), *(plain(v) for v in values))
    yield result
    if x.desired.problem:
        yield Text("Mapping problem: ", style="yellow") + plain(x.desired.problem, "yellow")
    changed = diff(x.desired.attributes, applied)
    yield Text(f"{plural(len(changed), 'attribute')} differ from what was last applied.")


def _explained_links(x: Explanation) -> Iterator[Any]:
    if x.webex is None:
        yield Text("Webex: no user with this e-mail.")
    else:
        active = "active" if x.webex.active else "inactive"
        yield Text("Webex: ") + plain(f"{x.webex.email} id {x.webex.id}, {active}")
    for link in x.links:
        error = f", last error: {link.last_error}" if link.last_error else ""
        yield Text("Link: ") + plain(
            f"anchor {link.anchor} -> Webex {link.webex_id}, {link.state.value}{error}"
        )
    if not x.links:
        yield Text("Link: none")


HELD_BEFORE = "held before, never reclaimed"


def _explained_licenses(view: UserLicenses) -> Iterator[Any]:
    """Wanted (and why), held in Webex, recorded (ours or not), refused, and the next cycle."""
    wanted = "; ".join(f"{name} ({why})" for name, why in view.wanted) or "none (no rule applies)"
    yield Text("Licences wanted: ") + plain(wanted)
    if view.held is not None:
        yield Text("Licences held in Webex: ") + plain(", ".join(view.held) or "none")
    recorded = ", ".join(
        f"{name} ({'ours' if ours else 'held before, never reclaimed'})" for name, ours in view.recorded
    )
    yield Text("Licences recorded: ") + plain(recorded or "none")
    for name, detail in view.refused:
        yield Text("Refused by Webex: ", style="yellow") + plain(f"{name}: {detail}", "yellow")
    for action in view.actions:
        yield Text("Next cycle (licences): ") + plain(
            f"{action.kind.value} {describe_license_action(action)}"
        )
    for problem in view.problems:
        yield Text("Licences left alone: ", style="yellow") + plain(problem.detail, "yellow")
    if view.error:
        yield Text("Licences: ", style="yellow") + plain(view.error, "yellow")


def render_explanation(x: Explanation) -> Group:
    """``users explain``: the directory entry, the desired attributes, Webex, the link, the
    next action and the recent history."""
    parts: list[Any] = [Text("Explanation for ", style="bold") + plain(x.key, "bold")]
    parts.extend(_explained_user(x))
    parts.extend(_explained_desired(x))
    parts.extend(_explained_links(x))
    parts.extend(Text("Drift in Webex: ", style="yellow") + plain(line, "yellow") for line in x.drift)
    parts.append(Text("Next cycle: ", style="bold") + plain(_verdict(x), "bold"))
    if x.groups:
        parts.append(Text("Pushed groups: ") + plain(", ".join(g.name for g in x.groups)))
    if x.held:
        parts.append(Text(f"Held: {', '.join(a.kind.value for a in x.held)} awaiting 'sync --approve-held'"))
    if x.licenses is not None:
        parts.extend(_explained_licenses(x.licenses))
    if x.history:
        parts.append(audit_table(x.history))
    return Group(*parts)


# make_console is re-exported: commands found it here before it moved to cli.text.
__all__ = [
    "audit_table",
    "capped",
    "capped_table",
    "cycles_table",
    "drift_table",
    "instances_table",
    "links_table",
    "make_console",
    "orphans_table",
    "render_check",
    "render_explanation",
    "render_link",
    "table",
]
