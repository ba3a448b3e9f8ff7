"""The command line end to end against slapd and the emulator: documented, exit codes as promised,
secrets never printed. Tests that leave the directory as it is share the module's slapd."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.conftest import World
from webex_provisioner.cli import cli
from webex_provisioner.state import open_state_store

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def commands(group: click.Group, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} ")
        else:
            yield path


def test_every_command_is_documented() -> None:
    """Each command of the CLI has a section in docs/cli.md and a --help text."""
    text = DOCS.read_text()
    for name in commands(cli):
        assert re.search(rf"^## `{re.escape(name)}[ `]", text, re.M), (
            f"docs/cli.md lacks a section for '{name}'"
        )
        result = CliRunner().invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_invalid_config_exits_2_listing_every_problem(tmp_path: Path) -> None:
    """An invalid configuration exits with code 2 and lists each problem with its key."""
    config = tmp_path / "c.yaml"
    config.write_text("directory: {url: nope}\nwebex: {org_id: x}\nstray: 1\n")
    result = CliRunner().invoke(cli, ["--config", str(config), "plan"])
    assert result.exit_code == 2
    for key in ("directory.url", "directory.base_dn", "webex.org_id", "stray"):
        assert key in result.output


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    """A missing configuration file exits 2 and says how to point at one."""
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "absent.yaml"), "status"])
    assert result.exit_code == 2 and "--config" in result.output


def test_check_reports_directory_and_webex(shared_world: World) -> None:
    world = shared_world
    """check reports the server, the scope size and the Webex organization, and exits 0."""
    result = world.cli("check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["directory"]["in_scope"] == len(world.corp.in_scope)
    assert data["directory"]["in_scope_disabled"] == len(world.corp.disabled)
    assert data["webex"]["users"] == 0


def test_check_with_directory_down_exits_1(world: World) -> None:
    """check exits 1 and names the directory problem when slapd is not running."""
    world.slapd.stop()
    result = world.cli("check")
    assert result.exit_code == 1
    assert "ldap://127.0.0.1" in result.output


def test_sync_status_users_round_trip(shared_world: World) -> None:
    world = shared_world
    """sync, then status and users list/show reflect the cycle; users show includes history."""
    result = world.cli("sync", "--json")
    assert result.exit_code == 3, result.output  # the user without mail is reported
    data = json.loads(result.stdout)
    assert data["applied"]["create:applied"] == len(world.webex_users())
    status = json.loads(world.cli("status", "--json").stdout)
    assert status["cycles"][0]["outcome"] == "partial"
    listed = json.loads(world.cli("users", "list", "--json").stdout)
    assert len(listed) == len(world.webex_users())
    shown = json.loads(world.cli("users", "show", "EVA.NOVAK@example.com", "--json").stdout)
    assert shown[0]["history"][0]["action"] == "create"
    assert shown[0]["history"][0]["reason"] == "entered_scope"
    assert world.cli("users", "show", "nobody@example.com").exit_code == 1


def test_sync_and_status_show_a_write_webex_refused(shared_world: World) -> None:
    """A write Webex refused is listed in sync --json's failures, and shows in status (its user
    and Webex's error) until a later cycle applies it. (The rule itself, on the fakes:
    tests/engine/test_lifecycle_rules.py::test_failed_write_is_recorded_and_retried_next_cycle.)"""
    world = shared_world
    world.configure(webex={"concurrency": 1})
    world.sync()
    world.configure(mapping={**world.raw["mapping"], "displayName": "{{ sn }}, {{ givenName }}"})
    world.emulator.faults.fail_next(1, status=400)  # the first PATCH of the updates
    result = world.cli("sync", "--json")
    assert result.exit_code == 3, result.output
    assert [f["action"] for f in json.loads(result.stdout)["failures"]] == ["update"]
    failing = json.loads(world.cli("status", "--json").stdout)["failing_users"]
    assert len(failing) == 1 and "injected failure" in failing[0]["last_error"]
    assert world.sync().applied is not None
    assert json.loads(world.cli("status", "--json").stdout)["failing_users"] == []


def test_sync_one_user_touches_only_that_user(shared_world: World) -> None:
    world = shared_world
    """sync --user provisions exactly the named user."""
    result = world.cli("sync", "--user", "eva.novak@example.com", "--json")
    assert result.exit_code == 0, result.output
    assert set(world.webex_users()) == {"eva.novak@example.com"}
    unknown = world.cli("sync", "--user", "nobody@example.com")
    assert unknown.exit_code == 1 and "no directory user" in unknown.output


def test_secrets_never_appear_in_output_logs_or_audit(world: World, tmp_path: Path) -> None:
    """A full cycle with debug logging prints neither the bind password nor the Webex token."""
    world.configure(logging={"level": "debug", "format": "json"})
    outputs = [
        world.cli("sync", "--json").output,
        world.cli("plan", "--json").output,
        world.cli("status", "--json").output,
        world.cli("check").output,
    ]
    world.slapd.stop()
    outputs.append(world.cli("sync").output)
    audit = (tmp_path / "audit.log").read_text()
    state = (tmp_path / "state.db").read_bytes()
    for secret in (world.env["LDAP_PASSWORD"], world.env["WEBEX_TOKEN"]):
        for text in (*outputs, audit):
            assert secret not in text
        assert secret.encode() not in state


def test_audit_log_and_state_are_private(shared_world: World, tmp_path: Path) -> None:
    world = shared_world
    """The audit log and the state database are created readable by the owner only."""
    world.sync()
    for name in ("audit.log", "state.db"):
        assert (tmp_path / name).stat().st_mode & 0o077 == 0, name


def test_second_sync_waits_for_the_lock(shared_world: World) -> None:
    world = shared_world
    """A sync while another instance holds the lock exits 1 and names the holder."""
    store = open_state_store(world.config.state)
    try:
        assert store.acquire_lock("other-host:1234", 60)
        result = world.cli("sync")
        assert result.exit_code == 1
        assert "other-host:1234" in result.output
    finally:
        store.release_lock("other-host:1234")
        store.close()


@pytest.mark.parametrize("args", [["sync", "--approve-held", "--discard-held"]])
def test_contradictory_options_are_a_usage_error(shared_world: World, args: list[str]) -> None:
    world = shared_world
    """Options that exclude each other exit 2."""
    assert world.cli(*args).exit_code == 2


def test_a_refused_bind_is_recorded_as_a_failed_cycle(shared_world: World) -> None:
    world = shared_world
    """A sync whose directory bind is refused exits 1 and shows in status as a failed cycle."""
    world.env["LDAP_PASSWORD"] = "not-the-password"
    result = world.cli("sync")
    assert result.exit_code == 1
    status = json.loads(world.cli("status", "--json").stdout)
    assert status["cycles"][0]["outcome"] == "failed"
    assert "cn=admin,dc=example,dc=com" in status["cycles"][0]["detail"]
    assert "not-the-password" not in result.output
