"""``POST .../v2/Bulk`` (reference §1.6, appendix C): up to 100 user operations in one request.

Accepts ``Operations`` and Webex's documented lowercase ``operations``; methods POST (``bulkId``
required), PATCH and DELETE; ``failOnErrors`` stops after that many failed operations. Each
result carries ``status`` as a string and, when it failed, a ``response`` with the error body.
More operations than allowed is a 400 ``tooMany`` for the whole request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webex_provisioner.emulator.errors import ScimError, invalid_syntax, invalid_value, scim_error_body
from webex_provisioner.emulator.service import UserService

BULK_REQUEST_URN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
MAX_OPERATIONS = 100


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


def _user_id(path: str) -> str:
    prefix, _, user_id = path.strip("/").partition("/")
    if prefix.lower() != "users" or not user_id or "/" in user_id:
        raise ScimError(400, f"the path {path!r} is not /Users/{{id}}", "invalidPath")
    return user_id


def _run_one(service: UserService, operation: Mapping[str, Any], base: str) -> dict[str, Any]:
    method, path, data = operation["method"], operation["path"], operation.get("data")
    if method == "POST":
        if path.strip("/").lower() != "users":
            raise ScimError(400, f"POST takes the path /Users, not {path!r}", "invalidPath")
        if not operation.get("bulkId"):
            raise invalid_syntax("bulkId is required for POST")
        if not isinstance(data, Mapping):
            raise invalid_syntax("data must be the user to create")
        user = service.create(data)
        return {"status": "201", "location": f"{base}/Users/{user['id']}", "version": user["meta"]["version"]}
    user_id = _user_id(path)
    if method == "PATCH":
        if not isinstance(data, Mapping):
            raise invalid_syntax("data must be a PatchOp")
        user = service.patch(user_id, data)
        return {"status": "200", "version": user["meta"]["version"]}
    if method == "DELETE":
        service.delete(user_id)
        return {"status": "204"}
    raise ScimError(405, f"Bulk does not take the method {method!r} (only POST, PATCH, DELETE)")


def run(
    service: UserService,
    body: Mapping[str, Any],
    base: str,
    tracking_id: str,
    *,
    max_operations: int = MAX_OPERATIONS,
) -> dict[str, Any]:
    """Serve one Bulk request under ``base`` (``.../v2``); returns the BulkResponse."""
    operations, fail_on_errors = _operations(body, max_operations)
    results: list[dict[str, Any]] = []
    errors = 0
    for raw in operations:
        fields = {str(k).lower(): v for k, v in raw.items()} if isinstance(raw, Mapping) else {}
        method = str(fields.get("method", "")).upper()
        path = fields.get("path")
        result: dict[str, Any] = {"method": method}
        if fields.get("bulkid"):
            result["bulkId"] = fields["bulkid"]
        if method != "POST" and isinstance(path, str):
            result["location"] = f"{base}/{path.strip('/')}"
        try:
            if not isinstance(path, str):
                raise invalid_syntax("each operation needs a method and a path")
            operation = {
                "method": method,
                "path": path,
                "data": fields.get("data"),
                "bulkId": fields.get("bulkid"),
            }
            result.update(_run_one(service, operation, base))
        except ScimError as error:
            errors += 1
            result["status"] = str(error.status)
            result["response"] = scim_error_body(error, tracking_id)
        results.append(result)
        if fail_on_errors is not None and errors >= fail_on_errors:
            break
    return {"schemas": [BULK_RESPONSE_URN], "Operations": results}
