"""``python -m bench.drift [--users N]`` (``make bench-drift``): what a drift check costs a full
cycle with nothing changed (docs/drift.md, docs/performance.md).

One slapd with N users, one emulator: a first cycle creates them (Bulk), a first check compares
every user and keeps what it verified (reported on its own), then ``PAIRS`` times a no-op full
cycle with ``drift: {check: never}`` followed by the same with ``drift: {check: full}``,
each a ``sync --full --json`` process of its own on the same state. The pair with the median
ratio is reported with both cycles' time, peak memory and requests. Targets at 100,000 users:
the check costs at most ``RATIO_TARGET`` times the cycle without it, and sends no more than one
request per page of Webex users. Exit code 0 when the run completed (whether or not the targets
are met), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.harness import ORG_ID, TOKEN, Bench, CycleResult, _environment
from bench.processes import BenchError, EmulatorProcess
from bench.report import machine
from bench.resources import noop_pairs
from webex_provisioner.sandbox import SandboxError, ThrowawaySlapd, synthetic_ldif
from webex_provisioner.webex.client import PAGE_SIZE

RESULTS = Path(__file__).resolve().parent / "results"
PAIRS = 3
RATIO_TARGET = 1.5


@dataclass
class DriftBenchResult:
    users: int
    started_at: str
    pairs: list[tuple[CycleResult, CycleResult]] = field(default_factory=list)
    """(check: never, check: full) of each pair, in the order run."""
    first_check: CycleResult | None = None
    """The first cycle with ``check: full``: every linked user compared, and the fingerprints of
    what it verified kept (the pairs' checks compare only what changed since)."""

    @property
    def pages(self) -> int:
        """The pages of Webex users a listing takes (the client asks for ``PAGE_SIZE``)."""
        return math.ceil(self.users / PAGE_SIZE)

    def median(self) -> tuple[CycleResult, CycleResult]:
        ranked = sorted(self.pairs, key=lambda pair: pair[1].cycle_seconds / pair[0].cycle_seconds)
        return ranked[len(ranked) // 2]

    def summary(self) -> dict[str, Any]:
        never, full = self.median()
        ratio = round(full.cycle_seconds / never.cycle_seconds, 3)
        extra = full.requests - never.requests
        return {
            "users": self.users,
            "never_seconds": never.cycle_seconds,
            "full_seconds": full.cycle_seconds,
            "ratio": ratio,
            "ratio_target": RATIO_TARGET,
            "ratio_met": ratio <= RATIO_TARGET,
            "never_peak_rss_mb": never.peak_rss_mb,
            "full_peak_rss_mb": full.peak_rss_mb,
            "never_requests": never.requests,
            "full_requests": full.requests,
            "pages": self.pages,
            "requests_met": extra <= self.pages,
            "first_check_seconds": None if self.first_check is None else self.first_check.cycle_seconds,
            "first_check_ratio": (
                None
                if self.first_check is None
                else round(self.first_check.cycle_seconds / never.cycle_seconds, 3)
            ),
        }


class DriftBench:
    """One run: the directory, the emulator, the first cycle and the pairs."""

    def __init__(self, users: int, workdir: Path, say: Any, pairs: int = PAIRS) -> None:
        self.bench = Bench(users, 8, workdir, say=say)
        self.workdir = workdir
        self.say = say
        self.pairs = pairs
        self.result = DriftBenchResult(users, datetime.now().astimezone().isoformat(timespec="seconds"))

    def config(self, slapd: ThrowawaySlapd, emulator: EmulatorProcess, name: str, check: str) -> Path:
        """The benchmark's configuration with ``drift: {check: ...}``, all on one state."""
        path = self.bench.config_file("drift", slapd, emulator, bulk=True)
        raw = yaml.safe_load(path.read_text())
        raw["drift"] = {"check": check}
        own = self.workdir / f"{name}.yaml"
        own.write_text(yaml.safe_dump(raw, sort_keys=False))
        return own

    def run(self) -> DriftBenchResult:
        users = self.result.users
        with ThrowawaySlapd(workdir=self.workdir / "slapd") as slapd:
            self.say(f"loading {users:,} users into slapd (slapadd -q)")
            slapd.load_ldif(synthetic_ldif(users))
            slapd.start()
            env = {**_environment(), "LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": TOKEN}
            with EmulatorProcess(ORG_ID, TOKEN, self.workdir / "emulator.log") as emulator:
                never = self.config(slapd, emulator, "never", "never")
                full = self.config(slapd, emulator, "full", "full")
                first = self.bench.cycle("first", never, env, emulator, "--full")
                if first.count("create") != users:
                    raise BenchError(f"the first cycle created {first.count('create')} users, not {users}")
                self.result.first_check = self.bench.cycle("drift_first_check", full, env, emulator, "--full")
                self.result.pairs = drift_pairs(self.bench, (never, full), env, emulator, self.pairs)
        return self.result


def drift_pairs(
    bench: Bench, configs: tuple[Path, Path], env: Mapping[str, str], emulator: EmulatorProcess, pairs: int
) -> list[tuple[CycleResult, CycleResult]]:
    """``pairs`` times a no-op full cycle with ``configs[0]`` (``check: never``) then one with
    ``configs[1]`` (``check: full``); a cycle with drift that applies anything is an error."""
    return noop_pairs(bench, ("drift_never", "drift_full"), configs, env, emulator, pairs)


def table(result: DriftBenchResult) -> str:
    s = result.summary()
    lines = [
        f"Drift check, {s['users']:,} users, no-op full cycles (median of {len(result.pairs)} pairs)",
        f"  check: never   {s['never_seconds']:8.2f} s  {s['never_peak_rss_mb']:6.0f} MB  "
        f"{s['never_requests']:>6} requests",
        f"  check: full    {s['full_seconds']:8.2f} s  {s['full_peak_rss_mb']:6.0f} MB  "
        f"{s['full_requests']:>6} requests ({s['pages']} page(s) of Webex users)",
        f"  full / never   {s['ratio']:.2f} (target <= {RATIO_TARGET}: {_verdict(s['ratio_met'])})",
        f"  extra requests {s['full_requests'] - s['never_requests']} "
        f"(target <= {s['pages']}: {_verdict(s['requests_met'])})",
    ]
    if s["first_check_seconds"] is not None:
        lines.append(
            f"  first check    {s['first_check_seconds']:8.2f} s  ({s['first_check_ratio']:.2f} x never: "
            "every user compared, what it verified kept)"
        )
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def write_json(result: DriftBenchResult, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"drift-{result.users}-{datetime.now():%Y%m%dT%H%M%S}.json"
    data = {
        "summary": result.summary(),
        "pairs": [[asdict(never), asdict(full)] for never, full in result.pairs],
        "first_check": None if result.first_check is None else asdict(result.first_check),
        "machine": machine(),
        "started_at": result.started_at,
    }
    path.write_text(json.dumps(data, indent=2))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drift",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=10_000, help="directory users to load (default 10,000)")
    parser.add_argument("--pairs", type=int, default=PAIRS, help=f"pairs of cycles (default {PAIRS})")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON file")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="webex-provisioner-bench-drift-"))
    try:
        result = DriftBench(args.users, workdir, _say, args.pairs).run()
    except (BenchError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"the work directory {workdir} is kept for a look", file=sys.stderr)
        return 1
    print(table(result))
    print(f"\nresults written to {write_json(result, args.results)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
