"""Webex misbehaving during a cycle (429 storms, random 503s, slow answers, timeouts): the cycle
finishes, every user ends correct, and no create is ever sent twice blindly."""

from __future__ import annotations

import pytest

from tests.conftest import World
from tests.reliability.conftest import at_writes
from tests.reliability.helpers import assert_converged, audit_entries

pytestmark = pytest.mark.timeout(180)


def _statuses(world: World, status: int) -> int:
    return sum(1 for _method, _path, code in world.emulator.request_log if code == status)


def test_429_storm_is_waited_out_and_the_cycle_finishes(shared_world: World) -> None:
    """Webex allowing 25 requests/s to 8 workers answers a storm of 429s; the engine honours
    Retry-After, finishes the cycle with no failure, and every user ends correct."""
    world = shared_world
    world.configure(webex={"concurrency": 8, "max_retries": 8})
    world.emulator.faults.rate_limit = 25
    report = world.sync()
    assert report.error is None
    assert report.applied is not None and report.applied.failed == 0
    assert _statuses(world, 429) >= 10
    world.emulator.faults.rate_limit = None
    assert_converged(world)


def test_five_percent_503_converges_without_duplicates(shared_world: World) -> None:
    """With 5 % of requests answered 503 (seeded, one worker: the same requests fail every run,
    among them several creates), the cycle finishes with no failure: reads and updates are
    retried, a create answered 503 is looked up by e-mail before it is sent again."""
    world = shared_world
    world.configure(webex={"concurrency": 1, "max_retries": 8})
    world.emulator.faults.seed(3)
    world.emulator.faults.fail_rate = 0.05
    report = world.sync()
    assert report.error is None
    assert report.applied is not None and report.applied.failed == 0
    failed_creates = [r for r in world.emulator.request_log if r[0] == "POST" and r[2] == 503]
    assert len(failed_creates) >= 3
    world.emulator.faults.fail_rate = 0.0
    assert_converged(world)


def test_create_failing_twice_is_looked_up_before_each_resend(
    shared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create answered 503 twice in a row (outcome unknown each time) is looked up by e-mail
    before each resend, and the user is created exactly once."""
    world = shared_world
    at_writes(world.emulator, monkeypatch, {1, 2}, lambda: world.emulator.faults.fail_next(1))
    result = world.cli("sync", "--user", "eva.novak@example.com", "--json")
    assert result.exit_code == 0, result.output
    calls = [(method, status) for method, path, status in world.emulator.request_log]
    assert calls == [
        ("GET", 200),  # the planning lookup
        ("POST", 503),
        ("GET", 200),  # not there: send again
        ("POST", 503),
        ("GET", 200),  # still not there: send again
        ("POST", 201),
    ]
    assert [e.detail for e in audit_entries(world)] == ["create outcome unknown: not found, created again"]
    assert [u["userName"] for u in world.emulator.users()] == ["eva.novak@example.com"]


def test_slow_answers_and_timeouts_converge_without_duplicates(shared_world: World) -> None:
    """Every answer slowed by 20 ms, and 6 creates applied by Webex whose answers come after the
    client's timeout: the timed-out creates are found by e-mail and linked, never sent twice."""
    world = shared_world
    world.configure(webex={"concurrency": 4, "timeout": 0.5})
    world.emulator.faults.latency_ms = 20
    world.emulator.faults.lose_response_next(6, status=504, delay=1.5)
    report = world.sync()
    assert report.error is None
    assert report.applied is not None and report.applied.failed == 0
    details = [e.detail for e in audit_entries(world) if e.action == "create"]
    assert sum("outcome unknown: found and linked" in d for d in details) == 6
    world.emulator.faults.latency_ms = 0
    assert_converged(world)
