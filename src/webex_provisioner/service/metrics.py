"""The Prometheus metrics of ``run`` (served on /metrics; see docs/daemon.md).

One ``CollectorRegistry`` per daemon, so several can live in one process (tests, benchmarks).
Cycle metrics are updated from each ``CycleReport``; the Webex request metrics are read, when
scraped, from the Webex client's own counters (``CountsRequests.request_stats``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from webex_provisioner.engine.drift import repaired
from webex_provisioner.engine.report import CycleReport, action_status
from webex_provisioner.model import ActionKind
from webex_provisioner.ports import StatsSnapshot

PREFIX = "webex_provisioner"
_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class _WebexRequests(Collector):
    """Webex request counts, latency and 429s, from a client's ``RequestStats``."""

    def __init__(self, stats: Callable[[], StatsSnapshot]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        snapshot = self._stats()
        requests = CounterMetricFamily(
            f"{PREFIX}_webex_requests",
            "Webex HTTP attempts (retries included), by method and status ('none': no answer).",
            labels=["method", "status"],
        )
        for (method, status), count in sorted(snapshot.requests.items()):
            requests.add_metric([method, status], count)
        yield requests
        yield SummaryMetricFamily(
            f"{PREFIX}_webex_request_duration_seconds",
            "Latency of Webex HTTP attempts.",
            count_value=snapshot.total,
            sum_value=snapshot.total_latency,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_webex_throttled", "Webex answers 429 Too Many Requests.", value=snapshot.throttled
        )
        yield CounterMetricFamily(
            f"{PREFIX}_webex_retries", "Webex requests retried.", value=snapshot.retries
        )


class Metrics:
    """Cycles, actions, durations, held actions and the last success, for one daemon."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.cycles = Counter(
            f"{PREFIX}_cycles", "Cycles run, by kind and outcome.", ["kind", "outcome"], registry=registry
        )
        self.actions = Counter(
            f"{PREFIX}_actions", "Actions, by action and outcome.", ["action", "outcome"], registry=registry
        )
        self.cycle_duration = Histogram(
            f"{PREFIX}_cycle_duration_seconds",
            "Duration of cycles, by kind.",
            ["kind"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.directory_read = Histogram(
            f"{PREFIX}_directory_read_duration_seconds",
            "Time a cycle spent reading the directory (the whole scope, or the changes), by kind.",
            ["kind"],
            buckets=_SECONDS,
            registry=registry,
        )
        self.held = Gauge(
            f"{PREFIX}_held_actions", "Actions held by the deprovision guard.", registry=registry
        )
        self.last_success = Gauge(
            f"{PREFIX}_last_success_timestamp_seconds",
            "When the last cycle that succeeded finished (Unix time).",
            registry=registry,
        )
        self.up = Gauge(
            f"{PREFIX}_up",
            "1 when the component answered at the last contact, else 0.",
            ["component"],
            registry=registry,
        )
        self.licenses = Counter(
            f"{PREFIX}_licenses",
            "Licences assigned or reclaimed (applied), by licence and action.",
            ["license", "action"],
            registry=registry,
        )
        self.license_shortfall = Gauge(
            f"{PREFIX}_license_shortfall",
            "Users the last cycle that planned licences left without a licence for lack of free units.",
            ["license"],
            registry=registry,
        )
        self.drift_found = Counter(
            f"{PREFIX}_drift_found",
            "Differences found between Webex and what was applied (docs/drift.md), by kind.",
            ["kind"],
            registry=registry,
        )
        self.drift_repaired = Counter(
            f"{PREFIX}_drift_repaired",
            "Differences set back in Webex (attributes, memberships) or undone (re-creations, "
            "reactivations), by kind.",
            ["kind"],
            registry=registry,
        )
        self.drift_unchecked = Counter(
            f"{PREFIX}_drift_not_concluded",
            "Drift checks that concluded nothing (Webex could not be read completely).",
            registry=registry,
        )
        self._webex: _WebexRequests | None = None

    def watch_webex(self, stats: Callable[[], StatsSnapshot]) -> None:
        """Export the request counters of this Webex client (once)."""
        if self._webex is None:
            self._webex = _WebexRequests(stats)
            self.registry.register(self._webex)

    def observe(self, report: CycleReport, *, held: int) -> None:
        kind = report.kind.value
        self.cycles.labels(kind, report.outcome).inc()
        if report.applied is not None:
            for (action, outcome), count in report.applied.counts.items():
                self.actions.labels(action, outcome).inc(count)
        if report.finished_at is not None:
            self.cycle_duration.labels(kind).observe((report.finished_at - report.started_at).total_seconds())
            if report.error is None:
                self.last_success.set(report.finished_at.timestamp())
        self.directory_read.labels(kind).observe(report.directory_seconds)
        self.held.set(held)
        self._observe_licenses(report)
        self._observe_drift(report)

    def _observe_licenses(self, report: CycleReport) -> None:
        """Licences applied, by licence; the shortfall of the licences the plan looked at."""
        status = action_status(report)
        for action in report.plan.licenses:
            if status(action)[0] != "applied":
                continue
            verb = "assign" if action.kind is ActionKind.ASSIGN_LICENSE else "reclaim"
            for item in action.licenses:
                self.licenses.labels(item.name, verb).inc()
        for row in report.plan.capacity:
            self.license_shortfall.labels(row.name).set(row.shortfall)

    def _observe_drift(self, report: CycleReport) -> None:
        """Drift found and repaired by the cycle, by kind (docs/drift.md)."""
        found = report.drift
        if found is None or report.dry_run:
            return
        if found.error is not None:
            self.drift_unchecked.inc()
            return
        for drift_kind, count in found.found().items():
            self.drift_found.labels(drift_kind.value).inc(count)
        for drift_kind, count in repaired(report).items():
            self.drift_repaired.labels(drift_kind.value).inc(count)

    def reachable(self, component: str, up: bool) -> None:
        self.up.labels(component).set(1 if up else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
