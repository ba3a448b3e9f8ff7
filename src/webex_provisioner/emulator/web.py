"""Request helpers shared by the emulator's handlers: the JSON body and the base URLs."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from webex_provisioner.emulator.errors import invalid_syntax


def origin(request: Request) -> str:
    """``{scheme}://{host}`` as the client addressed the server (its ``Host`` header)."""
    scope = request.scope
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
    if host is None:  # HTTP/1.0 without Host: the address the server listens on
        host = "{}:{}".format(*scope["server"])
    return f"{scope['scheme']}://{host}"


async def json_object(request: Request) -> dict[str, Any]:
    """The request body, which must be a JSON object (400 ``invalidSyntax`` otherwise)."""
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise invalid_syntax(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_syntax("the body must be a JSON object")
    return body
