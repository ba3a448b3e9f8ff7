"""``init`` against Active Directory (Samba AD DC): the domain's default naming context, the
activedirectory preset, the ACCOUNTDISABLE bit, DirSync for the Administrator, and a group named
for Webex as the scope; ``check`` and ``plan`` accept the file as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ad.conftest import Tree
from tests.conftest import WEBEX_TOKEN
from tests.init.helpers import check_and_plan, init, planned, written
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.demo import ORG_ID

pytestmark = [pytest.mark.ad, pytest.mark.timeout(300)]


def test_init_against_active_directory_writes_a_file_check_and_plan_accept(
    tree: Tree, emulator: EmulatorServer, tmp_path: Path
) -> None:
    """Non-interactive init bound as Administrator: type activedirectory, base DN the domain,
    the preset's user and disabled filters, the Webex group suggested as the scope; check exits
    0 and plan plans the group's enabled member with a mail."""
    alice = tree.user("alice")
    bob = tree.user("bob", disabled=True)
    group = tree.dc.add_group(tree.groups, f"webex-users-{tree.root.split(',')[0][3:]}", [alice, bob])
    env = {"LDAP_PASSWORD": tree.dc.admin_password, "WEBEX_TOKEN": WEBEX_TOKEN}
    output = tmp_path / "webex-provisioner.yaml"

    result = init(
        env,
        output,
        "--directory-url",
        tree.dc.uri,
        "--bind-dn",
        tree.dc.admin_dn,
        "--webex-org-id",
        ORG_ID,
        "--webex-url",
        emulator.url,
    )

    assert result.exit_code == 0, result.output
    assert "directory.type activedirectory" in result.output and "DirSync: yes" in result.output
    assert tree.dc.admin_password not in output.read_text()
    directory = written(output)["directory"]
    assert isinstance(directory, dict)
    assert directory["type"] == "activedirectory" and directory["base_dn"].lower() == tree.dc.base_dn.lower()
    assert directory["disabled_filter"] == "(userAccountControl:1.2.840.113556.1.4.803:=2)"
    assert directory["user_filter"] == "(&(objectCategory=person)(objectClass=user))"
    assert [g.lower() for g in directory["scope"]["groups"]] == [group.lower()]

    check, plan = check_and_plan(env, output)
    assert check.exit_code == 0, check.output
    assert plan.exit_code in (0, 3), plan.output
    assert planned(plan) == {f"alice@{tree.dc.realm.lower()}": "create"}  # bob is disabled
