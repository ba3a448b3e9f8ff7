"""``run`` rides out a directory restart and a Webex outage without deprovisioning anyone, stops
cleanly on SIGTERM in the middle of a cycle, and polls modifyTimestamp where there is no syncprov."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.conftest import new_daemon
from tests.daemon.helpers import DaemonProcess, webex_user
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(180)

PEOPLE = "ou=people,dc=example,dc=com"


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.close()


def expected_users(company: Company) -> set[str]:
    """E-mails of the in-scope, enabled Example Corp people who have one."""
    return {
        p.mail.lower()
        for p in company.people
        if p.uid in company.in_scope - company.disabled and p.mail is not None
    }


def title_of(emulator: EmulatorServer, email: str) -> str | None:
    return (webex_user(emulator, email) or {}).get("title")


def test_directory_restart_is_ridden_out(
    tmp_path: Path,
    own_slapd: ThrowawaySlapd,
    clean_emulator: EmulatorServer,
    company: Company,
    daemons: list[DaemonProcess],
) -> None:
    """With slapd down, /healthz says so and nobody is deprovisioned; once back, changes flow again."""
    daemon = new_daemon(tmp_path, own_slapd, clean_emulator, company).start()
    daemons.append(daemon)
    daemon.wait_healthy()
    own_slapd.stop()
    daemon.wait_until(lambda: daemon.health()[1].get("directory") == "unreachable", "the outage in /healthz")
    assert daemon.health()[0] == 503
    own_slapd.start()
    own_slapd.modify(f"uid=ahart,{PEOPLE}", {"title": "Back Online"})
    email = company.person("ahart").mail or ""
    daemon.wait_until(
        lambda: title_of(clean_emulator, email) == "Back Online", "the change after the restart"
    )
    daemon.wait_healthy()
    assert {u["userName"].lower() for u in clean_emulator.users() if u["active"]} == expected_users(company)
    assert daemon.metric("webex_provisioner_actions_total", action="disable", outcome="applied") == 0


def test_webex_outage_is_ridden_out(
    tmp_path: Path,
    own_slapd: ThrowawaySlapd,
    own_emulator: EmulatorServer,
    company: Company,
    daemons: list[DaemonProcess],
) -> None:
    """A change made while Webex is down reaches Webex once it is back; /healthz reported the outage."""
    daemon = new_daemon(tmp_path, own_slapd, own_emulator, company).start()
    daemons.append(daemon)
    daemon.wait_healthy()
    own_emulator.stop()
    own_slapd.modify(f"uid=mobrien,{PEOPLE}", {"title": "VP Sales, EMEA"})
    daemon.wait_until(lambda: daemon.health()[1].get("webex") == "unreachable", "the outage in /healthz")
    assert daemon.health()[0] == 503
    own_emulator.start()
    email = company.person("mobrien").mail or ""
    daemon.wait_until(
        lambda: title_of(own_emulator, email) == "VP Sales, EMEA", "the change after the outage"
    )
    daemon.wait_healthy()
    assert {u["userName"].lower() for u in own_emulator.users() if u["active"]} == expected_users(company)


def test_sigterm_mid_cycle_leaves_a_state_the_next_cycle_completes(
    tmp_path: Path,
    own_slapd: ThrowawaySlapd,
    clean_emulator: EmulatorServer,
    company: Company,
    daemons: list[DaemonProcess],
) -> None:
    """SIGTERM during the first cycle exits 0 after the actions in flight; the next sync creates the
    rest, each user once."""
    emulator = clean_emulator
    emulator.faults.latency_ms = 100  # 2 workers: about 20 requests/s, so the cycle takes seconds
    daemon = new_daemon(tmp_path, own_slapd, emulator, company, webex={"concurrency": 2}).start()
    daemons.append(daemon)
    daemon.wait_until(lambda: len(emulator.users()) > 0, "the first create")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log()
    created = len(emulator.users())
    assert 0 < created < len(expected_users(company))
    store = open_state_store(daemon.raw["state"])
    try:
        assert store.cycles(1)[0].outcome == "interrupted"
        assert store.lock_owner() is None
    finally:
        store.close()
    emulator.faults.latency_ms = 0
    result = daemon.cli("sync")
    assert result.returncode in (0, 3), result.stderr
    names = Counter(u["userName"].lower() for u in emulator.users())
    assert set(names) == expected_users(company) and max(names.values()) == 1
    assert "failed" not in (tmp_path / "audit.log").read_text()


def test_timestamp_polling_without_syncprov(
    tmp_path: Path, clean_emulator: EmulatorServer, company: Company, daemons: list[DaemonProcess]
) -> None:
    """Against a slapd without syncprov, run polls modifyTimestamp: a change and a group removal
    reach Webex without a full cycle."""
    with ThrowawaySlapd(syncprov=False) as slapd:
        slapd.load_ldif(company.ldif())
        slapd.start()
        daemon = new_daemon(tmp_path, slapd, clean_emulator, company, schedule={"interval": "1s"}).start()
        daemons.append(daemon)
        daemon.wait_healthy()
        assert daemon.health()[1]["change_detection"] == "timestamp"
        slapd.modify(f"uid=dlee,{PEOPLE}", {"title": "Polled"})
        slapd.modify(
            "cn=sales,ou=groups,dc=example,dc=com", [("delete", "uniqueMember", f"uid=rgupta,{PEOPLE}")]
        )
        dlee, rgupta = company.person("dlee").mail or "", company.person("rgupta").mail or ""
        daemon.wait_until(lambda: title_of(clean_emulator, dlee) == "Polled", "the polled change")
        daemon.wait_until(
            lambda: (webex_user(clean_emulator, rgupta) or {}).get("active") is False, "the group removal"
        )
        assert daemon.full_cycles() == 1


def test_run_reads_through_a_reader_process_and_leaves_none_behind(
    tmp_path: Path,
    own_slapd: ThrowawaySlapd,
    clean_emulator: EmulatorServer,
    company: Company,
    daemons: list[DaemonProcess],
) -> None:
    """With directory.read_process: true, run's full cycle reads in a reader process (it logs its
    usage), provisions everyone in scope, applies a later change incrementally, and SIGTERM ends
    run with no reader process left."""
    daemon = new_daemon(
        tmp_path, own_slapd, clean_emulator, company, directory={"read_process": True}
    ).start()
    daemons.append(daemon)
    daemon.wait_healthy()
    assert "directory.reader " in daemon.log_file.read_text()  # the reader process's usage
    assert {u["userName"].lower() for u in clean_emulator.users() if u["active"]} == expected_users(company)
    own_slapd.modify(f"uid=ahart,{PEOPLE}", {"title": "Read Elsewhere"})
    email = company.person("ahart").mail or ""
    daemon.wait_until(lambda: title_of(clean_emulator, email) == "Read Elsewhere", "the change")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log()
    deadline = time.monotonic() + 5
    while readers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert readers() == []


def readers() -> list[str]:
    """Reader processes running on this machine (their command line names ``serve``)."""
    found = subprocess.run(
        ["pgrep", "-f", "directory.reader_child import serve"], capture_output=True, text=True, check=False
    )
    return found.stdout.split()
