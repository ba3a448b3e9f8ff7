"""The retry policy for Webex requests. Pure: no I/O, no sleeping, no clock of its own.

The client classifies each failed attempt (``Failure``), asks ``RetryPolicy.delay`` how long to
wait before the next attempt (``None``: give up), and asks ``may_have_applied`` whether a request
that is not idempotent (a POST create) may have taken effect, in which case it must not be sent
again blindly: the caller looks the user up by e-mail first.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

DEFAULT_RETRY_AFTER = 5.0
"""Seconds to wait after a 429/423 that carries no usable ``Retry-After``."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


class Failure(StrEnum):
    """Why an attempt produced no usable answer."""

    THROTTLED = "throttled"
    """429 Too Many Requests or 423 Locked: refused before being processed."""
    UNAVAILABLE = "unavailable"
    """503 Service Unavailable."""
    SERVER_ERROR = "server_error"
    """500, 502, 504 and other 5xx: the request may have been processed."""
    NOT_SENT = "not_sent"
    """The connection could not be opened (refused, DNS, TLS, connect or pool timeout)."""
    TIMEOUT = "timeout"
    """The request was (perhaps partly) sent and no answer came in time."""
    DROPPED = "dropped"
    """The connection broke while sending the request or reading the answer."""


def failure_for_status(status: int) -> Failure | None:
    """The retryable failure an HTTP status stands for, or ``None`` when it is final."""
    if status in (423, 429):
        return Failure.THROTTLED
    if status == 503:
        return Failure.UNAVAILABLE
    if status >= 500:
        return Failure.SERVER_ERROR
    return None


def may_have_applied(failure: Failure, *, retry_after: bool) -> bool:
    """Whether a request that failed this way may still have taken effect on the server.

    Throttling (429/423) and a 503 that names a ``Retry-After`` are refusals; a connection that
    was never opened carried nothing. Everything else (a timeout after sending, a dropped
    connection, 500/502/504, a bare 503) leaves the outcome unknown.
    """
    if failure in (Failure.THROTTLED, Failure.NOT_SENT):
        return False
    return not (failure is Failure.UNAVAILABLE and retry_after)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    ``None`` when the header is missing or unreadable. A date in the past gives ``0``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to wait before trying a failed request again.

    * 429/423 and a 503 with ``Retry-After``: wait what the server asks (``DEFAULT_RETRY_AFTER``
      when a 429/423 does not say); give up when it asks for more than ``max_wait``.
    * Other 5xx, timeouts and connection errors: exponential backoff with full jitter,
      ``uniform(0, min(max_wait, base * 2**attempt))``.
    * At most ``max_retries`` retries (so ``max_retries + 1`` attempts).
    """

    max_retries: int = 5
    max_wait: float = 120.0
    base: float = 0.5
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, attempt: int, failure: Failure, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts the retries
        already made), or ``None`` to give up."""
        if attempt >= self.max_retries:
            return None
        if failure is Failure.THROTTLED or (failure is Failure.UNAVAILABLE and retry_after is not None):
            if retry_after is None:
                return min(DEFAULT_RETRY_AFTER, self.max_wait)
            return retry_after if retry_after <= self.max_wait else None
        ceiling = min(self.max_wait, self.base * 2.0**attempt)
        return self.random() * ceiling
