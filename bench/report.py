"""The benchmark's outputs: the machine it ran on, a table for people, a JSON file for later."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from bench.harness import BenchResult, CycleResult, ratios

TARGET_USERS = 100_000
# name -> (what, limit, how to compare); the project's performance targets at 100,000 users.
TARGETS = {
    "full_unchanged_over_ldapsearch": ("full cycle, nothing changed / ldapsearch", 4.0, "<="),
    "incremental_unchanged_seconds": ("incremental cycle, nothing changed (s)", 0.5, "<"),
    "peak_rss_mb": ("peak memory of any cycle, engine process (MB)", 250.0, "<"),
    "first_throughput_vs_floor": ("first cycle throughput / POST floor", 0.7, ">="),
    "first_bulk_throughput_vs_floor": ("first cycle with Bulk throughput / POST floor", 1.0, ">"),
    "groups_first_requests_over_bound": (
        "first group push: requests / (groups + memberships/100)",
        1.0,
        "<=",
    ),
    "groups_unchanged_over_ldapsearch": ("full cycle, nothing changed, with groups / ldapsearch", 4.0, "<="),
    "groups_unchanged_over_full": ("full cycle, nothing changed, with groups / without", 1.25, "<="),
    "licenses_unchanged_over_full": ("full cycle, nothing changed, with licences / without", 1.25, "<="),
    "licenses_unchanged_extra_requests": ("licence requests of a full cycle, nothing changed", 0.0, "<="),
    "drift_full_over_never": ("full cycle, nothing changed, drift check full / never", 1.5, "<="),
    "drift_full_over_floor": ("drift check full / longer of (check never, Webex listing floor)", 1.5, "<="),
    "drift_requests_over_pages": ("requests of the drift check / pages of Webex users", 1.0, "<="),
}


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model, OS, Python, slapd: what the numbers depend on."""
    cpu = "unknown"
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
            break
    try:
        slapd = subprocess.run(["slapd", "-VV"], capture_output=True, text=True, check=False, timeout=10)
        version = (slapd.stderr or slapd.stdout).strip().splitlines()
        slapd_version = version[0].strip() if version else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        slapd_version = "unknown"
    return {
        "nproc": os.cpu_count(),
        "memory": memory,
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "slapd": slapd_version,
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def target_values(result: BenchResult) -> dict[str, float | None]:
    computed = ratios(result)
    incremental = result.cycles.get("incremental_unchanged")
    return {
        "full_unchanged_over_ldapsearch": computed["full_unchanged_over_ldapsearch"],
        "incremental_unchanged_seconds": (
            incremental.cycle_seconds if incremental and incremental.kind == "incremental" else None
        ),
        "peak_rss_mb": max((c.peak_rss_mb for c in result.cycles.values()), default=None),
        "first_throughput_vs_floor": computed["first_throughput_vs_floor"],
        "first_bulk_throughput_vs_floor": computed["first_bulk_throughput_vs_floor"],
        **{name: computed[name] for name in RESOURCE_TARGETS},
    }


RESOURCE_TARGETS = (
    "groups_first_requests_over_bound",
    "groups_unchanged_over_ldapsearch",
    "groups_unchanged_over_full",
    "licenses_unchanged_over_full",
    "licenses_unchanged_extra_requests",
    "drift_full_over_never",
    "drift_full_over_floor",
    "drift_requests_over_pages",
)


def targets(result: BenchResult) -> dict[str, dict[str, Any]]:
    """Each target with its value and whether it is met (``None``: not measured)."""
    values = target_values(result)
    checked: dict[str, dict[str, Any]] = {}
    for name, (what, limit, op) in TARGETS.items():
        value = values[name]
        met = None
        if value is not None:
            met = {"<=": value <= limit, "<": value < limit, ">=": value >= limit, ">": value > limit}[op]
        checked[name] = {"what": what, "value": value, "target": f"{op} {limit:g}", "met": met}
    return checked


_ROWS = (
    ("first", "first cycle (empty Webex, empty state)"),
    ("first_bulk", "first cycle, webex.bulk: true"),
    ("full_unchanged", "full cycle, nothing changed"),
    ("incremental_unchanged", "sync, nothing changed"),
    ("incremental_1pct", "sync, 1 % of users changed"),
    ("groups_first", "first push of the groups"),
    ("resource_baseline_groups", "full, unchanged (before groups)"),
    ("groups_unchanged", "full, unchanged, with groups"),
    ("licenses_first", "first licence assignments"),
    ("resource_baseline_licenses", "full, unchanged (before licences)"),
    ("licenses_unchanged", "full, unchanged, with licences"),
    ("drift_first", "full, unchanged, first drift check"),
    ("drift_never", "full, unchanged, drift check never"),
    ("drift_full", "full, unchanged, drift check full"),
)


def table(result: BenchResult, info: dict[str, Any]) -> str:
    """The results as a fixed-width text table, with floors, ratios and targets."""
    n = result.users
    lines = [
        f"webex-provisioner benchmark: {n:,} users, concurrency {result.concurrency}, {result.started_at}",
        f"machine: {info['nproc']} cores, {info['memory']}, {info['cpu']}; Python {info['python']}; "
        f"{info['slapd']}",
        f"slapadd -q of {n:,} users: {result.load_seconds:.2f} s",
        "",
        f"{'cycle':<40} {'kind':<12} {'cycle s':>8} {'process s':>9} {'users/s':>9} "
        f"{'requests':>9} {'peak MB':>8} {'reader MB':>9}",
    ]
    for name, label in _ROWS:
        cycle = result.cycles.get(name)
        if cycle is None:
            continue
        lines.append(_row(label, cycle))
    lines.append("")
    floor, floor_b, read = result.post_floor, result.post_floor_bulk_emulator, result.read_floor
    if floor:
        lines.append(
            f"POST floor (emulator A): {floor.users:,} creates in {floor.seconds:.2f} s = "
            f"{floor.per_second:,.0f}/s with {floor.concurrency} threads ({floor.failed} failed)"
        )
    if floor_b:
        lines.append(
            f"POST floor (emulator B): {floor_b.users:,} creates in {floor_b.seconds:.2f} s = "
            f"{floor_b.per_second:,.0f}/s with {floor_b.concurrency} threads ({floor_b.failed} failed)"
        )
    if read:
        lines.append(f"ldapsearch floor: {read.seconds:.3f} s")
    if result.listing_floor is not None:
        lines.append(
            f"Webex listing floor (every user, page by page, bare client): {result.listing_floor:.2f} s"
        )
    if result.read_pairs:
        pairs = ", ".join(
            f"{cycle:.2f} s / {floor:.3f} s = {cycle / floor:.2f}" for cycle, floor in result.read_pairs
        )
        lines.append(
            f"full cycle / ldapsearch, back to back ({len(result.read_pairs)} pairs; "
            f"the median one above): {pairs}"
        )
    computed = ratios(result)
    lines.append("")
    lines.append("ratios: " + ", ".join(f"{k} {v}" for k, v in computed.items() if v is not None))
    scale = "" if n == TARGET_USERS else f" (the targets are stated at {TARGET_USERS:,} users)"
    lines.append(f"targets{scale}:")
    for target in targets(result).values():
        mark = {True: "met", False: "NOT met", None: "not measured"}[target["met"]]
        value = "-" if target["value"] is None else f"{target['value']:g}"
        lines.append(f"  {target['what']:<48} {value:>8}  target {target['target']:<8} {mark}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def _row(label: str, cycle: CycleResult) -> str:
    created = cycle.count("create")
    rate = f"{created / cycle.cycle_seconds:,.0f}" if created and cycle.cycle_seconds else "-"
    reader = "-" if cycle.reader_peak_mb is None else f"{cycle.reader_peak_mb:.0f}"
    return (
        f"{label:<40} {cycle.kind:<12} {cycle.cycle_seconds:>8.2f} {cycle.process_seconds:>9.2f} "
        f"{rate:>9} {cycle.requests:>9,} {cycle.peak_rss_mb:>8.0f} {reader:>9}"
    )


def write_json(result: BenchResult, info: dict[str, Any], directory: Path) -> Path:
    """``bench/results/bench-<users>-<time>.json``: every number, the machine, the targets."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = result.started_at.replace(":", "").replace("-", "")[:15]
    path = directory / f"bench-{result.users}-{stamp}.json"
    data = {"machine": info, **result.as_json(), "targets": targets(result)}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path
