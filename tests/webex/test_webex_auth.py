"""Token providers: static token, token file, OAuth refresh (before expiry, on 401, rotation)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from tests.webex.webex_fakes import (
    CLIENT_SECRET,
    REFRESH,
    TOKEN,
    URL,
    FakeWebex,
    client_for,
    make_config,
    oauth_config,
    reply,
    user_resource,
)
from webex_provisioner.errors import WebexAuthError, WebexUnavailableError
from webex_provisioner.webex.auth import REFRESH_MARGIN, FileToken, OAuthToken, StaticToken

SECRETS = (CLIENT_SECRET, REFRESH, "access-1", "access-2", "rotated-refresh-SECRET")


def token_reply(access: str, expires_in: int | None = 3600, refresh: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"access_token": access, "token_type": "Bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if refresh is not None:
        body["refresh_token"] = refresh
        body["refresh_token_expires_in"] = 7776000
    return reply(200, body)


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_request_fetches_an_access_token_with_the_refresh_grant() -> None:
    """With webex.oauth the client first POSTs a form-encoded refresh_token grant to
    {url}/v1/access_token, then sends the access token it got."""
    fake = FakeWebex(reply(200, user_resource()), tokens=(token_reply("access-1"),))
    client_for(fake, config=oauth_config()).get_user("u-1")
    (token_request,) = fake.token_requests
    assert str(token_request.url) == f"{URL}/v1/access_token"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(token_request) == {
        "grant_type": "refresh_token",
        "client_id": "C0ffee",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    assert fake.requests[0].headers["Authorization"] == "Bearer access-1"


def test_refresh_token_argument_overrides_the_configured_one() -> None:
    """The refresh token the engine persisted (constructor argument) is used instead of the config's."""
    fake = FakeWebex(reply(200, user_resource()), tokens=(token_reply("access-1"),))
    client_for(fake, config=oauth_config(), refresh_token="persisted-refresh").get_user("u-1")
    assert form_of(fake.token_requests[0])["refresh_token"] == "persisted-refresh"


def test_access_token_is_renewed_a_minute_before_expiry() -> None:
    """The access token is reused until REFRESH_MARGIN seconds before it expires, then renewed."""
    clock = Clock()
    fake = FakeWebex(tokens=(token_reply("access-1", expires_in=3600), token_reply("access-2")))
    http = httpx.Client(transport=httpx.MockTransport(fake))
    provider = OAuthToken(
        http, f"{URL}/v1/access_token", client_id="c", client_secret="s", refresh_token="r", clock=clock
    )
    assert provider.token() == "access-1"
    clock.now += 3600 - REFRESH_MARGIN - 1
    assert provider.token() == "access-1"
    clock.now += 1
    assert provider.token() == "access-2"
    assert len(fake.token_requests) == 2


def test_unknown_lifetime_is_renewed_on_401_only() -> None:
    """Without expires_in the token is kept until Webex refuses it."""
    clock = Clock()
    fake = FakeWebex(tokens=(token_reply("access-1", expires_in=None),))
    provider = OAuthToken(
        httpx.Client(transport=httpx.MockTransport(fake)),
        f"{URL}/v1/access_token",
        client_id="c",
        client_secret="s",
        refresh_token="r",
        clock=clock,
    )
    provider.token()
    clock.now += 10**9
    assert provider.token() == "access-1"
    assert len(fake.token_requests) == 1


def test_401_renews_the_token_and_retries_once() -> None:
    """A 401 with OAuth renews the access token and repeats the request with the new one."""
    fake = FakeWebex(
        reply(401),
        reply(200, user_resource()),
        tokens=(token_reply("access-1"), token_reply("access-2")),
    )
    assert client_for(fake, config=oauth_config()).get_user("u-1") is not None
    assert [r.headers["Authorization"] for r in fake.requests] == ["Bearer access-1", "Bearer access-2"]


