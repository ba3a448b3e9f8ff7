"""The daemon's pure parts: the schedule configuration, /healthz answers, backoff, metrics."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import ORG_ID
from webex_provisioner.config import parse_config
from webex_provisioner.engine.executor import ApplyResult
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.errors import ConfigError
from webex_provisioner.model import (
    ActionKind,
    CapacityRow,
    CycleKind,
    LicenseAction,
    LicenseItem,
    Plan,
    Reason,
)
from webex_provisioner.rules.safety import DeprovisionLimits, remaining_limits
from webex_provisioner.service.daemon import MAX_BACKOFF, backoff
from webex_provisioner.service.health import Health
from webex_provisioner.service.metrics import Metrics
from webex_provisioner.webex.stats import RequestStats

BASE: dict[str, Any] = {
    "directory": {"url": "ldap://127.0.0.1:389", "base_dn": "dc=example,dc=com"},
    "webex": {"org_id": ORG_ID, "token": "t"},
}
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
STANDING_BY = "standing by: another instance holds the cycle lock of this state store"


def test_schedule_defaults() -> None:
    """Without a schedule: section, run cycles every 60 s, fully every 24 h, on 127.0.0.1:9464."""
    schedule = parse_config(BASE).schedule
    assert schedule.interval == timedelta(seconds=60) and schedule.full_every == timedelta(hours=24)
    assert schedule.listen_at() == ("127.0.0.1", 9464) and schedule.persist == "auto"
    assert schedule.batch_delay == timedelta(seconds=0.5)
    assert parse_config(BASE).directory.change_detection == "auto"


def test_schedule_accepts_durations_and_ipv6() -> None:
    """Durations take ms and fractions; listen takes [::1]:PORT; null turns the server off."""
    raw = {
        **BASE,
        "schedule": {"interval": "5s", "batch_delay": "250ms", "listen": "[::1]:9000", "persist": False},
    }
    schedule = parse_config(raw).schedule
    assert schedule.batch_delay == timedelta(milliseconds=250) and schedule.listen_at() == ("::1", 9000)
    assert parse_config({**BASE, "schedule": {"listen": None}}).schedule.listen_at() is None


def test_schedule_problems_are_named() -> None:
    """Bad schedule values are each reported with their key and the fix."""
    raw = {
        **BASE,
        "schedule": {"interval": "0s", "listen": "9464", "persist": "sometimes", "batch_delay": "2m"},
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    text = caught.value.message
    for key in ("schedule.interval", "schedule.listen", "schedule.persist", "schedule.batch_delay"):
        assert key in text
    assert "HOST:PORT" in text and "auto, true or false" in text


def report(*, error: str | None = None, kind: CycleKind = CycleKind.INCREMENTAL) -> CycleReport:
    return CycleReport("c1", kind, NOW, dry_run=False, error=error, finished_at=NOW + timedelta(seconds=2))


def test_healthz_is_503_until_a_cycle_succeeds() -> None:
    """/healthz says 503 before any cycle, 200 after a good one, 503 after a failure."""
    health = Health()
    status, body = health.answer()
    assert status == 503 and body["reasons"] == ["no cycle has finished yet"]
    health.cycle_finished(report())
    assert health.answer()[0] == 200
    health.cycle_finished(report(error="the directory is down"))
    status, body = health.answer()
    assert status == 503 and body["reasons"] == ["the last cycle (incremental) failed"]
    assert body["last_cycle"]["outcome"] == "failed"
    assert body["last_success_at"] == (NOW + timedelta(seconds=2)).isoformat()


def test_healthz_reports_an_unreachable_component_and_standby() -> None:
    """An unreachable Webex or a standby role makes /healthz 503 with the reason."""
    health = Health()
    health.cycle_finished(report())
    health.reachable("webex", "no answer")
    status, body = health.answer()
    assert status == 503 and body["webex"] == "unreachable" and body["directory"] == "reachable"
    assert body["reasons"] == ["webex unreachable"]
    health.reachable("webex", None)
    health.standby("host:42")
    assert health.answer()[1]["reasons"] == [
        "standing by: another instance holds the cycle lock of this state store"
    ]


def test_healthz_never_shows_error_text_urls_dns_or_host_names() -> None:
    """Whoever can reach /healthz learns the status and its kind of reason, never the error
    text (URLs, DNs, host names): those are in 'status' and the logs."""
    error = (
        "searching users under ou=people,dc=corp,dc=example at ldap://dc1.corp.example:389 failed: "
        "Can't contact LDAP server"
    )
    health = Health()
    health.cycle_finished(report(error=error))
    health.reachable("directory", error)
    health.reachable("webex", "https://webex-proxy.corp.example refused")
    health.standby("sync-host-7.corp.example:4242")
    text = json.dumps(health.answer()[1])
    for secret in ("dc=corp", "dc1.corp.example", "webex-proxy", "sync-host-7", "contact LDAP"):
        assert secret not in text
    assert health.answer()[1]["reasons"] == [
        STANDING_BY,
        "the last cycle (incremental) failed",
        "directory unreachable",
        "webex unreachable",
    ]


def test_backoff_doubles_up_to_a_minute() -> None:
    """Retries wait about 1, 2, 4, ... seconds, never more than a minute (plus jitter)."""
    assert 0.9 <= backoff(1) <= 1.1 and 3.6 <= backoff(3) <= 4.4
    assert backoff(50) <= MAX_BACKOFF * 1.1


def test_guard_window_subtracts_recent_deprovisions() -> None:
    """Deprovisions of the last hour count against the limit; older ones do not."""
    recent = [NOW - timedelta(minutes=70)] * 3 + [NOW - timedelta(minutes=10)] * 2
    limits = remaining_limits(DeprovisionLimits(count=5, percent=None), 100, recent, NOW)
    assert limits.allowed(100) == 3


def test_metrics_count_cycles_actions_and_webex_requests() -> None:
    """A cycle report and the Webex client's counters show up in the Prometheus text."""
    metrics, stats = Metrics(), RequestStats()
    stats.record("GET", 200, 0.05)
    stats.record("POST", 429, 0.01)
    metrics.watch_webex(stats.snapshot)
    metrics.observe(report(kind=CycleKind.FULL), held=2)
    text = metrics.render().decode()
    assert 'webex_provisioner_cycles_total{kind="full",outcome="succeeded"} 1.0' in text
    assert "webex_provisioner_held_actions 2.0" in text
    assert "webex_provisioner_webex_throttled_total 1.0" in text
    assert 'webex_provisioner_webex_requests_total{method="POST",status="429"} 1.0' in text
    assert "webex_provisioner_webex_request_duration_seconds_count 2.0" in text


