"""One benchmark run: the directory, the emulator, the cycles and the floors, in order.

Order (each cycle is a ``webex-provisioner sync --json`` process of its own):

1. emulator A, empty state: the first cycle with single requests, then the POST floor on the
   same emulator (other e-mails, so it does not touch the cycle's users);
2. three times a full cycle with nothing changed, each followed by the ``ldapsearch`` floor (the
   pair with the median ratio is reported);
3. ``sync`` without ``--full`` with nothing changed, then after changing 1 % of the users;
   then the resources beside users (``bench/resources.py``): pushed groups and licences;
4. emulator B (fresh, same command), empty state: the first cycle with ``webex.bulk: true``,
   the cost of a drift check (``bench/resources.py``), then the POST floor on that emulator.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.floors import PostFloor, ReadFloor, floor_bodies, ldapsearch_floor, post_floor
from bench.processes import BenchError, EmulatorProcess, measure
from bench.resources import (
    emulator_licenses,
    group_count,
    group_members,
    measure_drift,
    measure_resources,
    resource_ratios,
)
from webex_provisioner.sandbox import ThrowawaySlapd, synthetic_ldif
from webex_provisioner.sandbox.company import TARGETED_GROUP, synthetic_groups_ldif

ORG_ID = "5e1c0b7a-0000-4000-8000-00000000be0c"
TOKEN = "bench-emulator-token"  # a loopback emulator's token, not a secret
PEOPLE = "ou=people,dc=example,dc=com"
PAGE_SIZE = 1000
CHANGED_EVERY = 100  # 1 % of the users change between the two incremental cycles
READ_PAIRS = 3  # full cycles with nothing changed, each followed by the ldapsearch floor
MAPPING = {
    "email": "mail",
    "firstName": "givenName",
    "lastName": "sn",
    "displayName": "displayName",
    "title": "title",
    "department": "departmentNumber",
    "employeeNumber": "employeeNumber",
    "workPhone": "telephoneNumber",
}

Say = Callable[[str], None]
_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass
class CycleResult:
    """One cycle process: what it did, how long it took, how much memory and how many requests.

    ``cycle_seconds`` is the cycle as the engine times it (start to finish of ``Cycle.run``);
    ``process_seconds`` adds the interpreter start, imports, configuration and opening the state.
    ``cpu_seconds`` is the CPU the cycle process used (with its directory reader process, if it
    had one), ``emulator_cpu_seconds`` the emulator's meanwhile (on 2 cores, the two together bound
    what one run can do). ``reader_peak_mb`` and ``reader_cpu_seconds``: the reader process's own.
    """

    name: str
    kind: str
    exit_code: int
    cycle_seconds: float
    process_seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    emulator_cpu_seconds: float
    users_read: int
    requests: int
    requests_by_method: dict[str, int]
    applied: dict[str, int]
    reader_peak_mb: float | None = None
    reader_cpu_seconds: float | None = None

    def count(self, action: str) -> int:
        return self.applied.get(f"{action}:applied", 0)


@dataclass
class BenchResult:
    users: int
    concurrency: int
    started_at: str
    load_seconds: float = 0.0
    cycles: dict[str, CycleResult] = field(default_factory=dict)
    post_floor: PostFloor | None = None
    post_floor_bulk_emulator: PostFloor | None = None
    read_floor: ReadFloor | None = None
    listing_floor: float | None = None
    """Seconds to read every Webex user with a bare client (``bench.floors.listing_floor``)."""
    read_pairs: list[tuple[float, float]] = field(default_factory=list)
    """(full cycle seconds, ldapsearch seconds) of each pair; the median one is reported."""
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratios"] = ratios(self)
        return data


def ratios(result: BenchResult) -> dict[str, float | None]:
    """The comparisons the targets are stated in (None where a number is missing)."""

    def div(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a is not None and b else None

    def seconds(name: str) -> float | None:
        cycle = result.cycles.get(name)
        return cycle.cycle_seconds if cycle is not None else None

    floor = result.post_floor.seconds if result.post_floor else None
    floor_b = result.post_floor_bulk_emulator.seconds if result.post_floor_bulk_emulator else None
    read = result.read_floor.seconds if result.read_floor else None
    full = result.cycles.get("full_unchanged")
    return {
        "first_over_post_floor": div(seconds("first"), floor),
        "first_throughput_vs_floor": div(floor, seconds("first")),
        "first_bulk_over_post_floor": div(seconds("first_bulk"), floor_b),
        "first_bulk_throughput_vs_floor": div(floor_b, seconds("first_bulk")),
        "full_unchanged_over_ldapsearch": div(seconds("full_unchanged"), read),
        "full_unchanged_process_over_ldapsearch": div(full.process_seconds if full else None, read),
        **resource_ratios(result.cycles, result.users, read, result.listing_floor),
    }


class Bench:
    """The workspace of one run: files under ``workdir``, one slapd, emulators as needed."""

    def __init__(self, users: int, concurrency: int, workdir: Path, say: Say) -> None:
        self.users = users
        self.concurrency = concurrency
        self.workdir = workdir
        self.say = say
        self.result = BenchResult(
            users, concurrency, datetime.now().astimezone().isoformat(timespec="seconds")
        )

    # -- pieces -----------------------------------------------------------------------------

    def config_file(
        self,
        name: str,
        slapd: ThrowawaySlapd,
        emulator: EmulatorProcess,
        *,
        bulk: bool,
        state: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """A configuration (``extra``: more sections) whose state is ``state``'s (default its own)."""
        raw: dict[str, Any] = {
            "directory": {
                "url": slapd.uri,
                "bind_dn": slapd.root_dn,
                "bind_password": "${LDAP_PASSWORD}",
                "base_dn": PEOPLE,
                "scope": {"groups": [TARGETED_GROUP], "nested_groups": True},
                "disabled_filter": "(pwdAccountLockedTime=*)",
                "page_size": PAGE_SIZE,
            },
            "webex": {
                "org_id": ORG_ID,
                "url": emulator.url,
                "token": "${WEBEX_TOKEN}",
                "concurrency": self.concurrency,
                "bulk": bulk,
            },
            "mapping": MAPPING,
            "logging": {
                "format": "json",
                "level": "info",
                "audit_log": str(self.workdir / f"{name}.audit.log"),
            },
            "state": f"sqlite:///{self.workdir / f'{state or name}.db'}",
            **(extra or {}),
        }
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    def cycle(
        self, name: str, config: Path, env: Mapping[str, str], emulator: EmulatorProcess, *args: str
    ) -> CycleResult:
        """Run one ``sync --json`` process and read what it reports."""
        argv = [sys.executable, "-m", "webex_provisioner", "--config", str(config), "sync", "--json", *args]
        self.say(f"  {name}: {' '.join(argv[2:])}")
        emulator_cpu = emulator.cpu_seconds()
        run = measure(
            argv, stdout=self.workdir / f"{name}.json", stderr=self.workdir / f"{name}.log", env=env
        )
        emulator_cpu = emulator.cpu_seconds() - emulator_cpu
        try:
            report = json.loads(run.stdout.read_text())
        except ValueError as exc:
            raise BenchError(
                f"cycle {name} printed no JSON report (exit {run.exit_code}); see {run.stderr}"
            ) from exc
        if report.get("error") or run.exit_code != 0:
            raise BenchError(
                f"cycle {name} failed (exit {run.exit_code}): "
                f"{report.get('error') or report.get('failures')}; see {run.stderr}"
            )
        started = datetime.fromisoformat(report["started_at"])
        finished = datetime.fromisoformat(report["finished_at"])
        requests = _requests(run.stderr)
        result = CycleResult(
            name=name,
            kind=report["kind"],
            exit_code=run.exit_code,
            cycle_seconds=round((finished - started).total_seconds(), 3),
            process_seconds=round(run.seconds, 3),
            peak_rss_mb=round(run.peak_rss / 2**20, 1),
            cpu_seconds=round(run.cpu_seconds, 2),
            emulator_cpu_seconds=round(emulator_cpu, 2),
            users_read=int(report["plan"]["users_read"]),
            requests=sum(requests.values()),
            requests_by_method=requests,
            applied=dict(report.get("applied") or {}),
            **_reader_usage(run.stderr),
        )
        self.result.cycles[name] = result
        self.say(
            f"    {result.kind}: {result.cycle_seconds:.2f} s in the cycle, {result.process_seconds:.2f} s "
            f"process, {result.peak_rss_mb:.0f} MB peak, {result.requests} requests, "
            f"CPU {result.cpu_seconds:.1f} s (emulator {result.emulator_cpu_seconds:.1f} s)"
        )
        return result

    def post_floor(self, emulator: EmulatorProcess) -> PostFloor:
        """The POST floor on ``emulator``, with the emulator's CPU meanwhile."""
        bodies = floor_bodies(self.users)
        self.say(f"  POST floor: {self.users:,} creates, {self.concurrency} threads")
        before = emulator.cpu_seconds()
        floor = post_floor(emulator.scim_url, TOKEN, bodies, self.concurrency)
        floor = replace(floor, emulator_cpu_seconds=round(emulator.cpu_seconds() - before, 2))
        self.say(
            f"    {floor.seconds:.2f} s, {floor.per_second:,.0f}/s, "
            f"emulator CPU {floor.emulator_cpu_seconds:.1f} s"
        )
        return floor

    def change_users(self, slapd: ThrowawaySlapd) -> int:
        """Give every ``CHANGED_EVERY``-th user a new title; returns how many changed."""
        conn = slapd.connect()
        changed = 0
        try:
            stamp = f"Staff Engineer {int(time.time())}".encode()
            for i in range(0, self.users, CHANGED_EVERY):
                conn.modify_s(f"uid=user{i:06d},{PEOPLE}", [(2, "title", [stamp])])  # 2: MOD_REPLACE
                changed += 1
        finally:
            conn.unbind_s()
        return changed

    # -- the run ----------------------------------------------------------------------------

    def run(self) -> BenchResult:
        result = self.result
        with ThrowawaySlapd(workdir=self.workdir / "slapd") as slapd:
            self.say(f"loading {self.users:,} users into slapd (slapadd -q)")
            started = time.perf_counter()
            groups = synthetic_groups_ldif(group_count(self.users), group_members(self.users), self.users)
            slapd.load_ldif(itertools.chain(synthetic_ldif(self.users), groups))
            result.load_seconds = round(time.perf_counter() - started, 2)
            slapd.start()
            password_file = self.workdir / "ldap.pw"
            password_file.write_text(slapd.root_pw)
            password_file.chmod(0o600)
            env = {**_environment(), "LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": TOKEN}
            licenses = emulator_licenses(self.users)
            with EmulatorProcess(
                ORG_ID, TOKEN, self.workdir / "emulator-a.log", licenses=licenses
            ) as emulator:
                config = self.config_file("single", slapd, emulator, bulk=False)
                first = self.cycle("first", config, env, emulator, "--full")
                self._check_created(first, emulator.user_count())
                result.post_floor = self.post_floor(emulator)
                self.read_pairs(slapd, password_file, config, env, emulator)
                unchanged = self.cycle("incremental_unchanged", config, env, emulator)
                changed = self.change_users(slapd)
                self.say(f"  changed the title of {changed:,} users")
                after = self.cycle("incremental_1pct", config, env, emulator)
                if after.count("update") != changed:
                    raise BenchError(
                        f"the cycle after changing {changed} users updated {after.count('update')}"
                    )
                for name, cycle in (("incremental_unchanged", unchanged), ("incremental_1pct", after)):
                    if cycle.kind != "incremental":
                        result.notes.append(
                            f"{name}: 'sync' without --full ran a {cycle.kind} cycle, not an incremental "
                            "one (incremental cycles are not available in this version)"
                        )
                measure_resources(self, slapd, env, emulator)
            with EmulatorProcess(ORG_ID, TOKEN, self.workdir / "emulator-b.log") as emulator:
                config = self.config_file("bulk", slapd, emulator, bulk=True)
                first_bulk = self.cycle("first_bulk", config, env, emulator, "--full")
                self._check_created(first_bulk, emulator.user_count())
                measure_drift(self, slapd, env, emulator)
                result.post_floor_bulk_emulator = self.post_floor(emulator)
        result.notes.extend(machine_drift(result))
        return result

    def read_pairs(
        self,
        slapd: ThrowawaySlapd,
        password_file: Path,
        config: Path,
        env: Mapping[str, str],
        emulator: EmulatorProcess,
    ) -> None:
        """``READ_PAIRS`` times a full cycle with nothing changed, then the ldapsearch floor; the
        pair with the median ratio is the one reported (every pair is kept in ``read_pairs``)."""
        attributes = sorted({"entryUUID", *MAPPING.values()}, key=str.lower)
        pairs: list[tuple[CycleResult, ReadFloor]] = []
        for n in range(1, READ_PAIRS + 1):
            cycle = self.cycle(f"full_unchanged_{n}", config, env, emulator, "--full")
            floor = ldapsearch_floor(
                slapd.uri, slapd.root_dn, password_file, PEOPLE,
                "(objectClass=inetOrgPerson)", attributes, PAGE_SIZE, self.workdir,
            )  # fmt: skip
            ratio = cycle.cycle_seconds / floor.seconds
            self.say(f"  ldapsearch floor: {floor.seconds:.3f} s (full cycle / ldapsearch {ratio:.2f})")
            pairs.append((cycle, floor))
            del self.result.cycles[cycle.name]
        self.result.read_pairs = [(c.cycle_seconds, f.seconds) for c, f in pairs]
        cycle, floor = median_pair(pairs)
        self.result.cycles["full_unchanged"] = replace(cycle, name="full_unchanged")
        self.result.read_floor = floor

    def _check_created(self, cycle: CycleResult, in_webex: int) -> None:
        if cycle.count("create") != self.users or in_webex != self.users:
            raise BenchError(
                f"cycle {cycle.name} created {cycle.count('create')} users and Webex holds {in_webex}; "
                f"expected {self.users}"
            )