def test_401_after_renewal_is_an_auth_error_without_secrets() -> None:
    """If the renewed token is refused too, WebexAuthError advises re-authorizing; no secret
    (client secret, refresh or access tokens) appears in the message or the client's repr."""
    fake = FakeWebex(reply(401), reply(401), tokens=(token_reply("access-1"), token_reply("access-2")))
    client = client_for(fake, config=oauth_config())
    with pytest.raises(WebexAuthError, match="re-authorize the integration") as info:
        client.get_user("u-1")
    assert len(fake.requests) == 2
    for secret in SECRETS:
        assert secret not in str(info.value)
        assert secret not in repr(client)


def test_rotated_refresh_token_is_handed_over_and_used_next() -> None:
    """A new refresh token in the answer goes to on_refresh_token (to be persisted) and is used
    for the next renewal; an unchanged one is not reported again."""
    stored: list[str] = []
    fake = FakeWebex(
        reply(401),
        reply(200, user_resource()),
        tokens=(
            token_reply("access-1", refresh="rotated-refresh-SECRET"),
            token_reply("access-2", refresh="rotated-refresh-SECRET"),
        ),
    )
    client_for(fake, config=oauth_config(), on_refresh_token=stored.append).get_user("u-1")
    assert stored == ["rotated-refresh-SECRET"]
    assert form_of(fake.token_requests[1])["refresh_token"] == "rotated-refresh-SECRET"


def test_failing_persistence_keeps_working(caplog: pytest.LogCaptureFixture) -> None:
    """If storing the rotated refresh token fails, the client keeps the new token in memory and
    logs an error without the token."""

    def broken(_: str) -> None:
        raise OSError("disk full")

    fake = FakeWebex(
        reply(200, user_resource()), tokens=(token_reply("access-1", refresh="rotated-refresh-SECRET"),)
    )
    client_for(fake, config=oauth_config(), on_refresh_token=broken).get_user("u-1")
    assert any("storing the new OAuth refresh token failed" in r.getMessage() for r in caplog.records)
    assert all("rotated-refresh-SECRET" not in r.getMessage() for r in caplog.records)


def test_refused_refresh_token_is_an_auth_error_without_secrets() -> None:
    """A token endpoint that refuses the grant gives WebexAuthError with the reason and advice,
    never the secrets that were sent."""
    body = {"error": "invalid_grant", "error_description": "refresh token expired"}
    fake = FakeWebex(tokens=(reply(400, body),))
    with pytest.raises(WebexAuthError) as info:
        client_for(fake, config=oauth_config()).get_user("u-1")
    message = str(info.value)
    assert "refresh token expired" in message and "webex.oauth.refresh_token" in message
    for secret in SECRETS:
        assert secret not in message
    assert fake.requests == []


@pytest.mark.parametrize(
    "fault", [reply(503), httpx.ConnectError("refused")], ids=["token-endpoint-503", "token-endpoint-down"]
)
def test_unreachable_token_endpoint_is_unavailable(fault: httpx.Response | Exception) -> None:
    """A token endpoint that is down is WebexUnavailableError (retryable), not an auth failure."""
    with pytest.raises(WebexUnavailableError, match="renewing the Webex access token") as info:
        client_for(FakeWebex(tokens=(fault,)), config=oauth_config()).get_user("u-1")
    assert info.value.retryable


