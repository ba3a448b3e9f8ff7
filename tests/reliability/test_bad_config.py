"""Bad configuration: every problem reported at once, each naming its key and the fix, exit 2,
and no server contacted; a well-formed URL nobody answers at is found by 'check' (exit 1)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tests.conftest import WEBEX_TOKEN
from webex_provisioner.cli import cli
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USAGE
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback TCP port that accepts connections nobody serves: a stand-in directory server
    that tells whether anything connected to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def connected(sock: socket.socket) -> bool:
    try:
        client, _ = sock.accept()
    except BlockingIOError:
        return False
    client.close()
    return True


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], env=env or {})
    return result.exit_code, result.stdout, result.stderr


BROKEN: dict[str, Any] = {
    "directory": {
        "bind_dn": "cn=admin,dc=example,dc=com",
        "bind_password": "${LDAP_PASSWORD}",
        "user_filter": "(objectClass=inetOrgPerson",
        "page_size": "many",
        "colour": "blue",
    },
    "webex": {"org_id": ORG_ID, "token": "${UNSET_WEBEX_TOKEN}"},
    "mapping": {"email": "mail", "displayName": "{{ givenName ~ }}"},
    "state": "mysql://wp@db/state",
}

EXPECTED = (
    "directory.base_dn: required key is missing; add it",
    "directory.colour: unknown key; remove it or check its spelling",
    "directory.page_size: Input should be a valid integer",
    "directory.user_filter: '(objectClass=inetOrgPerson' is not an LDAP filter",
    "mapping: displayName: invalid template",
    "webex.token: environment variable UNSET_WEBEX_TOKEN is not set; export UNSET_WEBEX_TOKEN=...",
    "state: 'mysql://wp@db/state' must be sqlite:///PATH or postgresql://USER@HOST/DB",
)


@pytest.mark.parametrize("command", ["check", "plan", "sync"])
def test_every_problem_is_reported_at_once_and_nothing_is_contacted(
    tmp_path: Path, listener: socket.socket, clean_emulator: EmulatorServer, command: str
) -> None:
    """A configuration with an unknown key, a wrong type, a missing key, a broken LDAP filter, a
    broken template, an unset ${VAR} and a bad state URL: exit 2, every problem listed with its
    key and fix, and neither the directory nor Webex (both at valid URLs) contacted."""
    webex = clean_emulator
    raw = {
        **BROKEN,
        "directory": {**BROKEN["directory"], "url": f"ldap://127.0.0.1:{listener.getsockname()[1]}"},
        "webex": {**BROKEN["webex"], "url": webex.url},
    }
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(raw))
    code, stdout, stderr = run(config, command, env={"LDAP_PASSWORD": "pw-123456"})
    assert code == EXIT_USAGE
    assert stdout == ""
    assert f"the configuration is invalid ({len(EXPECTED)} problem(s))" in stderr
    for fragment in EXPECTED:
        assert fragment in stderr, fragment
    assert webex.request_log == []
    assert not connected(listener)


def test_malformed_urls_are_configuration_errors(tmp_path: Path) -> None:
    """URLs of the wrong scheme are configuration errors (exit 2) naming the key and the form."""
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "directory": {"url": "http://127.0.0.1:389", "base_dn": "dc=example,dc=com"},
                "webex": {"org_id": ORG_ID, "token": "t-123456", "url": "ftp://webexapis.com"},
            }
        )
    )
    code, _, stderr = run(config, "check")
    assert code == EXIT_USAGE
    assert "directory.url: 'http://127.0.0.1:389' must start with ldap://, ldaps:// or ldapi://" in stderr
    assert "webex.url: 'ftp://webexapis.com' must start with https://" in stderr


def test_check_reports_unreachable_urls(tmp_path: Path) -> None:
    """Well-formed URLs where nothing answers pass validation; 'check' contacts them and reports
    each one unreachable with the key to fix (exit 1)."""
    directory_url = f"ldap://127.0.0.1:{closed_port()}"
    webex_url = f"http://127.0.0.1:{closed_port()}"
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "directory": {"url": directory_url, "base_dn": "dc=example,dc=com", "timeout": 2},
                "webex": {"org_id": ORG_ID, "token": "t-123456", "url": webex_url, "max_retries": 1},
                "state": f"sqlite:///{tmp_path / 'state.db'}",
            }
        )
    )
    code, stdout, _ = run(config, "check", "--json")
    assert code == EXIT_FAILED
    result = json.loads(stdout)
    assert result["config"] == "valid"
    assert directory_url in result["directory"]["error"] and "directory.url" in result["directory"]["error"]
    assert webex_url in result["webex"]["error"] and "webex.url" in result["webex"]["error"]


def test_check_of_a_valid_setup_passes(
    tmp_path: Path, shared_slapd: ThrowawaySlapd, clean_emulator: EmulatorServer
) -> None:
    """The same command with servers that answer exits 0 (so the failures above are the URLs')."""
    slapd, webex = shared_slapd, clean_emulator
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "directory": {
                    "url": slapd.uri,
                    "bind_dn": slapd.root_dn,
                    "bind_password": slapd.root_pw,
                    "base_dn": slapd.suffix,
                },
                "webex": {"org_id": ORG_ID, "token": WEBEX_TOKEN, "url": webex.url},
                "state": f"sqlite:///{tmp_path / 'state.db'}",
            }
        )
    )
    code, stdout, _ = run(config, "check", "--json")
    assert code == 0, stdout