DRIFT = 0.10  # the emulator's CPU per create differing more than this between a cycle and its floor


def machine_drift(result: BenchResult) -> list[str]:
    """A note when the emulator needed noticeably more (or less) CPU during the first cycle than
    during the POST floor: the same creates on the same emulator, so the machine (shared with
    others) was slower during one of the two, and their ratio says more about the machine than
    about the engine. (The Bulk cycle sends other requests: nothing to compare.)"""
    cycle, floor = result.cycles.get("first"), result.post_floor
    if cycle is None or floor is None or not cycle.emulator_cpu_seconds or not floor.emulator_cpu_seconds:
        return []
    drift = cycle.emulator_cpu_seconds / floor.emulator_cpu_seconds - 1
    if abs(drift) <= DRIFT:
        return []
    return [
        f"the emulator used {drift:+.0%} CPU during the first cycle compared with the POST floor, for "
        f"the same {floor.users:,} creates: the machine's speed changed between the two, so their "
        "ratio is unreliable in this run; run the benchmark again"
    ]


def median_pair(pairs: Sequence[tuple[CycleResult, ReadFloor]]) -> tuple[CycleResult, ReadFloor]:
    """The (full cycle, ldapsearch floor) pair whose ratio is the median of ``pairs`` (an odd
    number of them): each pair ran back to back, so a moment when the machine was busy weighs
    on both of its numbers, and one unlucky pair does not decide the result."""
    ranked = sorted(pairs, key=lambda pair: pair[0].cycle_seconds / pair[1].seconds)
    return ranked[len(ranked) // 2]


def _environment() -> dict[str, str]:
    """This process's environment without WEBEX_/LDAP_ variables (the children get their own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("WEBEX_", "LDAP_"))}


def _reader_usage(log_file: Path) -> dict[str, float]:
    """Peak memory and CPU of the cycle's directory reader process, if it had one (it logs
    ``directory.reader`` when it ends; see directory.read_process)."""
    for line in reversed(log_file.read_text(errors="replace").splitlines()):
        if '"directory.reader"' not in line:
            continue
        try:
            event = json.loads(line)
            return {
                "reader_peak_mb": float(event["peak_mb"]),
                "reader_cpu_seconds": float(event["cpu_seconds"]),
            }
        except (ValueError, KeyError, TypeError):
            continue
    return {}


def _requests(log_file: Path) -> dict[str, int]:
    """The request counts a cycle logged when it closed its Webex client (``webex.requests``)."""
    for line in reversed(log_file.read_text(errors="replace").splitlines()):
        if '"webex.requests"' not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        return {m: int(event[m.lower()]) for m in _METHODS if isinstance(event.get(m.lower()), int)}
    return {}
