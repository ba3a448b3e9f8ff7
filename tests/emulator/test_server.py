"""Running the emulator: in a thread for tests, in the foreground for the CLI, with ``--data``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import DataFileError, EmulatorServer

from .helpers import ORG, TOKEN, group_body, user_body

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.server
def test_free_port_and_urls() -> None:
    """Port 0 picks a free loopback port; url and scim_url are known once started."""
    with EmulatorServer(org_id=ORG, token=TOKEN) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.url) and server.port > 0
        assert server.scim_url == f"{server.url}/identity/scim/{ORG}/v2"
        assert httpx.get(f"{server.scim_url}/Users", headers=AUTH).status_code == 200


@pytest.mark.server
def test_two_servers_side_by_side() -> None:
    """Two emulators run at once on different ports with separate users."""
    with EmulatorServer(org_id=ORG, token=TOKEN) as one, EmulatorServer(org_id=ORG, token=TOKEN) as two:
        assert one.port != two.port
        one.add_user({"userName": "a@example.com"})
        assert httpx.get(f"{two.scim_url}/Users", headers=AUTH).json()["totalResults"] == 0


@pytest.mark.server
def test_stop_and_restart() -> None:
    """stop() frees the port and keeps the users; start() serves them again."""
    server = EmulatorServer(org_id=ORG, token=TOKEN)
    server.start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.add_user({"userName": "a@example.com"})
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.scim_url}/Users", headers=AUTH)
    server.stop()  # stopping twice is harmless
    server.start()
    try:
        assert httpx.get(f"{server.scim_url}/Users", headers=AUTH).json()["totalResults"] == 1
    finally:
        server.stop()


@pytest.mark.server
def test_users_survive_a_restart_with_a_data_file(tmp_path: Path) -> None:
    """With a data file, users (and the archive) are saved on stop and loaded by the next emulator."""
    data = tmp_path / "webex.json"
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data) as first:
        created = httpx.post(
            f"{first.scim_url}/Users", json=user_body("keep@example.com"), headers=AUTH
        ).json()
        gone = httpx.post(f"{first.scim_url}/Users", json=user_body("gone@example.com"), headers=AUTH).json()
        httpx.delete(f"{first.scim_url}/Users/{gone['id']}", headers=AUTH)
    saved = json.loads(data.read_text())
    assert [u["userName"] for u in saved["users"]] == ["keep@example.com"]
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data) as second:
        found = httpx.get(f"{second.scim_url}/Users/{created['id']}", headers=AUTH)
        assert found.status_code == 200
        assert {k: v for k, v in found.json().items() if k != "meta"} == {
            k: v for k, v in created.items() if k != "meta"
        }
        assert [u["id"] for u in second.archived_users()] == [gone["id"]]
        duplicate = httpx.post(f"{second.scim_url}/Users", json=user_body("KEEP@example.com"), headers=AUTH)
        assert duplicate.status_code == 409


def _portless(resource: Any) -> Any:
    """``resource`` with its URLs (which hold the emulator's port) cut to their path."""
    if isinstance(resource, dict):
        return {k: _portless(v) for k, v in resource.items()}
    if isinstance(resource, list):
        return [_portless(v) for v in resource]
    return re.sub(r"^http://[^/]+", "", resource) if isinstance(resource, str) else resource


@pytest.mark.server
def test_groups_and_licences_survive_a_restart(tmp_path: Path) -> None:
    """Groups (with members and meta) and licences (units and assignments) are saved and loaded;
    licences configured on the new emulator are kept with their configured units."""
    data = tmp_path / "webex.json"
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data, licenses={"Meetings": 2}) as first:
        user = first.add_user({"userName": "a@example.com"})
        group = first.add_group(
            {"displayName": "Sales", "externalId": "s", "members": [{"value": user["id"]}]}
        )
        meetings = first.licenses()[0]["id"]
        extra = first.add_license("Extra", 4)["id"]
        body = {"email": "a@example.com", "licenses": [{"id": meetings}, {"id": extra}]}
        assert httpx.patch(f"{first.v1_url}/licenses/users", json=body, headers=AUTH).status_code == 200
    saved = json.loads(data.read_text())
    assert [g["id"] for g in saved["groups"]] == [group["id"]]
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data, licenses={"Meetings": 5}) as second:
        assert _portless(second.group(group["id"])) == _portless(group)
        assert second.groups_of(user["id"]) == {group["id"]}
        assert [(lic["name"], lic["totalUnits"], lic["consumedUnits"]) for lic in second.licenses()] == [
            ("Meetings", 5, 1),
            ("Extra", 4, 1),
        ]
        taken = httpx.post(f"{second.scim_url}/Groups", json=group_body("SALES"), headers=AUTH)
        assert taken.status_code == 409


