"""Helpers of the Webex adapter tests: a scripted Webex behind ``httpx.MockTransport``, and
scim2-server (an independent SCIM implementation) in-process over WSGI."""

from __future__ import annotations

import io
import json
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from webex_provisioner.config import WebexConfig
from webex_provisioner.webex import ScimWebexClient, scim

ORG = "0ae87ade-8c8a-4952-af08-318798958d0c"
URL = "https://webex.test"
BASE = f"{URL}/identity/scim/{ORG}/v2"
TOKEN = "static-token-SECRET-0001"
CLIENT_SECRET = "client-secret-SECRET-0002"
REFRESH = "refresh-token-SECRET-0003"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def make_config(**overrides: Any) -> WebexConfig:
    raw: dict[str, Any] = {"org_id": ORG, "url": URL, "token": TOKEN, "max_retries": 5, "max_retry_wait": 60}
    raw.update(overrides)
    if "oauth" in overrides or "token_file" in overrides:
        raw.pop("token")
    return WebexConfig.model_validate(raw)


def oauth_config(**overrides: Any) -> WebexConfig:
    oauth = {"client_id": "C0ffee", "client_secret": CLIENT_SECRET, "refresh_token": REFRESH}
    return make_config(oauth=oauth, **overrides)


def user_resource(user_id: str = "u-1", email: str = "alice@example.com", **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": user_id,
        "userName": email,
        "active": True,
        "emails": [{"value": email, "type": "work", "primary": True}],
    }
    resource.update(extra)
    return resource


def page(resources: list[dict[str, Any]], *, total: int | None = None, start: int = 1) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": len(resources) if total is None else total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def reply(status: int, body: object = None, **headers: str) -> httpx.Response:
    if body is None:
        return httpx.Response(status, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class FakeWebex:
    """Answers each SCIM request with the next scripted reply (a response, an exception to
    raise, or a function of the request) and each token request with the next token reply.
    Records every request."""

    def __init__(self, *replies: Reply, tokens: tuple[Reply, ...] = ()) -> None:
        self.replies: deque[Reply] = deque(replies)
        self.tokens: deque[Reply] = deque(tokens)
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/v1/access_token":
            self.token_requests.append(request)
            queue = self.tokens
        else:
            self.requests.append(request)
            queue = self.replies
        if not queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = queue.popleft()
        if isinstance(item, Exception):
            raise item
        if isinstance(item, httpx.Response):
            return item
        return item(request)

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


class Sleeps(list[float]):
    """An injected ``sleep`` that records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_for(
    fake: FakeWebex, sleeps: Sleeps | None = None, config: WebexConfig | None = None, **kwargs: Any
) -> ScimWebexClient:
    return ScimWebexClient(
        config or make_config(),
        transport=httpx.MockTransport(fake),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,
    )


def scim2_client() -> ScimWebexClient:
    """A client of a fresh, empty scim2-server organization (in-process, over WSGI).

    scim2-server refuses Webex's Cisco extension schema (it does not know it), so the URN is
    dropped from the bodies of creates, single or in a Bulk request; extensionAttributeN values
    cannot be stored there."""
    from scim2_server.applications.wsgi import WSGIApplication
    from scim2_server.memory import InMemoryStorage
    from scim2_server.utils import load_default_provider

    app = WSGIApplication(InMemoryStorage(), load_default_provider())
    prefix = f"/identity/scim/{ORG}"

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        environ["PATH_INFO"] = environ["PATH_INFO"].removeprefix(prefix)
        environ["SCRIPT_NAME"] = prefix
        if environ["REQUEST_METHOD"] == "POST":
            body = json.loads(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
            for resource in [body, *(op.get("data", {}) for op in body.get("Operations", []))]:
                if "schemas" in resource:
                    resource["schemas"] = [s for s in resource["schemas"] if s != scim.CISCO]
            raw = json.dumps(body).encode()
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        return app(environ, start_response)

    return ScimWebexClient(make_config(url="https://scim2.test"), transport=httpx.WSGITransport(app=wsgi))
