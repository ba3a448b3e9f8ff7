"""How a plan or a cycle's result looks on a terminal: a headline, a summary of every section
(counts by action and reason, and what became of them), then at most ``limit`` detail rows,
grouped by action, and a line saying how many more there are and where to see them.

Every section is shown the same way (``cli.rows.Section``): a new kind of action adds a section,
not a renderer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from webex_provisioner.cli.rows import Key, Row, Section
from webex_provisioner.cli.text import duration, number, one_line, plain, plural, rate
from webex_provisioner.engine.logs import printable
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.model import CapacityRow
from webex_provisioner.model.drift import DriftKind

DETAIL_ROWS = 50
"""Detail rows shown by default: about a screenful."""

QUIET_STATUSES = ("planned", "held", "left_alone")
"""Statuses a section's title already says: not repeated in the summary or the headings."""

SUBJECT_WIDTH = 36

CYCLE_NAMES = {"full": "Full cycle", "incremental": "Incremental cycle", "user": "One-user cycle"}


@dataclass
class _Group:
    """The rows of one section under one key (action, reason, status), and how many to show."""

    section: Section
    key: Key
    count: int
    share: int = 0
    rows: list[Row] = field(default_factory=list)


def headline(report: CycleReport) -> Text:
    """``Full cycle, 1 min 35 s: 6,000 directory users read in 5.2 s (1,153 users/s); ...``."""
    plan = report.plan
    read = f"{plural(plan.users_read, 'directory user')} read"
    if report.directory_seconds >= 0.05:
        speed = rate(plan.users_read, report.directory_seconds, "users")
        read += f" in {duration(report.directory_seconds)}" + (f" ({speed})" if speed else "")
    parts = [read]
    total = len(plan.all_actions) + len(plan.groups) + len(plan.licenses)
    applied = report.applied
    if not total:
        parts.append("nothing to apply" if plan.holds else "nothing to do")
    elif applied is None:
        parts.append(f"{plural(total, 'action')} planned")
    else:
        speed = rate(applied.recorded, report.apply_seconds, "actions")
        parts.append(
            f"{number(applied.applied)} of {plural(total, 'action')} applied"
            + (f" in {duration(report.apply_seconds)} ({speed})" if speed else "")
        )
        parts.append(f"{number(applied.failed)} failed" if applied.failed else "none failed")
    if plan.held:
        parts.append(f"{plural(len(plan.held), 'deprovision')} held")
    if plan.held_licenses:
        parts.append(f"{plural(len(plan.held_licenses), 'licence reclaim')} held")
    name = CYCLE_NAMES.get(report.kind.value, f"{report.kind.value.capitalize()} cycle")
    if report.dry_run:
        name = f"Dry run ({name.lower()})"
    took = (
        f", {duration((report.finished_at - report.started_at).total_seconds())}"
        if report.finished_at
        else ""
    )
    ending = " Nothing was changed." if report.dry_run else ""
    return Text(f"{name}{took}: " + "; ".join(parts) + "." + ending, style="bold")


OUTCOMES = ("applied", "failed", "skipped")
"""What became of the actions of an apply, in the order the summary names them."""


def _outcome(statuses: Counter[str]) -> str:
    return ", ".join(f"{number(statuses[s])} {s}" for s in OUTCOMES if statuses[s])


def summary(groups: Sequence[_Group]) -> Table | Text:
    """Counts by section, action and reason; with what became of them after an apply."""
    if not groups:
        return Text("Nothing to do: Webex already matches the directory.")
    rows: dict[tuple[str, str, str], Counter[str]] = {}
    for g in groups:
        action, reason, status = g.key
        rows.setdefault((g.section.title, action, reason), Counter())[status] += g.count
    outcomes = {key: _outcome(statuses) for key, statuses in rows.items()}
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    table.add_column("")
    table.add_column("action", no_wrap=True)
    table.add_column("reason", overflow="fold")
    table.add_column("count", justify="right", no_wrap=True)
    if any(outcomes.values()):
        table.add_column("outcome", overflow="fold")
    previous = ""
    for (title, action, reason), statuses in rows.items():
        cells = [title if title != previous else "", action, reason, number(sum(statuses.values()))]
        table.add_row(*cells, *([outcomes[(title, action, reason)]] if len(table.columns) > 4 else []))
        previous = title
    return table


def plan_groups(sections: Sequence[Section], limit: int | None) -> list[_Group]:
    """Every (section, key) group with its count, failures first within a section, and its
    share of the ``limit`` detail rows (``None``: all)."""
    groups: list[_Group] = []
    for section in sections:
        counts = Counter(section.keys())
        keys = sorted(counts, key=lambda k: k[2] != "failed")  # stable: plan order otherwise
        groups.extend(_Group(section, key, counts[key]) for key in keys)
    _share(groups, limit)
    return groups


