"""Fault injection: rate limiting (429 + ``Retry-After``), 5xx, latency and lost responses.

Tests switch faults at runtime from Python (``server.faults.rate_limit = 5``) and use the
deterministic helpers (``fail_next``, ``throttle_next``, ``lose_response_next``) to make exactly
the next requests fail. ``decide`` is asked once per SCIM request, in the server's thread; every
switch is safe to flip from another thread.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Answer ``status`` instead of serving the request (``retry_after`` seconds, if set)."""

    status: int
    detail: str
    retry_after: int | None = None


@dataclass(frozen=True)
class LostResponse:
    """Serve the write, then wait ``delay`` seconds and answer ``status`` instead of the real
    response; ``status`` 0 closes the connection without an answer."""

    status: int
    delay: float


@dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    delay: float = 0.0
    refusal: Refusal | None = None
    lost: LostResponse | None = None


class Faults:
    """The fault switches of one emulator. All off by default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - fault injection, not cryptography
        self.reset()

    def reset(self) -> None:
        """Turn every fault off and forget the queued ones."""
        with self._lock:
            self._rate_limit: int | None = None
            self.rate_limit_retry_after = 1
            self._fail_rate = 0.0
            self.fail_status = 503
            self._latency_ms = 0
            self._window: deque[float] = deque()
            self._failures: deque[Refusal] = deque()
            self._lost: deque[LostResponse] = deque()

    @property
    def rate_limit(self) -> int | None:
        """At most this many SCIM requests per second (sliding window); more answer 429. ``None``: off."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("rate_limit must be at least 1 request per second, or None")
        with self._lock:
            self._rate_limit = value
            self._window.clear()

    @property
    def fail_rate(self) -> float:
        """The fraction (0.0-1.0) of SCIM requests answered with ``fail_status`` (503) at random."""
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError("fail_rate must be between 0.0 and 1.0")
        self._fail_rate = value

    @property
    def latency_ms(self) -> int:
        """Milliseconds added before every SCIM request is served."""
        return self._latency_ms

    @latency_ms.setter
    def latency_ms(self, value: int) -> None:
        if value < 0:
            raise ValueError("latency_ms cannot be negative")
        self._latency_ms = value

    def seed(self, seed: int) -> None:
        """Make ``fail_rate`` draw a repeatable sequence."""
        with self._lock:
            self._random.seed(seed)

    def fail_next(self, n: int = 1, status: int = 503, retry_after: int | None = None) -> None:
        """The next ``n`` SCIM requests answer ``status`` without being served."""
        refusal = Refusal(status, f"injected failure ({status})", retry_after)
        with self._lock:
            self._failures.extend([refusal] * n)

    def throttle_next(self, n: int = 1, retry_after: int = 1) -> None:
        """The next ``n`` SCIM requests answer 429 with ``Retry-After: retry_after``."""
        refusal = Refusal(429, "too many requests (injected)", retry_after)
        with self._lock:
            self._failures.extend([refusal] * n)

    def lose_response_next(self, n: int = 1, status: int = 504, delay: float = 0.0) -> None:
        """The next ``n`` SCIM writes are applied, but the client gets ``status`` (after ``delay``
        seconds) instead of the real answer; ``status=0`` drops the connection instead."""
        with self._lock:
            self._lost.extend([LostResponse(status, delay)] * n)

    @property
    def pending(self) -> int:
        """How many queued one-shot faults are still waiting for a request."""
        with self._lock:
            return len(self._failures) + len(self._lost)

    def decide(self, is_write: bool, now: float | None = None) -> Decision:
        """The faults for one SCIM request (``is_write``: POST/PUT/PATCH/DELETE)."""
        now = time.monotonic() if now is None else now
        delay = self._latency_ms / 1000
        with self._lock:
            if self._failures:
                return Decision(delay, self._failures.popleft())
            if self._rate_limit is not None:
                window = self._window
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= self._rate_limit:
                    wait = max(self.rate_limit_retry_after, math.ceil(window[0] + 1.0 - now))
                    return Decision(delay, Refusal(429, "too many requests", wait))
                window.append(now)
            if self._fail_rate and self._random.random() < self._fail_rate:
                status = self.fail_status
                return Decision(delay, Refusal(status, f"service unavailable (injected {status})"))
            lost = self._lost.popleft() if is_write and self._lost else None
        return Decision(delay, None, lost)