def test_metrics_count_licences_by_licence_and_the_shortfall() -> None:
    """Applied licence actions count per licence and action; a failed one does not; the
    shortfall of each licence of the plan is a gauge."""
    messaging = LicenseItem("lic-msg", "Webex Messaging")
    assign = LicenseAction(
        ActionKind.ASSIGN_LICENSE, Reason.RULE_MATCHED, "a1", "a@example.com", (messaging,)
    )
    failed = replace(assign, anchor="a2", email="b@example.com")
    reclaim = LicenseAction(
        ActionKind.RECLAIM_LICENSE, Reason.NO_RULE_MATCHES, "a3", "c@example.com", (messaging,)
    )
    done = report(kind=CycleKind.FULL)
    done.plan = Plan(
        licenses=(reclaim, assign, failed),
        capacity=(CapacityRow("lic-msg", "Webex Messaging", 10, 10, assign=2, reclaim=1, shortfall=4),),
    )
    done.applied = ApplyResult(failures=[(failed, "refused")])
    metrics = Metrics()
    metrics.observe(done, held=0)
    text = metrics.render().decode()
    assert 'webex_provisioner_licenses_total{action="assign",license="Webex Messaging"} 1.0' in text
    assert 'webex_provisioner_licenses_total{action="reclaim",license="Webex Messaging"} 1.0' in text
    assert 'webex_provisioner_license_shortfall{license="Webex Messaging"} 4.0' in text
