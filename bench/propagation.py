"""How fast a directory change reaches Webex, and what an incremental cycle costs.

    python -m bench.propagation                   # everything (about 6 minutes on 2 cores)
    python -m bench.propagation --skip-poll       # without the 5 s polling run (about 2 minutes)
    python -m bench.propagation --changes 20 --big 20000

1. **Propagation, persistent content sync.** ``webex-provisioner run`` (a child process, default
   settings: ``batch_delay`` 0.5 s) against a slapd with syncprov holding ``--users`` users and
   the emulator (in this process). ``--changes`` times, after a random pause: replace one user's
   ``title`` over LDAP, then poll the emulator every millisecond until the user has it. The
   latency counts from the end of the LDAP modify to the emulator holding the value.
2. **Propagation, polling** every 5 s (``schedule.persist: false``), the same way; the random
   pause (up to the interval) spreads the changes over the polling phase, as real changes are.
3. **An incremental cycle with nothing changed** on a ``--big`` (100,000) user directory whose
   users are all linked already: the state is seeded with one link per user, a full cycle
   confirms nothing is to be done and stores the watermark, then incremental cycles are timed as
   the daemon runs them (one ``Cycle`` and feed, warm) and as a one-off ``sync`` would (a new
   feed each time, cold). Also timed: one changed user, and one user removed from the group.

Prints the numbers; the module is separate from ``python -m bench`` on purpose.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import yaml

from webex_provisioner.config import Config, parse_config
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.logs import configure_logging
from webex_provisioner.engine.wiring import open_engine, open_feed
from webex_provisioner.model import AuditEntry, Link, Outcome
from webex_provisioner.ports import Record
from webex_provisioner.rules.mapping import compile_mapping, desired_user
from webex_provisioner.sandbox import ThrowawaySlapd, synthetic_ldif
from webex_provisioner.sandbox.company import TARGETED_GROUP
from webex_provisioner.service.lease import cycle_lock

ORG_ID = "5e1c0b7a-0000-4000-8000-00000000b0a4"
TOKEN = "propagation-bench-token"  # a loopback emulator's token, not a secret
PEOPLE = "ou=people,dc=example,dc=com"
MAPPING = {"email": "mail", "firstName": "givenName", "lastName": "sn", "title": "title"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def raw_config(folder: Path, slapd: ThrowawaySlapd, webex_url: str, **schedule: Any) -> dict[str, Any]:
    return {
        "directory": {
            "url": slapd.uri,
            "bind_dn": slapd.root_dn,
            "bind_password": slapd.root_pw,
            "base_dn": PEOPLE,
            "scope": {"groups": [TARGETED_GROUP]},
            "page_size": 1000,
        },
        "webex": {"org_id": ORG_ID, "url": webex_url, "token": TOKEN},
        "mapping": MAPPING,
        "safety": {"max_deprovisions": {"count": 1000, "percent": None}},
        "logging": {"level": "warning", "audit_log": str(folder / "audit.log")},
        "state": f"sqlite:///{folder / 'state.db'}",
        "schedule": {"listen": None, **schedule},
    }


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{name}: n={len(ordered)} median {statistics.median(ordered):.3f} s, p95 {p95:.3f} s, "
        f"min {ordered[0]:.3f} s, max {ordered[-1]:.3f} s"
    )


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.001)


# -- 1 and 2: propagation ---------------------------------------------------------------------


def has_title(emulator: EmulatorServer, webex_id: str, value: str) -> Callable[[], bool]:
    return lambda: (emulator.user(webex_id) or {}).get("title") == value


def propagation(users: int, changes: int, *, persist: bool, interval: str, pause: float) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="propagation-") as tmp, ThrowawaySlapd() as slapd:
        folder = Path(tmp)
        slapd.load_ldif(synthetic_ldif(users))
        slapd.start()
        with EmulatorServer(org_id=ORG_ID, token=TOKEN) as emulator:
            raw = raw_config(folder, slapd, emulator.url, persist=persist, interval=interval)
            config_file = folder / "config.yaml"
            config_file.write_text(yaml.safe_dump(raw))
            log = (folder / "run.log").open("wb")
            child = subprocess.Popen(
                [sys.executable, "-m", "webex_provisioner", "--config", str(config_file), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            try:
                wait_for(lambda: len(emulator.users()) >= users, "the first full cycle", timeout=600)
                ids = {u["userName"]: u["id"] for u in emulator.users()}
                conn = slapd.connect()
                latencies = []
                rng = random.Random(4)  # noqa: S311 - pauses and picks, not cryptography
                for i in range(changes):
                    time.sleep(rng.uniform(0, pause))
                    uid = f"user{rng.randrange(users):06d}"
                    webex_id, value = ids[f"{uid}@example.com"], f"Engineer {i}"
                    conn.modify_s(f"uid={uid},{PEOPLE}", [(ldap.MOD_REPLACE, "title", [value.encode()])])
                    started = time.perf_counter()
                    wait_for(has_title(emulator, webex_id, value), f"change {i}")
                    latencies.append(time.perf_counter() - started)
                conn.unbind_s()
                return latencies
            finally:
                child.terminate()
                child.wait(30)
                log.close()


# -- 3: the cost of an incremental cycle --------------------------------------------------------


@contextmanager
def timer(into: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into.append(time.perf_counter() - started)


def seed_links(config: Config) -> tuple[int, dict[str, Link]]:
    """One link per directory user, with exactly what the mapping wants applied."""
    mapping = compile_mapping(config.mapping)
    now = datetime.now(UTC)
    seeded: dict[str, Link] = {}
    with open_engine(config) as engine:
        batch: list[Record] = []
        for user in engine.directory.read_users():
            desired = desired_user(user, mapping, manager_ids={})
            link = Link(
                user.anchor, str(uuid.uuid4()), desired.email, user.dn, applied=dict(desired.attributes)
            )
            entry = AuditEntry(
                "seed", now, user.anchor, link.email, "link", "seed", Outcome.APPLIED, link.webex_id
            )
            batch.append(Record(entry, save_link=link))
            if user.anchor.endswith(("000000000007", "000000000042")):
                seeded[user.anchor] = link
            if len(batch) >= 5000:
                engine.store.record(batch)
                batch = []
        engine.store.record(batch)
        count = sum(1 for _ in engine.store.links())
    return count, seeded


def incremental_cost(big: int, runs: int) -> list[str]:
    lines = []
    with tempfile.TemporaryDirectory(prefix="incremental-") as tmp, ThrowawaySlapd() as slapd:
        folder = Path(tmp)
        started = time.perf_counter()
        slapd.load_ldif(synthetic_ldif(big))
        slapd.start()
        with EmulatorServer(org_id=ORG_ID, token=TOKEN) as emulator:
            config = parse_config(raw_config(folder, slapd, emulator.url))
            links, seeded = seed_links(config)
            lines.append(
                f"setup: {big} users loaded and {links} links seeded in {time.perf_counter() - started:.1f} s"
            )
            for link in seeded.values():  # the users changed below exist in Webex as linked
                emulator.add_user(
                    {
                        "id": link.webex_id,
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": link.email,
                        "emails": [{"value": link.email, "type": "work", "primary": True}],
                        "name": {
                            "givenName": link.applied["firstName"],
                            "familyName": link.applied["lastName"],
                        },
                        "title": link.applied.get("title", ""),
                        "active": True,
                    }
                )
            with open_engine(config) as engine, cycle_lock(engine.store, "bench"):
                cycle, feed = engine.cycle(), open_feed(config, engine.directory)
                assert feed is not None
                full: list[float] = []
                with timer(full):
                    report = cycle.run(apply=True, feed=feed, full=True)
                lines.append(
                    f"full cycle, nothing changed: {full[0]:.2f} s ({report.plan.users_read} users read, "
                    f"{len(report.plan.actions)} actions, directory {report.directory_seconds:.2f} s)"
                )
                warm: list[float] = []
                for _ in range(runs):
                    with timer(warm):
                        report = cycle.run(apply=True, feed=feed)
                    assert report.kind.value == "incremental" and not report.plan.actions, report.error
                lines.append(summary("incremental cycle, nothing changed, warm (run)", warm))
                cold: list[float] = []
                for _ in range(runs):
                    with timer(cold):
                        fresh = open_feed(config, engine.directory)
                        assert fresh is not None
                        report = cycle.run(apply=True, feed=fresh)
                        fresh.close()
                    assert report.kind.value == "incremental" and not report.plan.actions, report.error
                lines.append(summary("incremental cycle, nothing changed, new feed (one-off sync)", cold))
                one: list[float] = []
                changed = next(iter(seeded.values()))
                slapd.modify(changed.dn, {"title": "Principal Engineer"})
                with timer(one):
                    report = cycle.run(apply=True, feed=feed)
                lines.append(f"incremental cycle, one user changed: {one[0]:.3f} s ({report.plan.counts()})")
                group: list[float] = []
                gone = list(seeded.values())[-1]
                slapd.modify(TARGETED_GROUP, [("delete", "member", gone.dn)])
                with timer(group):
                    report = cycle.run(apply=True, feed=feed)
                lines.append(
                    f"incremental cycle, one user removed from the {big}-member group: {group[0]:.3f} s "
                    f"({report.plan.counts()})"
                )
                feed.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.propagation", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=2000, help="directory users for the propagation runs")
    parser.add_argument("--changes", type=int, default=50, help="changes timed per propagation run")
    parser.add_argument("--big", type=int, default=100_000, help="directory users for the cycle cost")
    parser.add_argument("--runs", type=int, default=10, help="incremental cycles timed per variant")
    parser.add_argument("--skip-poll", action="store_true", help="skip the 5 s polling run")
    parser.add_argument("--skip-big", action="store_true", help="skip the incremental cycle cost")
    args = parser.parse_args()
    configure_logging("console", "warning")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    persist = propagation(args.users, args.changes, persist=True, interval="60s", pause=0.3)
    print(summary(f"propagation, persistent content sync ({args.users} users)", persist), flush=True)
    if not args.skip_poll:
        polled = propagation(args.users, args.changes, persist=False, interval="5s", pause=5.0)
        print(summary(f"propagation, polling every 5 s ({args.users} users)", polled), flush=True)
    if not args.skip_big:
        for line in incremental_cost(args.big, args.runs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
