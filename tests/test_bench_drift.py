"""``make bench-drift`` still runs end to end (200 users, one pair): the no-op full cycle with
``drift: {check: full}`` lists Webex once per page and finds no drift, and every number of the
report is produced. No timing is asserted: docs/performance.md has the measurements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.drift import DriftBench, table, write_json

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.timeout(240)]


def test_the_drift_benchmark_measures_both_cycles_and_their_requests(tmp_path: Path) -> None:
    """The first check and both cycles of the pair run; the ones with the check send one GET per
    page of users (200 users: one page) and the other none; the table and the JSON file carry
    the verdicts and the first check."""
    result = DriftBench(200, tmp_path / "work", lambda _line: None, pairs=1).run()
    [(never, full)] = result.pairs
    assert never.requests == 0 and full.requests_by_method == {"GET": 1} and full.applied == {}
    summary = result.summary()
    assert summary["pages"] == 1 and summary["requests_met"] is True
    assert summary["ratio"] == round(full.cycle_seconds / never.cycle_seconds, 3)
    assert "full / never" in table(result) and "first check" in table(result)
    assert result.first_check is not None and result.first_check.requests_by_method == {"GET": 1}
    written = json.loads(write_json(result, tmp_path / "results").read_text())
    assert written["summary"] == summary and len(written["pairs"]) == 1
    assert written["first_check"]["name"] == "drift_first_check"
