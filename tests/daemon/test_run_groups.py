"""``run`` pushes groups: a change to a pushed directory group reaches its Webex group within
seconds (the persistent content sync watches the pushed groups too), without a full cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon.conftest import new_daemon
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd

pytestmark = pytest.mark.timeout(120)

PILOT = "cn=webex-pilot,ou=groups,dc=example,dc=com"


def pilot_members(emulator: EmulatorServer) -> set[str]:
    group = next((g for g in emulator.groups() if g["displayName"] == "webex-pilot"), None)
    if group is None:
        return set()
    emails = {u["id"]: u["userName"].lower() for u in emulator.users()}
    return {emails.get(m, m) for m in emulator.group_members(group["id"])}


def test_a_pushed_group_change_reaches_webex_within_seconds(
    tmp_path: Path, own_slapd: ThrowawaySlapd, own_emulator: EmulatorServer, corp: Company
) -> None:
    """A user added to a pushed group (outside the targeted groups' subtree) joins its Webex
    group, woken by the directory, long before schedule.interval; no second full cycle."""
    people = [p for p in corp.people if p.mail and p.uid in corp.in_scope - corp.disabled]
    first, second = people[0], people[1]
    own_slapd.add(f"dn: {PILOT}\nobjectClass: groupOfNames\ncn: webex-pilot\nmember: {first.dn}\n")
    daemon = new_daemon(
        tmp_path,
        own_slapd,
        own_emulator,
        corp,
        groups={"base_dn": "ou=groups,dc=example,dc=com", "filter": "(cn=webex-pilot)"},
        schedule={"interval": "10m"},
    ).start()
    try:
        daemon.wait_healthy()
        daemon.wait_until(lambda: pilot_members(own_emulator) == {first.mail.lower()}, "the pilot group")
        own_slapd.modify(PILOT, [("add", "member", [second.dn])])
        daemon.wait_until(
            lambda: pilot_members(own_emulator) == {first.mail.lower(), second.mail.lower()},  # type: ignore[union-attr]
            "the new member in the Webex group",
        )
        assert daemon.full_cycles() == 1
    finally:
        daemon.close()
