"""The pure retry policy: how long to wait, when to give up, when a write may have applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webex_provisioner.webex.retry import (
    Failure,
    RetryPolicy,
    failure_for_status,
    may_have_applied,
    parse_retry_after,
)

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("-3", 0.0),
        ("Fri, 27 Nov 2026 12:00:30 GMT", 30.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Retry-After is read as delta-seconds or an HTTP date; past dates mean now; junk is None."""
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (429, Failure.THROTTLED),
        (423, Failure.THROTTLED),
        (503, Failure.UNAVAILABLE),
        (500, Failure.SERVER_ERROR),
        (502, Failure.SERVER_ERROR),
        (504, Failure.SERVER_ERROR),
        (400, None),
        (404, None),
        (409, None),
    ],
)
def test_failure_for_status(status: int, failure: Failure | None) -> None:
    """429/423 are throttling, 503 unavailable, other 5xx server errors; 4xx are final."""
    assert failure_for_status(status) is failure


def test_throttled_waits_what_the_server_asks() -> None:
    """429/423 wait Retry-After exactly (no jitter), 5 s when missing."""
    policy = RetryPolicy(max_retries=3, max_wait=60, random=lambda: 0.99)
    assert policy.delay(0, Failure.THROTTLED, 12.0) == 12.0
    assert policy.delay(2, Failure.THROTTLED, None) == 5.0
    assert policy.delay(0, Failure.UNAVAILABLE, 3.0) == 3.0


def test_default_wait_never_exceeds_the_cap() -> None:
    """With a cap below 5 s a missing Retry-After waits the cap."""
    assert RetryPolicy(max_wait=2).delay(0, Failure.THROTTLED) == 2


def test_gives_up_when_asked_to_wait_longer_than_the_cap() -> None:
    """A Retry-After beyond max_wait ends the request instead of hammering the server early."""
    assert RetryPolicy(max_wait=60).delay(0, Failure.THROTTLED, 61.0) is None


@pytest.mark.parametrize(
    "failure", [Failure.SERVER_ERROR, Failure.TIMEOUT, Failure.DROPPED, Failure.NOT_SENT, Failure.UNAVAILABLE]
)
def test_backoff_is_exponential_with_full_jitter_and_capped(failure: Failure) -> None:
    """Other failures wait uniform(0, min(cap, base * 2**attempt))."""
    top = RetryPolicy(max_retries=20, max_wait=10, base=0.5, random=lambda: 1.0)
    assert [top.delay(a, failure) for a in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0]
    half = RetryPolicy(max_retries=20, max_wait=10, base=0.5, random=lambda: 0.5)
    assert half.delay(3, failure) == 2.0
    assert RetryPolicy(random=lambda: 0.0).delay(0, failure) == 0.0


def test_gives_up_after_max_retries() -> None:
    """``max_retries`` retries at most, whatever the failure; 0 means never retry."""
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(1, Failure.TIMEOUT) is not None
    assert policy.delay(2, Failure.TIMEOUT) is None
    assert policy.delay(2, Failure.THROTTLED, 1.0) is None
    assert RetryPolicy(max_retries=0).delay(0, Failure.THROTTLED, 1.0) is None


@pytest.mark.parametrize(
    ("failure", "retry_after", "unknown"),
    [
        (Failure.THROTTLED, True, False),
        (Failure.THROTTLED, False, False),
        (Failure.NOT_SENT, False, False),
        (Failure.UNAVAILABLE, True, False),
        (Failure.UNAVAILABLE, False, True),
        (Failure.SERVER_ERROR, False, True),
        (Failure.SERVER_ERROR, True, True),
        (Failure.TIMEOUT, False, True),
        (Failure.DROPPED, False, True),
    ],
)
def test_may_have_applied(failure: Failure, retry_after: bool, unknown: bool) -> None:
    """Only refusals (429/423, a 503 with Retry-After) and unsent requests are known not applied."""
    assert may_have_applied(failure, retry_after=retry_after) is unknown
