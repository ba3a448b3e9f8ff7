"""The terminal at real scale: a sync of thousands of users in an ordinary 80-column terminal
shows a live progress display and a summary that fits the screen, and the complete data is one
option away (--output, --json). In pipes, no progress display and no control sequences."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.terminal.screen import Screen, command, in_pipes, in_terminal
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.company import synthetic_ldif
from webex_provisioner.sandbox.demo import ORG_ID, demo_config
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

pytestmark = [pytest.mark.server, pytest.mark.timeout(240)]

USERS = 3000
TOKEN = "terminal-test-token-7d2e"
MAX_LINES = 200
"""What fits a person's attention: a summary and a screenful of rows, whatever the scale."""


@pytest.fixture(scope="module")
def directory() -> Iterator[ThrowawaySlapd]:
    with ThrowawaySlapd() as slapd:
        slapd.load_ldif(synthetic_ldif(USERS))
        slapd.start()
        yield slapd


@pytest.fixture
def setup(directory: ThrowawaySlapd, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A configuration (per-action log lines at info, as a new administrator leaves it) against
    the directory and an empty emulator, and the environment to run commands in."""
    with EmulatorServer(org_id=ORG_ID, token=TOKEN) as webex:
        raw = demo_config(directory, webex.url, tmp_path)
        raw["logging"]["level"] = "info"
        config = tmp_path / "webex-provisioner.yaml"
        config.write_text(yaml.safe_dump(raw))
        yield config, {**os.environ, "LDAP_PASSWORD": directory.root_pw, "WEBEX_TOKEN": TOKEN}


def words(screen: Screen) -> str:
    """The output with runs of white space made one space: cells and wrapped lines compared as words."""
    return re.sub(r"\s+", " ", screen.text)


def assert_fits(out: Screen, err: Screen) -> None:
    """At most MAX_LINES lines in all, and every line of the results within 80 columns."""
    lines = out.text.count("\n") + err.text.count("\n")
    assert lines <= MAX_LINES, f"{lines} lines printed:\n{out.text}\n{err.text}"
    wide = [line for line in out.lines if len(line.rstrip()) > 80]
    assert out.widest() <= 80, f"{len(wide)} lines wider than 80 columns, e.g. {wide[:3]}"


def test_thousands_of_users_in_an_80_column_terminal(
    setup: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    """In an 80-column terminal, plan and sync of 3,000 users each print a summary and a
    screenful of rows (not 3,000 log lines and a 12,000-line table), every line within 80
    columns; sync shows a progress display (done/total) while applying; the counts are right;
    --output writes every action (CSV with the changes, or JSON with each outcome)."""
    config, env = setup
    out, err = in_terminal(command(config, "plan", "--output", str(tmp_path / "plan.csv")), env)
    assert out.code == 0, out.text + err.text
    assert_fits(out, err)
    assert "3,000 actions planned" in words(out)
    assert "Users create entered_scope 3,000" in words(out)
    assert f"2,950 more rows not shown: every row is in {tmp_path / 'plan.csv'}" in words(out)
    with (tmp_path / "plan.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == USERS and {r["action"] for r in rows} == {"create"}
    assert rows[0]["subject"] == "user000000@example.com" and "displayName=" in rows[0]["changes"]

    out, err = in_terminal(command(config, "sync", "--output", str(tmp_path / "result.json")), env)
    assert out.code == 0, out.text + err.text
    assert "applying" in err.text and re.search(r"\d[\d,]*/3,000", err.text), "no progress display"
    assert "action applied" not in err.text  # per-action lines are in the audit log
    assert_fits(out, err)
    assert "3,000 of 3,000 actions applied" in words(out)
    assert "Users create entered_scope 3,000 3,000 applied" in words(out)
    actions = json.loads((tmp_path / "result.json").read_text())["plan"]["actions"]
    assert len(actions) == USERS and {a["status"] for a in actions} == {"applied"}
    audit = (tmp_path / "audit.log").read_text().splitlines()
    assert len(audit) == USERS


def test_in_pipes_no_progress_display_and_no_control_sequences(
    setup: tuple[Path, dict[str, str]],
) -> None:
    """With output to pipes (cron, CI), plan --json holds every action, and sync prints no
    progress display and no escape sequence: its results on standard output, its log lines (one
    per action at info, as configured) on standard error."""
    config, env = setup
    out, err = in_pipes(command(config, "plan", "--json"), env)
    assert out.code == 0, err.text
    assert len(json.loads(out.text)["plan"]["actions"]) == USERS
    out, err = in_pipes(command(config, "sync"), env)
    assert out.code == 0, err.text
    for screen in (out, err):
        assert b"\x1b" not in screen.raw and b"\r" not in screen.raw
    assert "applying" not in err.text
    assert err.text.count("action applied") == USERS
    assert "3,000 of 3,000 actions applied" in words(out) and out.widest() <= 80
