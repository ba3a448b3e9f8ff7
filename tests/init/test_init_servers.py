"""``init`` against real servers (slapd with Example Corp, 389 Directory Server) and the Webex
emulator: without a terminal it writes a file that ``check`` and ``plan`` accept as it is; on a
terminal it asks, hides the secrets it asks for, and takes the scope chosen."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WEBEX_TOKEN
from tests.directory.helpers import add_389ds_people
from tests.init.helpers import check_and_plan, init, planned, written
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.dirsrv import SUFFIX, ThrowawayDirSrv, dirsrv_missing
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

PLAN_OK = (0, 3)  # done; done with users left alone (Example Corp has a user without mail)


def options(uri: str, bind_dn: str, emulator: EmulatorServer) -> list[str]:
    return [
        "--directory-url",
        uri,
        "--bind-dn",
        bind_dn,
        "--webex-org-id",
        ORG_ID,
        "--webex-url",
        emulator.url,
    ]


def test_slapd_without_a_terminal_writes_a_file_check_and_plan_accept(
    slapd: ThrowawaySlapd, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """All options given, secrets in the environment: init discovers OpenLDAP, the naming
    context, inetOrgPerson, content sync, pwdAccountLockedTime and the webex-users group, writes
    the file (no secret in it), runs check (exit 0), and plan runs on it as it is."""
    env = {"LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": WEBEX_TOKEN}
    output = tmp_path / "conf" / "webex-provisioner.yaml"

    result = init(env, output, *options(slapd.uri, slapd.root_dn, emulator))

    assert result.exit_code == 0, result.output
    assert "OpenLDAP" in result.output and "content sync (RFC 4533)" in result.output
    assert f"webex-provisioner --config {output} plan" in result.output
    text = output.read_text()
    assert slapd.root_pw not in text and WEBEX_TOKEN not in text and slapd.root_pw not in result.output
    raw = written(output)
    directory = raw["directory"]
    assert isinstance(directory, dict)
    assert directory["type"] == "openldap" and directory["base_dn"] == slapd.suffix
    assert directory["bind_password"] == "${LDAP_PASSWORD}" and raw["webex"]["token"] == "${WEBEX_TOKEN}"  # type: ignore[index]
    assert directory["disabled_filter"] == "(pwdAccountLockedTime=*)"
    assert directory["scope"]["groups"] == [f"cn=webex-users,ou=groups,{slapd.suffix}"]
    assert raw["state"] == f"sqlite:///{output.parent / 'webex-provisioner.db'}"

    check, plan = check_and_plan(env, output)
    assert check.exit_code == 0, check.output
    assert plan.exit_code in PLAN_OK, plan.output
    assert planned(plan)["eva.novak@example.com"] == "create"


def test_slapd_on_a_terminal_asks_hides_secrets_and_takes_the_scope_chosen(
    slapd: ThrowawaySlapd, emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, with nothing given: init asks the URL, the bind DN, its password (hidden),
    the organization, the Webex URL, the token (hidden), the base DN (offering the naming
    context) and the scope (offering the webex group); the answers shape the file; --force
    replaces an existing one."""
    monkeypatch.setattr("webex_provisioner.cli.setup.on_terminal", lambda: True)
    output = tmp_path / "webex-provisioner.yaml"
    output.write_text("old\n")
    answers = "\n".join(
        [
            slapd.uri,
            slapd.root_dn,
            slapd.root_pw,
            ORG_ID,
            emulator.url,
            WEBEX_TOKEN,
            f"ou=people,{slapd.suffix}",
            "2",
        ]
    )

    result = init({}, output, "--force", answers=answers + "\n")

    assert result.exit_code == 0, result.output
    assert f"Base DN (where the users are) [{slapd.suffix}]" in result.output
    assert "Scope [1]" in result.output
    assert slapd.root_pw not in result.output and WEBEX_TOKEN not in result.output
    directory = written(output)["directory"]
    assert isinstance(directory, dict)
    assert directory["base_dn"] == f"ou=people,{slapd.suffix}"
    assert directory["scope"]["groups"] == [f"cn=engineering,ou=groups,{slapd.suffix}"]
    assert "export LDAP_PASSWORD=... WEBEX_TOKEN=..." in result.output
    env = {"LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": WEBEX_TOKEN}
    check, plan = check_and_plan(env, output)
    assert check.exit_code == 0 and plan.exit_code in PLAN_OK, check.output + plan.output


def test_a_directory_that_cannot_be_reached_writes_nothing(emulator: EmulatorServer, tmp_path: Path) -> None:
    """init stops with exit 1 and the directory's error when it cannot connect; no file."""
    output = tmp_path / "webex-provisioner.yaml"
    env = {"LDAP_PASSWORD": "x", "WEBEX_TOKEN": WEBEX_TOKEN}
    result = init(env, output, *options("ldap://127.0.0.1:1", "cn=admin,dc=example,dc=com", emulator))
    assert result.exit_code == 1 and "check directory.url" in result.output
    assert not output.exists()


@pytest.fixture(scope="module")
def dirsrv() -> Iterator[ThrowawayDirSrv]:
    missing = dirsrv_missing()
    if missing:
        pytest.skip(f"no 389 Directory Server here: {missing} (scripts/system-deps.sh installs it)")
    with ThrowawayDirSrv() as server:
        yield server


def test_389ds_without_a_terminal_writes_a_file_check_and_plan_accept(
    dirsrv: ThrowawayDirSrv, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Against 389 DS: the 389ds type, nsAccountLock as the disabled marking, nsPerson and
    inetOrgPerson counted, the webex group as the scope; check and plan accept the file."""
    ou = dirsrv.add(f"ou=i{uuid.uuid4().hex[:8]},{SUFFIX}", {"objectClass": "organizationalUnit"})
    people = add_389ds_people(dirsrv, ou)
    group = dirsrv.add(
        f"cn=webex-users,{ou}", {"objectClass": "groupOfNames", "cn": "webex-users", "member": people[:2]}
    )
    env = {"LDAP_PASSWORD": dirsrv.root_pw, "WEBEX_TOKEN": WEBEX_TOKEN}
    output = tmp_path / "webex-provisioner.yaml"

    result = init(env, output, *options(dirsrv.uri, dirsrv.root_dn, emulator), "--base-dn", ou)

    assert result.exit_code == 0, result.output
    assert "389ds" in result.output and "nsPerson 1" in result.output
    directory = written(output)["directory"]
    assert isinstance(directory, dict)
    assert directory["type"] == "389ds" and directory["disabled_filter"] == "(nsAccountLock=TRUE)"
    assert directory["scope"]["groups"] == [group]
    check, plan = check_and_plan(env, output)
    assert check.exit_code == 0, check.output
    assert plan.exit_code == 0, plan.output
    assert planned(plan) == {"ann@example.com": "create", "ben@example.com": "create"}
