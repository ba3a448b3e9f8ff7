"""The Webex token expiring or being revoked in the middle of a cycle: with OAuth the cycle renews
it and goes on (keeping the rotated refresh token for the next run); with a static token it stops
at once with a message saying the token was refused, instead of failing every remaining user."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from tests.conftest import WEBEX_TOKEN, World
from tests.reliability.conftest import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, at_writes
from tests.reliability.helpers import assert_converged, audit_entries, stored_links, stored_refresh_token
from webex_provisioner.engine.report import EXIT_FAILED
from webex_provisioner.model import Outcome

pytestmark = pytest.mark.timeout(120)


def grant(world: World, refresh_token: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": refresh_token,
    }
    return httpx.post(f"{world.emulator.url}/v1/access_token", data=form)


def token_requests(world: World) -> int:
    return sum(1 for method, path, _ in world.emulator.request_log if path == "/v1/access_token")


def test_oauth_token_expiring_mid_cycle_is_renewed_and_the_cycle_completes(
    shared_oauth_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Access tokens expire after the 10th write: the next request gets 401, the client renews
    the token with the refresh grant and the cycle completes with no failure."""
    world = shared_oauth_world
    expired = at_writes(world.emulator, monkeypatch, {10}, world.emulator.expire_access_tokens)
    report = world.sync()
    assert expired() == 1
    assert report.error is None
    assert report.applied is not None and report.applied.failed == 0
    assert any(status == 401 for _, _, status in world.emulator.request_log)
    assert token_requests(world) == 2  # the first token, and the renewal after the 401
    assert_converged(world)


def test_rotated_refresh_token_is_stored_and_used_by_the_next_run(oauth_world: World) -> None:
    """Webex rotates the refresh token on every renewal: the new one is kept in the state, the
    configured one is dead, and the next run (a new process) starts from the stored one."""
    world = oauth_world
    first = world.cli("sync", "--json")
    assert first.exit_code == 3, first.output  # Example Corp's user without mail
    rotated = stored_refresh_token(world)
    assert rotated is not None and rotated != REFRESH_TOKEN
    refused = grant(world, REFRESH_TOKEN)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"

    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Principal Engineer"]})
    second = world.cli("sync", "--json")
    assert second.exit_code in (0, 3), second.output  # incremental, or full with the mail-less user
    assert json.loads(second.stdout)["applied"] == {"update:applied": 1}
    again = stored_refresh_token(world)
    assert again is not None and again not in (rotated, REFRESH_TOKEN)


def test_a_new_configured_refresh_token_recovers_from_a_revoked_stored_one(oauth_world: World) -> None:
    """The documented fix after a revocation works: a sync stores the rotated refresh token; it
    is revoked, so the next sync (with a change to apply) fails saying to re-authorize and set
    webex.oauth.refresh_token; once the administrator does, the next sync authenticates with the
    configured token (it changed since the stored one was saved), applies the change, and stores
    the new rotation, which the run after it uses."""
    world = oauth_world
    assert world.cli("sync", "--json").exit_code == 3  # Example Corp's user without mail
    rotated = stored_refresh_token(world)
    assert rotated is not None and rotated != REFRESH_TOKEN
    world.emulator.revoke(rotated)
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Principal Engineer"]})
    failed = world.cli("sync", "--json")
    assert failed.exit_code == EXIT_FAILED, failed.output
    assert "webex.oauth.refresh_token" in json.loads(failed.stdout)["error"]

    reauthorized = "refresh-token-reauthorized-9e1d"
    world.emulator.emulator.auth.add_refresh_token(reauthorized)
    world.env["WEBEX_REFRESH_TOKEN"] = reauthorized
    recovered = world.cli("sync", "--json")
    assert recovered.exit_code in (0, 3), recovered.output
    assert json.loads(recovered.stdout)["error"] is None
    assert world.webex_user(world.person_mail("enovak"))["title"] == "Principal Engineer"  # type: ignore[index]
    stored = stored_refresh_token(world)
    assert stored not in (None, rotated, reauthorized)
    assert grant(world, reauthorized).status_code == 400  # rotated away: the stored one must be used
    after = world.cli("sync", "--json")
    assert after.exit_code in (0, 3) and json.loads(after.stdout)["error"] is None, after.output


def test_read_only_commands_keep_the_rotated_refresh_token(shared_oauth_world: World) -> None:
    """plan (before any sync) and check renew the access token, which rotates the refresh token:
    they store the new one, so the sync after them still authenticates."""
    world = shared_oauth_world
    assert world.cli("plan", "--json").exit_code == 3  # Example Corp's user without mail
    after_plan = stored_refresh_token(world)
    assert after_plan is not None and after_plan != REFRESH_TOKEN
    assert world.cli("check", "--json").exit_code == 0
    after_check = stored_refresh_token(world)
    assert after_check not in (None, after_plan)
    result = world.cli("sync", "--json")
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"] is None


def test_revoked_refresh_token_stops_the_cycle_with_advice(
    shared_oauth_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refresh token revoked and the access token expired after the 10th write: the cycle
    stops (exit 1) saying to re-authorize and set webex.oauth.refresh_token; what was applied
    before is recorded."""
    world = shared_oauth_world
    world.configure(webex={"concurrency": 4})
    authority = world.emulator.emulator.auth
    issued: list[str] = []
    original = authority.grant

    def recording(form: Mapping[str, str]) -> dict[str, Any]:
        answer = original(form)
        issued.append(answer["refresh_token"])
        return answer

    def revoke_everything() -> None:
        for token in issued:
            world.emulator.revoke(token)
        world.emulator.expire_access_tokens()

    monkeypatch.setattr(authority, "grant", recording)
    at_writes(world.emulator, monkeypatch, {10}, revoke_everything)
    result = world.cli("sync", "--json")
    assert result.exit_code == EXIT_FAILED, result.output
    error = json.loads(result.stdout)["error"]
    assert "re-authorize" in error and "webex.oauth.refresh_token" in error
    _assert_stopped_cleanly(world)


def test_static_token_revoked_mid_cycle_stops_the_cycle(
    shared_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The static token revoked after the 10th write: the cycle stops (exit 1) with a message saying
    the token was refused (expired or revoked), rather than failing each remaining user; what was
    applied before is recorded, and a later run with a valid token finishes the job."""
    world = shared_world
    world.configure(webex={"concurrency": 4})
    at_writes(world.emulator, monkeypatch, {10}, lambda: world.emulator.revoke(WEBEX_TOKEN))
    result = world.cli("sync", "--json")
    assert result.exit_code == EXIT_FAILED, result.output
    data = json.loads(result.stdout)
    assert "token was refused (expired or revoked)" in data["error"]
    assert "WEBEX_TOKEN" in data["error"]
    _assert_stopped_cleanly(world)
    refused = sum(1 for _, _, status in world.emulator.request_log if status == 401)
    assert refused <= 4  # at most one per worker, not one per remaining user

    world.emulator.emulator.auth.reset()  # the administrator puts a valid token in place
    world.sync()
    assert_converged(world)


def _assert_stopped_cleanly(world: World) -> None:
    """Every Webex user created before the stop is linked; no user was recorded as failed."""
    created = world.emulator.users()
    assert 10 <= len(created) < 50
    assert {link.webex_id for link in stored_links(world)} == {u["id"] for u in created}
    assert not [e for e in audit_entries(world) if e.outcome is Outcome.FAILED]
