"""Approving held deprovisions while `run` holds the state store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.daemon.conftest import new_daemon
from tests.daemon.helpers import webex_user
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd

pytestmark = pytest.mark.timeout(120)


def test_approve_held_while_run_is_active_is_applied_by_the_running_instance(
    tmp_path: Path, own_slapd: ThrowawaySlapd, clean_emulator: EmulatorServer, company: Company
) -> None:
    """With run active, sync --approve-held records the approval (exit 0) and the running
    instance applies the held deprovisions in its next cycle; nothing is applied twice."""
    daemon = new_daemon(
        tmp_path,
        own_slapd,
        clean_emulator,
        company,
        safety={"max_deprovisions": {"count": 1, "percent": None}},
    ).start()
    try:
        daemon.wait_healthy()
        leavers = [company.person(uid) for uid in ("fahmed", "sbrennan")]
        for person in leavers:
            own_slapd.delete(person.dn)
        daemon.wait_until(lambda: len(json.loads(daemon.cli("status", "--json").stdout)["held"]) == 2, "held")
        assert all(webex_user(clean_emulator, p.mail or "")["active"] for p in leavers)  # type: ignore[index]
        approved = daemon.cli("sync", "--approve-held")
        assert approved.returncode == 0, approved.stderr
        assert "approved 2 held deprovision(s)" in approved.stdout
        own_slapd.modify(company.person("ahart").dn, {"title": "Wakes the daemon"})  # a change: a cycle runs
        daemon.wait_until(
            lambda: not any(webex_user(clean_emulator, p.mail or "")["active"] for p in leavers),  # type: ignore[index]
            "the approved deprovisions applied",
        )
        assert json.loads(daemon.cli("status", "--json").stdout)["held"] == []
    finally:
        daemon.close()