def _share(groups: Sequence[_Group], limit: int | None) -> None:
    """Small groups are shown whole, big ones share what is left: 3 updates among 100,000
    creates are all shown."""
    if limit is None:
        for g in groups:
            g.share = g.count
        return
    remaining = limit
    by_size = sorted(groups, key=lambda g: g.count)
    for n, g in enumerate(by_size):
        fair = max(1, remaining // (len(by_size) - n)) if remaining > 0 else 0
        g.share = min(g.count, fair)
        remaining -= g.share


def collect(groups: Sequence[_Group]) -> None:
    """Fill each group with its first ``share`` rows, in plan order; stop reading a section
    once its groups are full."""
    for section in {id(g.section): g.section for g in groups}.values():
        mine = {g.key: g for g in groups if g.section is section}
        wanted = sum(g.share for g in mine.values())
        if not wanted:
            continue
        for item in section.items:
            g = mine[section.key(item)]
            if len(g.rows) < g.share:
                g.rows.append(section.row(item))
                wanted -= 1
                if not wanted:
                    break


def _heading(g: _Group) -> Text:
    action, reason, status = g.key
    words = [w for w in (action, reason) if w]
    if status not in QUIET_STATUSES:
        words.append(status)
    shown = f", {number(len(g.rows))} shown" if len(g.rows) < g.count else ""
    return Text(f"{' · '.join(words)} ({number(g.count)}{shown})", style="bold")


def _rows_grid(rows: Sequence[Row], width: int) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(width=width, no_wrap=True, overflow="ellipsis")
    grid.add_column(ratio=1, overflow="fold")
    for row in rows:
        grid.add_row(plain(row.subject), one_line(row.shown) if row.brief else plain(row.shown))
    return grid


def details(groups: Sequence[_Group], chunk: int = 500) -> Iterator[Any]:
    """The detail rows, a heading per group and per section, in grids of at most ``chunk``
    rows (printing every row of a 100,000-row plan never builds one huge table)."""
    current: Section | None = None
    for g in groups:
        if not g.rows:
            continue
        if g.section is not current:
            current = g.section
            mine = [x for x in groups if x.section is current]
            total, shown = sum(x.count for x in mine), sum(len(x.rows) for x in mine)
            more = f", {number(shown)} shown" if shown < total else ""
            yield Text(f"\n{current.title} ({number(total)}{more})", style="bold underline")
            width = min(SUBJECT_WIDTH, max(cell_len(printable(r.subject)) for x in mine for r in x.rows))
        yield _heading(g)
        for start in range(0, len(g.rows), chunk):
            yield Padding(_rows_grid(g.rows[start : start + chunk], width), (0, 0, 0, 2), expand=False)


def render_report(
    report: CycleReport, sections: Sequence[Section], limit: int | None, hint: str
) -> Iterator[Any]:
    """The headline, the summary, the detail rows and, when rows were left out, ``hint`` (how
    to see them), then what to do about held actions or a failed cycle."""
    groups = plan_groups(sections, limit)
    collect(groups)
    yield headline(report)
    yield summary(groups)
    if report.plan.capacity:
        yield capacity_table(report.plan.capacity, "Licences")
    yield from details(groups)
    hidden = sum(g.count - len(g.rows) for g in groups)
    if hidden:
        yield Text(f"\n{plural(hidden, 'more row')} not shown: {hint}")
    yield from drift_lines(report)
    yield from _advice(report)


_DRIFT_WORDS: dict[DriftKind, Callable[[int], str]] = {
    DriftKind.ATTRIBUTES: lambda n: f"{plural(n, 'user')} with attributes changed",
    DriftKind.DEACTIVATED: lambda n: f"{plural(n, 'user')} deactivated",
    DriftKind.DELETED: lambda n: f"{plural(n, 'user')} deleted",
    DriftKind.GROUPS: lambda n: f"{plural(n, 'group')} missing members",
}


def drift_lines(report: CycleReport) -> Iterator[Text]:
    """What the drift check read and found (docs/drift.md), or why it concluded nothing."""
    found = report.drift
    if found is None:
        return
    for warning in found.warnings:
        yield Text("Drift check: ", style="bold yellow") + plain(warning, "yellow")
    if found.error is not None:
        return
    kinds = ", ".join(_DRIFT_WORDS[kind](n) for kind, n in sorted(found.found().items()))
    unchanged = ""
    if found.unchanged:
        unchanged = f" ({found.unchanged:,} as the last check verified them, not compared again)"
    line = f"Drift check: {plural(found.webex_users, 'Webex user')} read{unchanged}; " + (
        f"drift found: {kinds}." if kinds else "no drift."
    )
    if found.orphans:
        line += f" {plural(found.orphans, 'Webex user')} linked to no directory user ('users orphans')."
    yield Text(line)


def _advice(report: CycleReport) -> Iterator[Text]:
    if report.error:
        yield Text("Cycle failed: ", style="bold red") + plain(report.error, "bold red")
    elif report.plan.holds:
        plan = report.plan
        deprovisions = all(a.kind.deprovisions for a in plan.held)
        held = [
            plural(len(plan.held), "deprovision" if deprovisions else "action") if plan.held else "",
            plural(len(plan.held_groups), "group action") if plan.held_groups else "",
            plural(len(plan.held_licenses), "licence reclaim") if plan.held_licenses else "",
        ]
        yield Text(
            f"{', '.join(h for h in held if h)} held by the guard (safety.max_deprovisions). "
            "Review them with 'webex-provisioner plan', then run 'webex-provisioner sync --approve-held' "
            "or 'webex-provisioner sync --discard-held'.",
            style="bold yellow",
        )


def capacity_table(rows: Sequence[CapacityRow], title: str) -> Table:
    """Per licence: its units, what the plan assigns and reclaims, and the users left without."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    table.add_column("licence", overflow="fold")
    for name in ("total", "used", "free", "assign", "reclaim", "short"):
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        cells = (row.total, row.consumed, row.free, row.assign, row.reclaim, row.shortfall)
        table.add_row(plain(row.name), *(number(c) for c in cells))
    return table


def render_held(sections: Sequence[Section], limit: int | None, hint: str) -> Group:
    """``status``: the held deprovisions and nothing else, in the same form."""
    groups = plan_groups(sections, limit)
    collect(groups)
    parts: list[Any] = list(details(groups))
    hidden = sum(g.count - len(g.rows) for g in groups)
    if hidden:
        parts.append(Text(f"{plural(hidden, 'more row')} not shown: {hint}"))
    return Group(*parts)
