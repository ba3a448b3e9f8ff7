"""The benchmark harness still runs end to end (200 users): every number it reports is produced.

No timing is asserted here: performance is measured by ``make bench`` (docs/performance.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from bench.harness import READ_PAIRS, Bench, BenchResult, _reader_usage, machine_drift
from bench.report import TARGETS, machine, table, write_json

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CYCLES = (
    "first",
    "full_unchanged",
    "incremental_unchanged",
    "incremental_1pct",
    "first_bulk",
    "groups_first",
    "resource_baseline_groups",
    "groups_unchanged",
    "licenses_first",
    "resource_baseline_licenses",
    "licenses_unchanged",
    "drift_first",
    "drift_never",
    "drift_full",
)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> BenchResult:
    workdir = tmp_path_factory.mktemp("bench")
    return Bench(200, 4, workdir, say=lambda _line: None).run()


@pytest.mark.server
def test_every_cycle_is_measured(result: BenchResult) -> None:
    """Each cycle ran in its own process and reports its time, peak memory and requests."""
    assert set(result.cycles) == set(CYCLES)
    for cycle in result.cycles.values():
        assert cycle.exit_code == 0
        assert 0 < cycle.cycle_seconds <= cycle.process_seconds
        assert cycle.peak_rss_mb > 10
        assert cycle.users_read > 0 or cycle.kind == "incremental"
    first, bulk = result.cycles["first"], result.cycles["first_bulk"]
    assert first.count("create") == bulk.count("create") == 200
    assert first.requests_by_method["POST"] == 200
    assert bulk.requests_by_method["POST"] == 2  # two Bulk requests of 100 creates
    assert result.cycles["full_unchanged"].requests == 0
    assert result.cycles["incremental_1pct"].count("update") == 2
    assert result.cycles["groups_first"].count("create_group") == 2  # one group per 100 users
    assert result.cycles["licenses_first"].count("assign_license") == 200
    assert result.cycles["groups_unchanged"].requests == result.cycles["resource_baseline_groups"].requests
    assert (
        result.cycles["licenses_unchanged"].requests == result.cycles["resource_baseline_licenses"].requests
    )


@pytest.mark.server
def test_sync_without_full_is_incremental(result: BenchResult) -> None:
    """Once a full cycle stored a watermark, the no-change and 1 % cycles are incremental ones."""
    assert result.cycles["incremental_unchanged"].kind == "incremental"
    assert result.cycles["incremental_1pct"].kind == "incremental"
    assert not [note for note in result.notes if "incremental" in note]


@pytest.mark.server
def test_floors_and_ratios_are_reported(result: BenchResult, tmp_path: Path) -> None:
    """The POST and ldapsearch floors are measured, every ratio is computed, and the table and
    the JSON file carry them with the machine and each target's verdict."""
    assert result.post_floor is not None and result.post_floor.failed == 0
    assert result.post_floor_bulk_emulator is not None and result.post_floor_bulk_emulator.failed == 0
    assert result.read_floor is not None and result.read_floor.seconds > 0
    assert len(result.read_pairs) == READ_PAIRS  # the reported pair is the median of the pairs
    ratios_of_pairs = sorted(cycle / floor for cycle, floor in result.read_pairs)
    reported = result.cycles["full_unchanged"].cycle_seconds / result.read_floor.seconds
    assert reported == ratios_of_pairs[len(ratios_of_pairs) // 2]
    data = result.as_json()
    assert all(value is not None for value in data["ratios"].values())
    info = machine()
    text = table(result, info)
    for label in ("first cycle", "full cycle, nothing changed", "POST floor", "ldapsearch floor", "targets"):
        assert label in text
    written = json.loads(write_json(result, info, tmp_path).read_text())
    assert written["machine"]["nproc"] == info["nproc"]
    assert set(written["targets"]) == set(TARGETS)
    assert all(target["value"] is not None for target in written["targets"].values())


def test_the_reader_process_usage_is_read_from_the_cycle_log(tmp_path: Path) -> None:
    """A cycle whose full read ran in a reader process reports its peak memory and CPU (from the
    ``directory.reader`` event it logs); a cycle without one reports none."""
    log = tmp_path / "cycle.log"
    log.write_text(
        '{"event": "directory.read", "users": 3}\n'
        '{"event": "directory.reader", "peak_mb": 81.5, "cpu_seconds": 2.25, "log_level": "info"}\n'
        '{"event": "webex.requests", "get": 1}\n'
    )
    assert _reader_usage(log) == {"reader_peak_mb": 81.5, "reader_cpu_seconds": 2.25}
    log.write_text('{"event": "directory.read", "users": 3}\n')
    assert _reader_usage(log) == {}


@pytest.mark.server
def test_a_machine_that_changed_speed_between_first_cycle_and_floor_is_noted(result: BenchResult) -> None:
    """The same creates cost the emulator the same CPU; when they do not (the machine was busier
    during one), the run carries a note saying the first-cycle ratio is unreliable."""
    first = result.cycles["first"]
    assert result.post_floor is not None
    floor = replace(result.post_floor, emulator_cpu_seconds=10.0)
    same = replace(
        result, post_floor=floor, cycles={**result.cycles, "first": replace(first, emulator_cpu_seconds=10.5)}
    )
    slower = replace(
        result, post_floor=floor, cycles={**result.cycles, "first": replace(first, emulator_cpu_seconds=12.2)}
    )
    assert machine_drift(same) == []
    (note,) = machine_drift(slower)
    assert "+22%" in note and "unreliable" in note
