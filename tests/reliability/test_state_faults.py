"""The state store unusable (locked by another instance, read-only): a clear error, exit 1, and
nothing applied: Webex gets no request at all."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import World
from tests.state.state_helpers import as_unprivileged, give_to_unprivileged
from webex_provisioner.cli import cli
from webex_provisioner.engine.report import EXIT_FAILED
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(120)


def test_state_locked_by_another_instance_applies_nothing(world: World) -> None:
    """While another instance holds the cycle lock, sync exits 1 naming it and what to do, sends
    Webex nothing and records no cycle; once the lock is released, the change is applied."""
    world.sync()
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Head of Platform"]})
    requests = len(world.emulator.request_log)
    store = open_state_store(world.config.state)
    try:
        cycles = len(store.cycles(100))
        assert store.acquire_lock("standby-host:4242", 60)
        result = world.cli("sync")
        assert result.exit_code == EXIT_FAILED
        assert "another instance (standby-host:4242) is running a cycle" in result.output
        assert "wait for it to finish" in result.output
        assert len(world.emulator.request_log) == requests
        assert len(store.cycles(100)) == cycles
    finally:
        store.release_lock("standby-host:4242")
        store.close()
    assert world.sync().applied is not None
    assert world.webex_user("eva.novak@example.com")["title"] == "Head of Platform"  # type: ignore[index]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder an unprivileged user can reach (pytest's own temporary folders are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="wp-reliability-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_read_only_state_applies_nothing(world: World, shared_dir: Path, read_only: str) -> None:
    """A state database (or its folder) this user cannot write: sync exits 1 with a message
    naming the path and the fix, before Webex gets any request."""
    folder = shared_dir / "state"
    folder.mkdir()
    state = folder / "state.db"
    world.configure(state=f"sqlite:///{state}", logging={"audit_log": str(shared_dir / "audit.log")})
    world.sync()
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Head of Platform"]})
    config = shared_dir / "webex-provisioner.yaml"
    config.write_text(yaml.safe_dump(world.raw))
    config.chmod(0o644)
    for path in folder.iterdir():
        give_to_unprivileged(path, 0o400 if read_only == "file" else 0o600)
    give_to_unprivileged(shared_dir, 0o755)
    give_to_unprivileged(folder, 0o755 if read_only == "file" else 0o555)
    requests = len(world.emulator.request_log)

    def sync() -> str:
        result = CliRunner().invoke(cli, ["--config", str(config), "sync"], env=world.env)
        return f"{result.exit_code}\n{result.output}"

    code, _, output = as_unprivileged(sync).partition("\n")
    assert code == str(EXIT_FAILED), output
    if read_only == "file":
        assert f"the state database file {state} is read-only for this user" in output
    else:
        assert f"the directory {folder} of the state database is read-only for this user" in output
    assert "point state: at another" in output
    assert len(world.emulator.request_log) == requests
    assert world.webex_user("eva.novak@example.com")["title"] != "Head of Platform"  # type: ignore[index]
