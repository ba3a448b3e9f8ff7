"""Answers too large to hold: ``webex.max_response_bytes`` bounds every Webex answer, compressed
or not, and the error names the request and the key."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.webex.webex_fakes import FakeWebex, client_for, make_config, oauth_config, page
from webex_provisioner.errors import WebexError, WebexOutcomeUnknownError

LIMIT = 65_536


def _padded(size: int) -> bytes:
    """An empty listing page, padded to ``size`` bytes of JSON."""
    answer = page([])
    answer["padding"] = ""
    text = json.dumps(answer)
    answer["padding"] = "x" * (size - len(text))
    return json.dumps(answer).encode()


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


GZIP_BOMB = gzip.compress(_padded(10_000_000))


def _client(*replies: httpx.Response) -> tuple[FakeWebex, object]:
    fake = FakeWebex(*replies)
    return fake, client_for(fake, config=make_config(max_response_bytes=LIMIT))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(200, content=_padded(200_000)), "announces 200000 bytes"),
        (httpx.Response(200, content=_chunks(_padded(200_000))), f"larger than {LIMIT} bytes"),
        (
            httpx.Response(
                200, content=gzip.compress(_padded(10_000_000)), headers={"Content-Encoding": "gzip"}
            ),
            f"larger than {LIMIT} bytes",
        ),
        (httpx.Response(200, content=b"{}", headers={"Content-Encoding": "br"}), "encoded as 'br'"),
    ],
    ids=["declared", "streamed", "gzip-bomb", "unasked-encoding"],
)
def test_an_answer_over_the_limit_is_an_error_naming_the_request(answer: httpx.Response, reason: str) -> None:
    """An answer larger than webex.max_response_bytes (announced, streamed, or a 10 MB gzip bomb
    of 10 KB), or in an encoding the client did not ask for, is not read: a WebexError naming
    the request, the reason and webex.max_response_bytes, without a retry."""
    fake, client = _client(answer)
    with pytest.raises(WebexError) as caught:
        list(client.list_users())  # type: ignore[attr-defined]
    message = caught.value.message
    assert message.startswith("listing Webex users from #1: ") and reason in message
    assert "webex.max_response_bytes" in message and not caught.value.retryable
    assert len(fake.requests) == 1


def test_an_answer_under_the_limit_is_read_decompressed() -> None:
    """A gzip answer that decompresses to less than the limit is read as usual."""
    _fake, client = _client(
        httpx.Response(200, content=gzip.compress(_padded(60_000)), headers={"Content-Encoding": "gzip"})
    )
    assert list(client.list_users()) == []  # type: ignore[attr-defined]


def test_a_create_answered_too_large_may_have_been_applied() -> None:
    """A create whose answer is over the limit was perhaps applied: WebexOutcomeUnknownError,
    so the engine looks the user up by e-mail before any resend."""
    _fake, client = _client(httpx.Response(201, content=_padded(200_000)))
    with pytest.raises(WebexOutcomeUnknownError, match="look the user up by e-mail"):
        client.create_user({"email": "alice@example.com"})  # type: ignore[attr-defined]


def test_a_token_answer_over_a_megabyte_is_not_read() -> None:
    """The OAuth token endpoint's answer is bounded too (1 MB)."""
    fake = FakeWebex(tokens=(httpx.Response(200, content=_chunks(b" " * 2_000_000 + b"{}")),))
    with pytest.raises(WebexError, match=r"renewing the Webex access token.*larger than 1048576 bytes"):
        client_for(fake, config=oauth_config()).get_user("u-1")
