"""``POST .../v2/Bulk``: up to 100 user and group operations in one request.

Accepts ``Operations`` and Webex's documented lowercase ``operations``; methods POST (path
``/Users`` or ``/Groups``, ``bulkId`` required), PATCH and DELETE (``/Users/{id}``,
``/Groups/{id}``), the three Webex documents. ``failOnErrors`` stops after that many failed
operations. Each result carries ``status`` as a string and, when it failed, a ``response`` with
the error body. A later operation may name a resource an earlier POST created as
``bulkId:<bulkId>`` (RFC 7644 §3.7.2), in its path or anywhere in its data, e.g. a group's
members. More operations than allowed is a 400 ``tooMany`` for the whole request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.emulator.errors import ScimError, invalid_syntax, invalid_value, scim_error_body
from webex_provisioner.emulator.groups import GroupService
from webex_provisioner.emulator.service import UserService

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
MAX_OPERATIONS = 100
_BULK_ID = "bulkId:"
_RESOURCES = {"users": "Users", "groups": "Groups"}


@dataclass(frozen=True)
class Services:
    """What Bulk operations run against."""

    users: UserService
    groups: GroupService


def _operations(body: Mapping[str, Any], max_operations: int) -> tuple[list[Any], int | None]:
    fields = {str(k).lower(): v for k, v in body.items()}
    schemas = fields.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST_URN not in schemas:
        raise invalid_syntax(f"'schemas' must list {BULK_REQUEST_URN}")
    operations = fields.get("operations")
    if not isinstance(operations, list):
        raise invalid_syntax("'Operations' must be an array")
    if len(operations) > max_operations:
        raise ScimError(
            400, f"a Bulk request takes at most {max_operations} operations, not {len(operations)}", "tooMany"
        )
    fail_on_errors = fields.get("failonerrors")
    if fail_on_errors is not None and (
        not isinstance(fail_on_errors, int) or isinstance(fail_on_errors, bool) or fail_on_errors < 1
    ):
        raise invalid_value("failOnErrors must be a positive integer")
    return operations, fail_on_errors


def _target(path: str) -> tuple[str, str | None]:
    """``("Users"|"Groups", id or None)`` of an operation's path."""
    kind, _, resource_id = path.strip("/").partition("/")
    resource = _RESOURCES.get(kind.lower())
    if resource is None or "/" in resource_id:
        raise ScimError(
            400, f"the path {path!r} is not /Users, /Groups or one of their resources", "invalidPath"
        )
    return resource, resource_id or None


def _resolve(value: Any, created: Mapping[str, str]) -> Any:
    """``value`` with every ``bulkId:<id>`` string replaced by the id that POST created."""
    if isinstance(value, str) and value.startswith(_BULK_ID):
        key = value[len(_BULK_ID) :]
        if key not in created:
            raise invalid_value(f"{value!r} does not name a resource created earlier in this request")
        return created[key]
    if isinstance(value, Mapping):
        return {k: _resolve(v, created) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, created) for v in value]
    return value


def _resolve_path(path: str, created: Mapping[str, str]) -> str:
    """``/Groups/bulkId:x`` as ``/Groups/<the id POST x created>``; other paths unchanged."""
    head, slash, tail = path.strip("/").partition("/")
    if not tail.startswith(_BULK_ID):
        return path
    return f"/{head}{slash}{_resolve(tail, created)}"


def _create(services: Services, resource: str, data: Mapping[str, Any], base: str) -> dict[str, Any]:
    if resource == "Users":
        user = services.users.create(data)
        new_id, version = user["id"], user["meta"]["version"]
    else:
        group = services.groups.create(data)
        new_id, version = group.id, f'W/"{group.version}"'
    return {"status": "201", "location": f"{base}/{resource}/{new_id}", "version": version, "id": new_id}


def _run_one(services: Services, operation: Mapping[str, Any], base: str) -> dict[str, Any]:
    method, data = operation["method"], operation.get("data")
    resource, resource_id = _target(operation["path"])
    if method == "POST":
        if resource_id is not None:
            raise ScimError(400, f"POST takes the path /{resource}, not {operation['path']!r}", "invalidPath")
        if not operation.get("bulkId"):
            raise invalid_syntax("bulkId is required for POST")
        if not isinstance(data, Mapping):
            raise invalid_syntax(f"data must be the {resource[:-1].lower()} to create")
        return _create(services, resource, data, base)
    if resource_id is None:
        raise ScimError(400, f"{method} needs the path /{resource}/{{id}}", "invalidPath")
    if method == "PATCH":
        if not isinstance(data, Mapping):
            raise invalid_syntax("data must be a PatchOp")
        if resource == "Users":
            return {"status": "200", "version": services.users.patch(resource_id, data)["meta"]["version"]}
        return {"status": "200", "version": f'W/"{services.groups.patch(resource_id, data).version}"'}
    if method == "DELETE":
        if resource == "Users":
            services.users.delete(resource_id)
        else:
            services.groups.delete(resource_id)
        return {"status": "204"}
    raise ScimError(405, f"Bulk does not take the method {method!r} (only POST, PATCH, DELETE)")


def _run_fields(
    services: Services, fields: Mapping[str, Any], base: str, created: dict[str, str]
) -> dict[str, Any]:
    """One operation's result (without ``method``/``bulkId``); raises ``ScimError``."""
    path = fields.get("path")
    if not isinstance(path, str):
        raise invalid_syntax("each operation needs a method and a path")
    operation = {
        "method": str(fields.get("method", "")).upper(),
        "path": _resolve_path(path, created),
        "data": _resolve(fields.get("data"), created),
        "bulkId": fields.get("bulkid"),
    }
    result = _run_one(services, operation, base)
    new_id = result.pop("id", None)
    if new_id is not None and isinstance(fields.get("bulkid"), str):
        created[fields["bulkid"]] = new_id
    return result


def _location(path: str, base: str, created: Mapping[str, str]) -> str:
    with contextlib.suppress(ScimError):  # the operation fails and says why; the path stays as sent
        path = _resolve_path(path, created)
    return f"{base}/{path.strip('/')}"


def run(
    services: Services,
    body: Mapping[str, Any],
    base: str,
    tracking_id: str,
    *,
    max_operations: int = MAX_OPERATIONS,
) -> dict[str, Any]:
    """Serve one Bulk request under ``base`` (``.../v2``); returns the BulkResponse."""
    operations, fail_on_errors = _operations(body, max_operations)
    results: list[dict[str, Any]] = []
    created: dict[str, str] = {}
    errors = 0
    for raw in operations:
        fields = {str(k).lower(): v for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        method = str(fields.get("method", "")).upper()
        path = fields.get("path")
        result: dict[str, Any] = {"method": method}
        if fields.get("bulkid"):
            result["bulkId"] = fields["bulkid"]
        if method != "POST" and isinstance(path, str):
            result["location"] = _location(path, base, created)
        try:
            result.update(_run_fields(services, fields, base, created))
        except ScimError as error:
            errors += 1
            result["status"] = str(error.status)
            result["response"] = scim_error_body(error, tracking_id)
        results.append(result)
        if fail_on_errors is not None and errors >= fail_on_errors:
            break
    return {"schemas": [BULK_RESPONSE_URN], "Operations": results}
