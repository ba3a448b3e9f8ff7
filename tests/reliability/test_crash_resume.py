"""Crash safety (docs/reliability.md): the sync process killed with SIGKILL at random points of a
2,000-user first cycle, ten times in a row, then run to completion, converges to exactly the
right Webex organization: every in-scope user once, every link right, nobody deprovisioned."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.company import synthetic_ldif
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.slapd import ThrowawaySlapd
from webex_provisioner.state import open_state_store

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

USERS = 2000
KILLS = 10
TOKEN = "crash-test-token-91c2"
# 8 workers and 80 ms per answer: at most ~100 creates/s, so ten runs of at most 3 s each cannot
# finish the 2,000 users and every kill lands in a running cycle.
LATENCY_MS = 80


@pytest.fixture
def directory() -> Iterator[ThrowawaySlapd]:
    with ThrowawaySlapd() as slapd:
        slapd.load_ldif(synthetic_ldif(USERS))
        slapd.start()
        yield slapd


@pytest.fixture
def webex() -> Iterator[EmulatorServer]:
    with EmulatorServer(org_id=ORG_ID, token=TOKEN) as server:
        yield server


def write_config(tmp_path: Path, slapd: ThrowawaySlapd, webex: EmulatorServer) -> Path:
    raw = {
        "directory": {
            "url": slapd.uri,
            "bind_dn": slapd.root_dn,
            "bind_password": "${LDAP_PASSWORD}",
            "base_dn": f"ou=people,{slapd.suffix}",
            "scope": {"groups": [f"cn=webex-users,ou=groups,{slapd.suffix}"]},
        },
        "webex": {
            "org_id": ORG_ID,
            "url": webex.url,
            "token": "${WEBEX_TOKEN}",
            "concurrency": 8,
            "bulk": False,
        },
        "logging": {"level": "warning", "audit_log": str(tmp_path / "audit.log")},
        "state": f"sqlite:///{tmp_path / 'state.db'}",
    }
    path = tmp_path / "webex-provisioner.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_sigkill_ten_times_then_completion_converges(
    directory: ThrowawaySlapd, webex: EmulatorServer, tmp_path: Path
) -> None:
    """Ten SIGKILLs 0.2-3 s into a 2,000-user first cycle, then one run to completion: each
    in-scope user exists exactly once, active; each link's Webex id is the Webex user with that
    e-mail; nothing was disabled or deleted; a create was never sent twice."""
    seed = random.randrange(1 << 30)  # noqa: S311 - kill points, not cryptography
    rng = random.Random(seed)  # noqa: S311
    config = write_config(tmp_path, directory, webex)
    env = {**os.environ, "LDAP_PASSWORD": directory.root_pw, "WEBEX_TOKEN": TOKEN}
    command = [sys.executable, "-m", "webex_provisioner", "--config", str(config)]
    webex.faults.latency_ms = LATENCY_MS
    created_after_kill: list[int] = []
    with (tmp_path / "killed-runs.log").open("wb") as log:
        for _ in range(KILLS):
            process = subprocess.Popen([*command, "sync"], env=env, stdout=log, stderr=log, cwd=tmp_path)
            time.sleep(rng.uniform(0.2, 3.0))
            assert process.poll() is None, f"a run finished before its kill (seed {seed})"
            process.kill()
            process.wait()
            created_after_kill.append(len(webex.users()))
    assert 0 < created_after_kill[-1] < USERS, (created_after_kill, seed)

    webex.faults.latency_ms = 0
    final = subprocess.run(
        [*command, "sync", "--json"], env=env, capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert final.returncode == 0, (final.stdout[-2000:], final.stderr[-2000:], seed)

    users = webex.users()
    names = Counter(u["userName"].lower() for u in users)
    assert len(users) == USERS and set(names.values()) == {1}, seed
    assert set(names) == {f"user{i:06d}@example.com" for i in range(USERS)}
    assert all(u["active"] for u in users)
    assert webex.archived_users() == []
    assert not [r for r in webex.request_log if r[0] in ("DELETE", "PUT")]
    assert not [r for r in webex.request_log if r[0] == "POST" and r[2] == 409], seed
    by_email = {u["userName"].lower(): u for u in users}
    store = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        links = list(store.links())
    finally:
        store.close()
    assert len(links) == USERS
    for link in links:
        assert link.webex_id == by_email[link.email.lower()]["id"], (link, seed)
        assert by_email[link.email.lower()]["externalId"] == link.anchor
    again = subprocess.run(
        [*command, "plan", "--json"], env=env, capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert json.loads(again.stdout)["plan"]["actions"] == []
