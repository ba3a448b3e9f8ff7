"""The HTTP face of the emulator: a Starlette app with thin handlers over ``Emulator``.

Routes: ``/identity/scim/{orgId}/v2/Users``, ``.../Users/{id}``, ``.../Bulk``, the Groups
routes (``api_groups``), ``/v1/licenses``, ``/v1/people`` and ``/v1/messages`` (``api_v1``) and
``POST /v1/access_token``. One pure-ASGI middleware does what every request shares: the
``TrackingID`` header (echoed, or ``EMULATOR_<uuid>``), the request log, bearer authentication
of every API path but the token endpoint, and fault injection. Errors of the SCIM paths carry
the SCIM error body; errors of the ``/v1`` paths Webex's generic one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webex_provisioner.emulator import api_groups, api_v1, bulk
from webex_provisioner.emulator.auth import TokenError
from webex_provisioner.emulator.core import Emulator
from webex_provisioner.emulator.errors import (
    ScimError,
    generic_error_body,
    scim_error_body,
    webex_error_body,
)
from webex_provisioner.emulator.faults import LostResponse
from webex_provisioner.emulator.service import attribute_names
from webex_provisioner.emulator.web import JSONResponse, json_object, origin

SCIM_PREFIX = "/identity/"
V1_PREFIX = "/v1/"
TOKEN_PATH = "/v1/access_token"  # noqa: S105 - a URL path, not a secret
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_DROPPED = "ASGI callable returned without completing response."
log = logging.getLogger(__name__)


class _QuietDroppedConnections(logging.Filter):
    """Hide uvicorn's complaint about the connections ``lose_response_next(status=0)`` drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROPPED


_QUIET = _QuietDroppedConnections()


def tracking_id(request: Request) -> str:
    """The ``TrackingID`` of the request being served."""
    value: str = request.scope["state"]["tracking_id"]
    return value


def protected(path: str) -> bool:
    """Whether ``path`` needs a bearer token (and takes faults): every API path but the token endpoint."""
    return path.startswith(SCIM_PREFIX) or (path.startswith(V1_PREFIX) and path != TOKEN_PATH)


def _error_response(
    error: ScimError, tracking: str, *, webex_shape: bool = False, path: str = ""
) -> JSONResponse:
    if webex_shape:
        body = webex_error_body(error, tracking)
    elif path.startswith(V1_PREFIX):
        body = generic_error_body(error, tracking)
    else:
        body = scim_error_body(error, tracking)
    headers: dict[str, str] = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="webex-emulator"'
    if isinstance(error, TokenError):
        body["error"] = error.error
        body["error_description"] = error.detail
    return JSONResponse(body, error.status, headers=headers)


# --------------------------------------------------------------------------- middleware


class EmulatorMiddleware:
    """TrackingID, request log, bearer authentication and faults for every request."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracking = (
            next((v.decode("latin-1") for k, v in scope["headers"] if k == b"trackingid" and v), None)
            or f"EMULATOR_{uuid.uuid4()}"
        )
        scope.setdefault("state", {})["tracking_id"] = tracking
        epoch, started = self.emulator.epoch, False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # logged before the answer leaves, so a client that got it also finds it in the log
                status = 0 if scope["state"].get("dropped") else message["status"]
                self.emulator.log_request(scope["method"], scope["path"], status, epoch)
                message["headers"] = [
                    *message.get("headers", []),
                    (b"TrackingID", tracking.encode("latin-1")),
                ]
            await send(message)

        try:
            await self._serve(scope, receive, send_tracked, tracking)
        except (ClientDisconnect, ConnectionError):
            return  # the client went away (killed, timed out): nothing to answer, nothing wrong here
        except Exception:  # a bug: answer a SCIM 500 rather than a bare one
            log.exception("the emulator failed to serve %s %s", scope["method"], scope["path"])
            if not started:
                error = _error_response(
                    ScimError(500, "internal emulator error"), tracking, path=scope["path"]
                )
                await error(scope, receive, send_tracked)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, tracking: str) -> None:
        path = scope["path"]
        if not protected(path):
            await self.app(scope, receive, send)
            return
        if not self._authenticated(scope):
            error = ScimError(
                401, "The request requires a valid access token set in the Authorization header."
            )
            await _error_response(error, tracking, webex_shape=True)(scope, receive, send)
            return
        decision = self.emulator.faults.decide(scope["method"] in WRITE_METHODS)
        if decision.delay:
            await asyncio.sleep(decision.delay)
        if decision.refusal is not None:
            refusal = decision.refusal
            response = _error_response(ScimError(refusal.status, refusal.detail), tracking, path=path)
            if refusal.retry_after is not None:
                response.headers["Retry-After"] = str(refusal.retry_after)
            await response(scope, receive, send)
            return
        if decision.lost is None:
            await self.app(scope, receive, send)
            return
        await self._lose_response(scope, receive, send, decision.lost, tracking)

    def _authenticated(self, scope: Scope) -> bool:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, token = header.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and self.emulator.auth.accepts(token.strip())

    async def _lose_response(
        self, scope: Scope, receive: Receive, send: Send, lost: LostResponse, tracking: str
    ) -> None:
        """Serve the write, throw its answer away, then answer ``lost.status`` or drop the connection."""

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        if lost.delay:
            await asyncio.sleep(lost.delay)
        if lost.status == 0:  # headers, then close without a body: the client sees a broken connection
            scope["state"]["dropped"] = True
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
            )
            return
        error = ScimError(lost.status, f"the response was lost (injected {lost.status})")
        await _error_response(error, tracking, path=scope["path"])(scope, receive, send)


# --------------------------------------------------------------------------- handlers


def scim_base(emulator: Emulator, request: Request) -> str:
    """``{scheme}://{host}/identity/scim/{org}/v2`` after checking the organization in the path."""
    org_id = request.path_params["org_id"]
    if org_id != emulator.config.org_id:
        raise ScimError(emulator.config.wrong_org_status, f"organization {org_id!r} not found")
    return f"{origin(request)}/identity/scim/{org_id}/v2"


