"""Thread-safe request counters of a Webex client, for benchmarks and ``/metrics``; a
snapshot is a ``ports.StatsSnapshot`` (what ``CountsRequests.request_stats`` answers)."""

from __future__ import annotations

import threading
from collections import Counter

from webex_provisioner.ports import NO_ANSWER, StatsSnapshot


class RequestStats:
    """Counts every HTTP attempt (retries included) by method and status, 429s, retries, latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str]] = Counter()
        self._throttled = 0
        self._retries = 0
        self._latency = 0.0

    def record(self, method: str, status: int | None, seconds: float) -> None:
        with self._lock:
            self._requests[(method, str(status) if status is not None else NO_ANSWER)] += 1
            self._latency += seconds
            if status == 429:
                self._throttled += 1

    def retried(self) -> None:
        with self._lock:
            self._retries += 1

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(dict(self._requests), self._throttled, self._retries, self._latency)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._throttled = self._retries = 0
            self._latency = 0.0

    def __repr__(self) -> str:
        snap = self.snapshot()
        return (
            f"RequestStats(requests={snap.total}, throttled={snap.throttled}, retries={snap.retries}, "
            f"avg_latency={snap.avg_latency:.4f}s)"
        )
