"""``run`` keeps licences in step: a user added to a licence rule's group gets the licence within
seconds (the persistent content sync watches the rule's group too), without a full cycle."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.daemon.conftest import new_daemon
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd

pytestmark = pytest.mark.timeout(120)

PILOT = "cn=messaging-pilot,ou=groups,dc=example,dc=com"
MESSAGING = "Webex Messaging"


def holders(emulator: EmulatorServer) -> set[str]:
    licence = next(lic for lic in emulator.licenses() if lic["name"] == MESSAGING)
    emails = {u["id"]: u["userName"].lower() for u in emulator.users()}
    return {emails[u] for u in emails if licence["id"] in emulator.user_licenses(u)}


def test_a_rule_group_change_assigns_the_licence_within_seconds(
    tmp_path: Path, own_slapd: ThrowawaySlapd, own_emulator: EmulatorServer, corp: Company
) -> None:
    """A user added to a rule's group gets its licence, woken by the directory, long before
    schedule.interval; no second full cycle."""
    people = [p for p in corp.people if p.mail and p.uid in corp.in_scope - corp.disabled]
    first, second = people[0], people[1]
    own_slapd.add(f"dn: {PILOT}\nobjectClass: groupOfNames\ncn: messaging-pilot\nmember: {first.dn}\n")
    own_emulator.add_license(MESSAGING, 100)
    daemon = new_daemon(
        tmp_path,
        own_slapd,
        own_emulator,
        corp,
        licenses={"rules": [{"when": {"group": PILOT}, "assign": [MESSAGING]}]},
        schedule={"interval": "10m"},
    ).start()
    try:
        daemon.wait_healthy()
        assert first.mail is not None and second.mail is not None
        daemon.wait_until(lambda: holders(own_emulator) == {first.mail.lower()}, "the first holder")
        own_slapd.modify(PILOT, [("add", "member", [second.dn])])
        wanted = {first.mail.lower(), second.mail.lower()}
        daemon.wait_until(lambda: holders(own_emulator) == wanted, "the licence of the new member")
        assert daemon.full_cycles() == 1
    finally:
        daemon.close()