class _Handlers:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.service = emulator.service

    def _base(self, request: Request) -> str:
        """``{scheme}://{host}/identity/scim/{org}/v2`` after checking the organization."""
        return scim_base(self.emulator, request)

    async def users(self, request: Request) -> Response:
        base = self._base(request)
        if request.method == "POST":
            user = self.service.create(await json_object(request))
            location = f"{base}/Users/{user['id']}"
            return JSONResponse(self.service.render(user, base), 201, headers={"Location": location})
        result = self.service.search(request.query_params)
        return JSONResponse(self.service.list_response(result, base))

    async def user(self, request: Request) -> Response:
        base = self._base(request)
        user_id = request.path_params["user_id"]
        if request.method == "GET":
            params = request.query_params
            attributes = attribute_names(params.get("attributes"))
            excluded = attribute_names(params.get("excludedAttributes"))
            return JSONResponse(self.service.render(self.service.get(user_id), base, attributes, excluded))
        if request.method == "DELETE":
            self.service.delete(user_id)
            return Response(status_code=204)
        body = await json_object(request)
        if request.method == "PUT":
            user = self.service.replace(user_id, body)
        else:
            user = self.service.patch(user_id, body)
        return JSONResponse(self.service.render(user, base))

    async def bulk(self, request: Request) -> Response:
        base = self._base(request)
        body = await json_object(request)
        limit = self.emulator.config.max_bulk_operations
        services = bulk.Services(self.service, self.emulator.groups)
        return JSONResponse(bulk.run(services, body, base, tracking_id(request), max_operations=limit))

    async def access_token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        return JSONResponse(self.emulator.auth.grant(form))


async def _scim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    webex_shape = isinstance(exc, TokenError)
    return _error_response(exc, tracking_id(request), webex_shape=webex_shape, path=request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    error = ScimError(exc.status_code, str(exc.detail))
    response = _error_response(error, tracking_id(request), path=request.url.path)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI app serving ``emulator``."""
    logging.getLogger("uvicorn.error").addFilter(_QUIET)  # once: the same filter is not added twice
    handlers = _Handlers(emulator)
    scim = "/identity/scim/{org_id}/v2"
    routes = [
        Route(f"{scim}/Users", handlers.users, methods=["GET", "POST"]),
        Route(f"{scim}/Users/{{user_id}}", handlers.user, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(f"{scim}/Bulk", handlers.bulk, methods=["POST"]),
        *api_groups.routes(emulator, scim, scim_base),
        Route(TOKEN_PATH, handlers.access_token, methods=["POST"]),
        *api_v1.routes(emulator),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(EmulatorMiddleware, emulator=emulator)],
        exception_handlers={ScimError: _scim_error, HTTPException: _http_error},
    )
