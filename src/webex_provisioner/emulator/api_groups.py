"""The HTTP handlers of the SCIM Groups endpoints: ``/Groups``, ``/Groups/{id}``, ``/Groups/{id}/Members``."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from webex_provisioner.emulator.core import Emulator
from webex_provisioner.emulator.service import attribute_names
from webex_provisioner.emulator.web import JSONResponse, json_object

BaseOf = Callable[[Emulator, Request], str]


class GroupHandlers:
    def __init__(self, emulator: Emulator, base_of: BaseOf) -> None:
        self.emulator = emulator
        self.groups = emulator.groups
        self.base_of = base_of

    async def collection(self, request: Request) -> Response:
        base = self.base_of(self.emulator, request)
        if request.method == "POST":
            record = self.groups.create(await json_object(request))
            body = self.groups.render(record, base)
            return JSONResponse(body, 201, headers={"Location": body["meta"]["location"]})
        result = self.groups.search(request.query_params)
        return JSONResponse(self.groups.list_response(result, base))

    async def group(self, request: Request) -> Response:
        base = self.base_of(self.emulator, request)
        group_id = request.path_params["group_id"]
        if request.method == "GET":
            params = request.query_params
            record = self.groups.get(group_id)
            attributes = attribute_names(params.get("attributes"))
            excluded = attribute_names(params.get("excludedAttributes"))
            return JSONResponse(self.groups.render(record, base, attributes=attributes, excluded=excluded))
        if request.method == "DELETE":
            self.groups.delete(group_id)
            return Response(status_code=204)
        body = await json_object(request)
        if request.method == "PUT":
            record = self.groups.replace(group_id, body)
        else:
            record = self.groups.patch(group_id, body)
        return JSONResponse(self.groups.render(record, base))

    async def members(self, request: Request) -> Response:
        base = self.base_of(self.emulator, request)
        group_id = request.path_params["group_id"]
        return JSONResponse(self.groups.members_page(group_id, request.query_params, base))


def routes(emulator: Emulator, scim: str, base_of: BaseOf) -> list[Route]:
    """The Groups routes under ``scim`` (``/identity/scim/{org_id}/v2``)."""
    handlers = GroupHandlers(emulator, base_of)
    return [
        Route(f"{scim}/Groups", handlers.collection, methods=["GET", "POST"]),
        Route(f"{scim}/Groups/{{group_id}}", handlers.group, methods=["GET", "PUT", "PATCH", "DELETE"]),
        Route(f"{scim}/Groups/{{group_id}}/Members", handlers.members, methods=["GET"]),
    ]
