"""``run`` in the background applies directory changes as they arrive (persistent content sync),
without a full cycle, and serves /healthz and /metrics. One daemon for the module; every test
changes its own users."""

from __future__ import annotations

import signal

import pytest

from tests.daemon.helpers import DaemonProcess, free_port, webex_user
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd

pytestmark = pytest.mark.timeout(120)

PEOPLE = "ou=people,dc=example,dc=com"
GROUPS = "ou=groups,dc=example,dc=com"
LOCKED = "000001010000Z"


def mail(company: Company, uid: str) -> str:
    found = company.person(uid).mail
    assert found is not None
    return found


def test_attribute_change_reaches_webex_without_a_full_cycle(
    running: DaemonProcess, shared_slapd: ThrowawaySlapd, module_emulator: EmulatorServer, company: Company
) -> None:
    """A modified mapped attribute is updated in Webex by an incremental cycle."""
    shared_slapd.modify(f"uid=ahart,{PEOPLE}", {"title": "Chief Everything Officer"})
    email = mail(company, "ahart")
    running.wait_until(
        lambda: (webex_user(module_emulator, email) or {}).get("title") == "Chief Everything Officer",
        "the new title in Webex",
    )
    assert running.full_cycles() == 1
    assert running.metric("webex_provisioner_actions_total", action="update", outcome="applied") >= 1


def test_disabled_user_is_disabled_in_webex(
    running: DaemonProcess, shared_slapd: ThrowawaySlapd, module_emulator: EmulatorServer, company: Company
) -> None:
    """Locking a directory account disables its Webex user (disabled_in_directory)."""
    email = mail(company, "kpatel")
    assert (webex_user(module_emulator, email) or {}).get("active") is True
    shared_slapd.modify(f"uid=kpatel,{PEOPLE}", {"pwdAccountLockedTime": LOCKED})
    running.wait_until(lambda: (webex_user(module_emulator, email) or {}).get("active") is False, "a disable")
    assert running.full_cycles() == 1


def test_removal_from_the_targeted_group_disables(
    running: DaemonProcess, shared_slapd: ThrowawaySlapd, module_emulator: EmulatorServer, company: Company
) -> None:
    """A user removed from the targeted group leaves scope and is disabled, without a full cycle."""
    email = mail(company, "gmoore")
    assert (webex_user(module_emulator, email) or {}).get("active") is True
    shared_slapd.modify(f"cn=webex-users,{GROUPS}", [("delete", "member", f"uid=gmoore,{PEOPLE}")])
    running.wait_until(lambda: (webex_user(module_emulator, email) or {}).get("active") is False, "a disable")
    assert running.full_cycles() == 1


def test_addition_to_a_nested_group_creates(
    running: DaemonProcess, shared_slapd: ThrowawaySlapd, module_emulator: EmulatorServer, company: Company
) -> None:
    """A user added to a group nested two levels below the targeted one is created in Webex."""
    email = mail(company, "tnewman")
    assert webex_user(module_emulator, email) is None
    shared_slapd.modify(f"cn=sre,{GROUPS}", [("add", "member", f"uid=tnewman,{PEOPLE}")])
    running.wait_until(lambda: webex_user(module_emulator, email) is not None, "a create")
    assert (webex_user(module_emulator, email) or {}).get("active") is True
    assert running.full_cycles() == 1


def test_deleted_user_is_disabled(
    running: DaemonProcess, shared_slapd: ThrowawaySlapd, module_emulator: EmulatorServer, company: Company
) -> None:
    """A directory user deleted is deprovisioned (disabled by default) by an incremental cycle."""
    email = mail(company, "cwalsh")
    assert (webex_user(module_emulator, email) or {}).get("active") is True
    shared_slapd.delete(f"uid=cwalsh,{PEOPLE}")
    running.wait_until(lambda: (webex_user(module_emulator, email) or {}).get("active") is False, "a disable")
    assert running.full_cycles() == 1


def test_healthz_and_metrics_describe_the_daemon(running: DaemonProcess) -> None:
    """/healthz answers 200 with the last cycle; /metrics counts cycles, actions and Webex requests."""
    status, body = running.health()
    assert status == 200, body
    assert body["status"] == "ok" and body["directory"] == "reachable" and body["webex"] == "reachable"
    assert body["last_cycle"]["outcome"] in ("succeeded", "partial") and body["last_success_at"]
    assert running.metric("webex_provisioner_actions_total", action="create", outcome="applied") >= 50
    assert running.metric("webex_provisioner_cycle_duration_seconds_count", kind="full") == 1
    assert running.metric("webex_provisioner_webex_request_duration_seconds_count") > 0
    assert running.metric("webex_provisioner_last_success_timestamp_seconds") > 0
    assert running.metric("webex_provisioner_up", component="directory") == 1
    assert running.get("/nothing")[0] == 404


def test_second_instance_stands_by_and_sync_is_refused(
    running: DaemonProcess,
    shared_slapd: ThrowawaySlapd,
    module_emulator: EmulatorServer,
    company: Company,
) -> None:
    """While run holds the state store, a second run waits (503, standing by) and sync exits 1."""
    raw = dict(running.raw, schedule={**running.raw["schedule"], "listen": f"127.0.0.1:{free_port()}"})
    second = DaemonProcess(running.folder, raw, shared_slapd, name="standby").start()
    try:
        second.wait_until(lambda: "standing by" in str(second.health()[1].get("reasons")), "a standby answer")
        assert second.health()[0] == 503
        refused = running.cli("sync")
        assert refused.returncode == 1 and "another instance" in refused.stderr
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    finally:
        second.close()
    assert running.health()[0] == 200


def test_listen_address_in_use_is_reported(running: DaemonProcess, shared_slapd: ThrowawaySlapd) -> None:
    """A daemon whose schedule.listen address is taken exits 1 naming the key."""
    clash = DaemonProcess(running.folder, running.raw, shared_slapd, name="clash")
    result = clash.cli("run")
    assert result.returncode == 1 and "schedule.listen" in result.stderr
