"""The HTTP handlers of the ``/v1`` APIs: licences, people and messages.

Pages after the first are reached through an RFC 5988 ``Link: <…>; rel="next"`` header, as
Webex does; the URL repeats the request's parameters with an opaque cursor added.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from webex_provisioner.emulator import people
from webex_provisioner.emulator.core import Emulator
from webex_provisioner.emulator.web import JSONResponse, json_object


def _with_next(body: dict[str, object], request: Request, name: str, value: str | None) -> JSONResponse:
    response = JSONResponse(body)
    if value is not None:
        url = request.url.include_query_params(**{name: value})
        response.headers["Link"] = f'<{url}>; rel="next"'
    return response


class V1Handlers:
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def licenses(self, request: Request) -> Response:
        return JSONResponse(self.emulator.licenses.list_all(request.query_params))

    async def license(self, request: Request) -> Response:
        service = self.emulator.licenses
        body, next_offset = service.get(request.path_params["license_id"], request.query_params)
        cursor = None if next_offset is None else service.next_cursor(next_offset)
        return _with_next(body, request, "next", cursor)

    async def assign(self, request: Request) -> Response:
        outcome = self.emulator.licenses.assign(await json_object(request))
        return JSONResponse(outcome.body, outcome.status)

    async def people(self, request: Request) -> Response:
        page = self.emulator.people.search(request.query_params)
        cursor = None if page.next_offset is None else people.cursor(people.PAGING, page.next_offset)
        return _with_next(page.body, request, "cursor", cursor)

    async def person(self, request: Request) -> Response:
        calling = (request.query_params.get("callingData") or "").lower() == "true"
        return JSONResponse(self.emulator.people.get(request.path_params["person_id"], calling))

    async def messages(self, request: Request) -> Response:
        board = self.emulator.messages
        if request.method == "POST":
            return JSONResponse(board.post(await json_object(request)))
        return JSONResponse(board.list_room(request.query_params))


def routes(emulator: Emulator) -> list[Route]:
    handlers = V1Handlers(emulator)
    return [
        Route("/v1/licenses", handlers.licenses, methods=["GET"]),
        Route("/v1/licenses/users", handlers.assign, methods=["PATCH"]),
        Route("/v1/licenses/{license_id}", handlers.license, methods=["GET"]),
        Route("/v1/people", handlers.people, methods=["GET"]),
        Route("/v1/people/{person_id}", handlers.person, methods=["GET"]),
        Route("/v1/messages", handlers.messages, methods=["GET", "POST"]),
    ]
