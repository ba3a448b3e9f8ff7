"""Plans and results as a person reads them, without servers: a summary first, a screenful of
rows, tables within 80 columns, every row one option away (--all, --output), readable numbers."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

from rich.cells import cell_len

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.cli.export import write_output
from webex_provisioner.cli.report_view import DETAIL_ROWS, render_report
from webex_provisioner.cli.rows import Row, Section, user_sections
from webex_provisioner.cli.text import duration, make_console, number, rate
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.errors import WebexRejectedError
from webex_provisioner.model import Action, ActionKind, Change, CycleKind, Plan, Problem, ProblemKind, Reason

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def shown(
    report: CycleReport, *, limit: int | None = DETAIL_ROWS, sections: list[Section] | None = None
) -> str:
    """What a terminal of 80 columns shows of ``report``."""
    buffer = io.StringIO()
    console = make_console(file=buffer, width=80)
    for part in render_report(report, sections or user_sections(report), limit, "HINT"):
        console.print(part)
    return buffer.getvalue()


def words(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def big_plan(creates: int) -> CycleReport:
    """A dry run planning ``creates`` creates, 3 updates, and 2 users left alone."""
    actions = [
        Action(
            ActionKind.CREATE,
            Reason.ENTERED_SCOPE,
            f"a{i}",
            f"user{i:06d}@example.com",
            desired={"title": "T"},
        )
        for i in range(creates)
    ]
    actions += [
        Action(
            ActionKind.UPDATE,
            Reason.ATTRIBUTES_CHANGED,
            f"u{i}",
            f"changed{i}@example.com",
            webex_id=f"w{i}",
            changes=(Change("title", "Engineer", "Lead"),),
        )
        for i in range(3)
    ]
    problems = [
        Problem(ProblemKind.INVALID, f"p{i}", f"uid=p{i},dc=example", None, "no mail") for i in range(2)
    ]
    plan = Plan(actions=tuple(actions), problems=tuple(problems), users_read=creates + 5)
    return CycleReport("c1", CycleKind.FULL, NOW, True, plan=plan, finished_at=NOW)


def test_a_100000_action_plan_shows_a_summary_and_a_screenful_of_rows() -> None:
    """100,003 actions print as a summary (counts with thousands separators, by action and
    reason, and the users left alone by kind) and 50 rows in under 80 lines of at most 80
    columns; the 3 updates among 100,000 creates are all shown; a line counts the rest."""
    text = shown(big_plan(100_000))
    lines = text.splitlines()
    assert len(lines) < 80, text
    assert max(cell_len(line.rstrip()) for line in lines) <= 80
    flat = words(text)
    assert "100,005 directory users read; 100,003 actions planned" in flat
    assert "Users create entered_scope 100,000 update attributes_changed 3" in flat
    assert "Left alone invalid 2" in flat
    assert all(f"changed{i}@example.com title: 'Engineer' → 'Lead'" in flat for i in range(3))
    assert "99,955 more rows not shown: HINT" in flat


def test_all_prints_every_row() -> None:
    """Without a limit (--all) every action and every user left alone is printed."""
    text = shown(big_plan(700), limit=None)
    assert all(f"user{i:06d}@example.com" in text for i in range(700))
    assert "uid=p0,dc=example" in text and "uid=p1,dc=example" in text
    assert "not shown" not in text


def test_failures_are_shown_first_with_their_error_and_counted_in_the_summary() -> None:
    """After an apply, each action's outcome is counted in the summary (2 applied, 1 failed),
    and the failed ones come first among the rows, with the error Webex gave."""
    world = FakeWorld(person("ann"), person("bob"), person("cy"))
    world.webex.fail_next("create_user", WebexRejectedError("phone [/i] refused"), key="bob@example.com")
    report = world.sync()
    text = words(shown(report))
    assert "Users create entered_scope 3 2 applied, 1 failed" in text
    failed = text.index("create · entered_scope · failed (1) bob@example.com phone [/i] refused")
    assert failed < text.index("create · entered_scope · applied (2)")


def test_a_new_kind_of_action_is_one_more_section() -> None:
    """A section of another resource (here groups) is summarised and shown like the users'."""
    report = big_plan(2)
    groups = [
        Row("group", "create_group", "group_selected", "planned", f"Team {i}", "3 members") for i in range(2)
    ]
    section = Section("Groups", "group", groups, lambda row: row, lambda row: row.key)
    text = words(shown(report, sections=[*user_sections(report), section]))
    assert "Groups create_group group_selected 2" in text
    assert "Groups (2) create_group · group_selected (2) Team 0 3 members Team 1 3 members" in text


def test_output_csv_has_one_row_per_action_and_user_left_alone(tmp_path: Path) -> None:
    """--output FILE.csv: a header, then one row per action (with its changes and outcome) and
    per user left alone; a cell a spreadsheet would run as a formula is written as text."""
    formula = person("=cmd|'/c calc'!A0", email="eve@example.com")
    world = FakeWorld(person("ann"), formula, person("nomail", email=None))
    report = world.sync()
    path = tmp_path / "result.csv"
    write_output(path, user_sections(report), dict)
    with path.open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [(r["action"], r["reason"], r["status"]) for r in rows] == [
        ("create", "entered_scope", "applied"),
        ("create", "entered_scope", "applied"),
        ("", "invalid", "left_alone"),
    ]
    assert rows[0]["subject"] == "ann@example.com" and "displayName=Ann Example" in rows[0]["changes"]
    assert rows[1]["anchor"] == "'=cmd|'/c calc'!A0"
    assert rows[2]["detail"]


def test_numbers_durations_and_rates_read_as_words() -> None:
    """Thousands separators, durations in human units, rates per second."""
    assert number(1234567) == "1,234,567"
    assert [duration(s) for s in (0.42, 12.4, 95, 3600, 7320, 90000)] == [
        "0.4 s",
        "12 s",
        "1 min 35 s",
        "1 h",
        "2 h 2 min",
        "1 d 1 h",
    ]
    assert rate(6000, 5.7, "users") == "1,053 users/s"
    assert rate(10, 0, "users") == ""