@pytest.mark.server
def test_data_files_without_groups_still_load(tmp_path: Path) -> None:
    """A data file written before groups and licences existed loads: its users, no groups."""
    data = tmp_path / "webex.json"
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u-1",
        "userName": "old@example.com",
        "active": True,
        "emails": [{"value": "old@example.com", "type": "work", "primary": True}],
        "meta": {
            "resourceType": "User",
            "created": "2025-01-01T00:00:00.000Z",
            "lastModified": "2025-01-01T00:00:00.000Z",
            "version": 'W/"1"',
        },
    }
    old = {
        "format": "webex-provisioner-emulator/1",
        "org_id": ORG,
        "users": [user],
        "archive": [],
        "reserved": [],
    }
    data.write_text(json.dumps(old))
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data, licenses={"Meetings": 1}) as server:
        assert [u["userName"] for u in server.users()] == ["old@example.com"]
        assert server.groups() == [] and server.licenses()[0]["consumedUnits"] == 0


@pytest.mark.server
def test_data_file_is_saved_while_running(tmp_path: Path) -> None:
    """Changes reach the data file within the auto-save interval, before the emulator stops."""
    data = tmp_path / "webex.json"
    with EmulatorServer(org_id=ORG, token=TOKEN, data_file=data, autosave_interval=0.05) as server:
        server.add_user({"userName": "a@example.com"})
        for _ in range(100):
            if data.exists():
                break
            time.sleep(0.02)
        assert [u["userName"] for u in json.loads(data.read_text())["users"]] == ["a@example.com"]
        server.add_user({"userName": "b@example.com"})
        server.save()
        assert len(json.loads(data.read_text())["users"]) == 2


@pytest.mark.server
def test_data_file_of_another_organization(tmp_path: Path) -> None:
    """A data file written for another organization is refused before serving."""
    data = tmp_path / "webex.json"
    with EmulatorServer(org_id="other-org", token=TOKEN, data_file=data) as other:
        other.add_user({"userName": "a@example.com"})
    with pytest.raises(DataFileError, match="other-org"):
        EmulatorServer(org_id=ORG, token=TOKEN, data_file=data)


_SERVE = """
import sys
from webex_provisioner.emulator import serve
serve("127.0.0.1", 0, sys.argv[1], sys.argv[2], data=sys.argv[3], latency_ms=1,
      announce=lambda line: print(line, flush=True))
"""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_runs_until_a_signal_and_saves(tmp_path: Path, stop_signal: signal.Signals) -> None:
    """serve() answers over HTTP until SIGTERM/SIGINT, then exits cleanly with the users saved."""
    data = tmp_path / "webex.json"
    child = subprocess.Popen(
        [sys.executable, "-c", _SERVE, ORG, TOKEN, str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert "Ctrl+C" in line, line
        scim_url = re.findall(r"http://\S+", line)[0]
        for _ in range(200):
            try:
                response = httpx.post(f"{scim_url}/Users", json=user_body("saved@example.com"), headers=AUTH)
                break
            except httpx.ConnectError:
                time.sleep(0.02)
        assert response.status_code == 201
        child.send_signal(stop_signal)
        _, errors = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, errors
    assert "Traceback" not in errors
    assert [u["userName"] for u in json.loads(data.read_text())["users"]] == ["saved@example.com"]


def test_cli_options_reach_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """`webex-provisioner emulator` passes --license (repeatable), --license-overflow,
    --duplicate-group-names and --max-members-per-patch (0: no limit) on to serve()."""
    from click.testing import CliRunner

    import webex_provisioner.emulator
    from webex_provisioner.cli import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(webex_provisioner.emulator, "serve", lambda **kwargs: seen.update(kwargs))
    arguments = ["emulator", "--org-id", ORG, "--token", TOKEN, "--license", "Meetings=10"]
    arguments += ["--license", "A=B=2", "--license-overflow", "error", "--duplicate-group-names"]
    result = CliRunner().invoke(cli, [*arguments, "--max-members-per-patch", "0"])
    assert result.exit_code == 0, result.output
    assert seen["licenses"] == {"Meetings": 10, "A=B": 2}
    assert (seen["license_overflow"], seen["unique_group_names"], seen["max_members_per_patch"]) == (
        "error",
        False,
        None,
    )
    defaults = CliRunner().invoke(cli, ["emulator", "--org-id", ORG, "--token", TOKEN])
    assert defaults.exit_code == 0 and seen["licenses"] == {} and seen["max_members_per_patch"] == 500


@pytest.mark.parametrize("text", ["Meetings", "Meetings=", "=5", "Meetings=-1", "Meetings=lots"])
def test_cli_refuses_malformed_licences(text: str) -> None:
    """A --license that is not NAME=UNITS (a whole number) is a usage error (exit code 2)."""
    from click.testing import CliRunner

    from webex_provisioner.cli import cli

    result = CliRunner().invoke(cli, ["emulator", "--org-id", ORG, "--token", TOKEN, "--license", text])
    assert result.exit_code == 2 and "NAME=UNITS" in result.output
