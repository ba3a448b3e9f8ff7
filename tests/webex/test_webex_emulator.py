"""ScimWebexClient against the bundled Webex emulator over HTTP: faults, lost answers, tokens.

(Plain round trips of every attribute kind are in test_webex_servers.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.webex.webex_fakes import CLIENT_SECRET, ORG, REFRESH, TOKEN, Sleeps, make_config, oauth_config
from webex_provisioner.errors import WebexAuthError, WebexOutcomeUnknownError
from webex_provisioner.webex import ScimWebexClient

emulator = pytest.importorskip("webex_provisioner.emulator")
if not hasattr(emulator, "EmulatorServer"):  # pragma: no cover - while the emulator is being built
    pytest.skip("webex_provisioner.emulator.EmulatorServer is not available yet", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with emulator.EmulatorServer(
        org_id=ORG, token=TOKEN, oauth_clients={"C0ffee": CLIENT_SECRET}, refresh_tokens=[REFRESH]
    ) as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def webex(server: Any, sleeps: Sleeps) -> Iterator[ScimWebexClient]:
    server.emulator.reset()
    server.faults.reset()
    with ScimWebexClient(make_config(url=server.url), sleep=sleeps) as made:
        yield made
    server.faults.reset()


def test_throttled_requests_wait_retry_after_then_succeed(
    server: Any, webex: ScimWebexClient, sleeps: Sleeps
) -> None:
    """429s from the emulator are waited out for their Retry-After, then the create succeeds once."""
    server.faults.throttle_next(2, retry_after=2)
    user = webex.create_user({"email": "ann@example.com"})
    assert sleeps == [2.0, 2.0]
    assert webex.find_by_email("ann@example.com") == user
    assert webex.count_users() == 1
    assert webex.request_stats().throttled == 2


def test_503_on_read_is_retried(server: Any, webex: ScimWebexClient, sleeps: Sleeps) -> None:
    """A 503 on a read is retried after a backoff."""
    server.faults.fail_next(1, status=503)
    assert webex.count_users() == 0
    assert len(sleeps) == 1


@pytest.mark.parametrize("status", [504, 0], ids=["504", "connection-dropped"])
def test_lost_answer_on_create_is_outcome_unknown_and_the_user_exists(
    server: Any, webex: ScimWebexClient, status: int
) -> None:
    """A create applied by Webex whose answer is lost (504, or the connection dropped) raises
    WebexOutcomeUnknownError without a second POST; the lookup by e-mail then finds the user."""
    server.faults.lose_response_next(1, status=status)
    with pytest.raises(WebexOutcomeUnknownError):
        webex.create_user({"email": "bea@example.com"})
    assert webex.request_stats().by_method() == {"POST": 1}
    assert webex.find_by_email("bea@example.com") is not None


def test_wrong_static_token_is_an_auth_error(server: Any) -> None:
    """A token the emulator does not accept gives the static-token WebexAuthError."""
    with (
        ScimWebexClient(make_config(url=server.url, token="not-the-token")) as client,
        pytest.raises(WebexAuthError, match="get a new token"),
    ):
        client.count_users()


def test_oauth_refresh_rotation_and_expiry(server: Any) -> None:
    """With OAuth the client gets an access token from the emulator, hands the rotated refresh
    token to the callback, and after the access tokens expire (401) renews with the rotated
    refresh token (the old one is no longer valid) and carries on."""
    server.emulator.reset()
    server.emulator.auth.add_refresh_token(REFRESH)
    stored: list[str] = []
    with ScimWebexClient(oauth_config(url=server.url), on_refresh_token=stored.append) as client:
        assert client.count_users() == 0
        assert len(stored) == 1 and stored[0] != REFRESH
        server.emulator.auth.expire_access_tokens()
        assert client.create_user({"email": "cid@example.com"}).email == "cid@example.com"
        assert len(stored) == 2 and stored[1] != stored[0]
    with ScimWebexClient(oauth_config(url=server.url), refresh_token=stored[-1]) as restarted:
        assert restarted.count_users() == 1  # the persisted refresh token works after a restart


def test_one_client_shared_by_threads(server: Any, webex: ScimWebexClient) -> None:
    """One client used by 8 threads at once (with 429s injected) creates every user exactly once."""
    server.faults.throttle_next(4, retry_after=1)
    emails = [f"t{i}@example.com" for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda e: webex.create_user({"email": e}), emails))
    assert sorted(u.email for u in created) == sorted(emails)
    assert sorted(u.email for u in webex.list_users()) == sorted(emails)
    assert webex.request_stats().by_method()["POST"] == 44
