"""The directory failing under a cycle (slapd restarting mid-read, a refused bind): a clear error,
exit 1, and nobody in Webex deprovisioned because of a read that did not complete."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from tests.conftest import World
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USERS_FAILED
from webex_provisioner.model import DirectoryUser

pytestmark = pytest.mark.timeout(120)


def writes(world: World) -> list[tuple[str, str, int]]:
    return [r for r in world.emulator.request_log if r[0] != "GET"]


def test_slapd_restarting_mid_read_fails_the_cycle_and_deprovisions_nobody(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """slapd restarted while the paged read is on its third page: sync exits 1 saying the read is
    incomplete, sends no write to Webex; the next sync, with slapd back, has nothing to do. (The
    read runs in the engine process, which is still reading when slapd restarts.)"""
    world.configure(directory={"page_size": 5, "read_process": False})
    world.sync()
    before = writes(world)
    original = LdapDirectory.read_users

    def restarting(self: LdapDirectory) -> Iterator[DirectoryUser]:
        for n, user in enumerate(original(self)):
            if n == 12:
                world.slapd.restart()
            yield user

    monkeypatch.setattr(LdapDirectory, "read_users", restarting)
    result = world.cli("sync", "--full", "--json")
    assert result.exit_code == EXIT_FAILED, result.output
    error = json.loads(result.stdout)["error"]
    assert "the read is incomplete" in error and world.slapd.uri in error
    assert writes(world) == before
    assert all(u["active"] for u in world.emulator.users())

    monkeypatch.undo()
    result = world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output  # Example Corp's user without mail
    assert json.loads(result.stdout)["plan"]["actions"] == []


def test_a_reader_process_dying_fails_the_cycle_and_deprovisions_nobody(
    shared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader process of a full read killed (here as soon as it started): sync exits 1
    saying the read is incomplete, sends no write to Webex; the next sync has nothing to do."""
    world = shared_world
    world.configure(directory={"read_process": True})
    world.sync()
    before = writes(world)
    prepare = LdapDirectory.prepare_read

    def prepare_and_kill(self: LdapDirectory, expected_users: int) -> None:
        prepare(self, expected_users)
        assert self._prepared is not None
        os.kill(self._prepared._process.pid, signal.SIGKILL)

    monkeypatch.setattr(LdapDirectory, "prepare_read", prepare_and_kill)
    result = world.cli("sync", "--full", "--json")
    assert result.exit_code == EXIT_FAILED, result.output
    error = json.loads(result.stdout)["error"]
    assert "reader process ended" in error and "incomplete" in error
    assert writes(world) == before
    assert all(u["active"] for u in world.emulator.users())

    monkeypatch.undo()
    result = world.cli("sync", "--full", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output  # Example Corp's user without mail
    assert json.loads(result.stdout)["plan"]["actions"] == []


def test_wrong_bind_password_fails_clearly_and_deprovisions_nobody(shared_world: World) -> None:
    """A wrong bind password: sync exits 1 naming the bind DN and the settings to fix, never the
    password; Webex gets no write."""
    world = shared_world
    world.sync()
    before = writes(world)
    world.env["LDAP_PASSWORD"] = "not-the-password-6e1f"
    result = world.cli("sync")
    assert result.exit_code == EXIT_FAILED
    assert f"refused the bind of {world.slapd.root_dn}" in result.output
    assert "directory.bind_password" in result.output
    assert "not-the-password-6e1f" not in result.output
    assert writes(world) == before
    assert all(u["active"] for u in world.emulator.users())