def test_one_refresh_at_a_time() -> None:
    """Threads that find the token missing or expired together cause a single renewal."""
    calls: list[float] = []

    def slow_token(_: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        time.sleep(0.05)
        return token_reply("access-1")

    fake = FakeWebex(tokens=(slow_token,))
    provider = OAuthToken(
        httpx.Client(transport=httpx.MockTransport(fake)),
        f"{URL}/v1/access_token",
        client_id="c",
        client_secret="s",
        refresh_token="r",
    )
    start = threading.Barrier(8)
    results: list[str] = []

    def worker() -> None:
        start.wait()
        results.append(provider.token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["access-1"] * 8 and len(calls) == 1


def test_concurrent_401s_renew_once() -> None:
    """A 401 for a token another thread already replaced does not renew again."""
    fake = FakeWebex(tokens=(token_reply("access-1"), token_reply("access-2")))
    provider = OAuthToken(
        httpx.Client(transport=httpx.MockTransport(fake)),
        f"{URL}/v1/access_token",
        client_id="c",
        client_secret="s",
        refresh_token="r",
    )
    assert provider.token() == "access-1"
    assert provider.refresh("access-1") and provider.token() == "access-2"
    assert provider.refresh("access-1")  # a late 401 for the old token
    assert len(fake.token_requests) == 2


def test_token_file_is_reread_once_on_401(tmp_path: Path) -> None:
    """With webex.token_file a 401 re-reads the file; a renewed token there is used for one retry."""
    path = tmp_path / "token"
    path.write_text("file-token-1\n")

    def renew_then_ok(_: httpx.Request) -> httpx.Response:
        return reply(200, user_resource())

    def refuse_and_rotate(_: httpx.Request) -> httpx.Response:
        path.write_text("file-token-2")
        return reply(401)

    fake = FakeWebex(refuse_and_rotate, renew_then_ok)
    client = client_for(fake, config=make_config(token_file=path))
    assert client.get_user("u-1") is not None
    assert [r.headers["Authorization"] for r in fake.requests] == [
        "Bearer file-token-1",
        "Bearer file-token-2",
    ]


def test_token_file_unchanged_on_401_is_an_auth_error(tmp_path: Path) -> None:
    """If the file still holds the refused token, WebexAuthError names the file to update."""
    path = tmp_path / "token"
    path.write_text("file-token-1")
    fake = FakeWebex(reply(401))
    with pytest.raises(WebexAuthError, match=f"write a valid token to {path}"):
        client_for(fake, config=make_config(token_file=path)).get_user("u-1")
    assert len(fake.requests) == 1


def test_missing_or_empty_token_file_is_an_auth_error(tmp_path: Path) -> None:
    """A token file that cannot be read or is empty fails at construction, naming the file."""
    with pytest.raises(WebexAuthError, match="cannot be read"):
        FileToken(tmp_path / "absent")
    empty = tmp_path / "empty"
    empty.write_text("  \n")
    with pytest.raises(WebexAuthError, match="is empty"):
        FileToken(empty)


def test_providers_never_show_secrets() -> None:
    """The repr of every provider hides the token and client secret."""
    assert TOKEN not in repr(StaticToken(TOKEN))
    oauth = OAuthToken(
        httpx.Client(),
        "https://x/v1/access_token",
        client_id="c",
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH,
    )
    assert CLIENT_SECRET not in repr(oauth) and REFRESH not in repr(oauth)


@pytest.mark.parametrize(
    ("content", "named"),
    [("first-half\nsecond-half\n", "U+000A at character 11"), ("tok en", "U+0020 at character 4")],
)
def test_a_token_file_that_a_header_cannot_carry_is_refused_when_read(
    tmp_path: Path, content: str, named: str
) -> None:
    """A token file with an inner line break (or blank) is refused when it is read, naming the
    file and the character, never the token; no request is sent (httpx would otherwise quote
    the token in an error logged on every retry, past the masker)."""
    path = tmp_path / "token"
    path.write_text(content)
    fake = FakeWebex()
    with pytest.raises(WebexAuthError) as caught:
        client_for(fake, config=make_config(token_file=path)).get_user("u-1")
    message = caught.value.message
    assert str(path) in message and named in message and "visible ASCII" in message
    assert "half" not in message and "tok" not in message.replace("token", "")
    assert fake.requests == []


def test_an_access_token_a_header_cannot_carry_is_refused() -> None:
    """An OAuth access token answered with a line break in it is refused (WebexAuthError naming
    the character), not sent."""
    fake = FakeWebex(tokens=(token_reply("access\r\nX-Injected: 1"),))
    with pytest.raises(WebexAuthError, match=r"U\+000D at character 7") as caught:
        client_for(fake, config=oauth_config()).get_user("u-1")
    assert "Injected" not in caught.value.message and fake.requests == []
