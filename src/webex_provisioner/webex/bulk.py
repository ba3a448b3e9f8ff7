"""SCIM Bulk (``POST …/v2/Bulk``, at most 100 operations): building create requests, reading results.

Pure. A create operation carries the body of a single create (``scim.to_resource``); results
come back per operation, with ``status`` as Webex sends it (a string) turned into an int and
failures read like single error answers, then become the ``ports.CreateOutcome`` of each create.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from webex_provisioner.errors import WebexOutcomeUnknownError
from webex_provisioner.model import Attributes
from webex_provisioner.ports import CreateOutcome
from webex_provisioner.webex import scim
from webex_provisioner.webex.failures import ErrorInfo, describe, error_for_status, parse_error_body

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
MAX_OPERATIONS = 100


def create_operation(bulk_id: str, attributes: Attributes, *, active: bool = True) -> dict[str, Any]:
    """A Bulk POST creating a user (``bulk_id`` identifies its result)."""
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": scim.to_resource(attributes, active=active),
    }


def bulk_request(operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The BulkRequest body. Raises ``ValueError`` for no or more than ``MAX_OPERATIONS`` operations."""
    if not operations:
        raise ValueError("a Bulk request needs at least one operation")
    if len(operations) > MAX_OPERATIONS:
        raise ValueError(f"a Bulk request takes at most {MAX_OPERATIONS} operations, not {len(operations)}")
    return {"schemas": [BULK_REQUEST], "Operations": [dict(op) for op in operations]}


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The outcome of one Bulk operation. ``webex_id`` is parsed from ``location``."""

    method: str
    status: int
    bulk_id: str | None = None
    webex_id: str | None = None
    error: ErrorInfo | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _status(value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def parse_bulk_response(body: Mapping[str, Any]) -> list[BulkResult]:
    """The results of a BulkResponse, in order (``Operations`` or ``operations``)."""
    raw = body.get("Operations", body.get("operations"))
    results: list[BulkResult] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        status = _status(item.get("status"))
        location = item.get("location")
        webex_id = location.rstrip("/").rsplit("/", 1)[-1] if isinstance(location, str) and location else None
        response = item.get("response")
        error = None
        if not 200 <= status < 300:
            error = parse_error_body(_json_text(response)) if response is not None else ErrorInfo()
        bulk_id = item.get("bulkId")
        results.append(
            BulkResult(
                method=str(item.get("method", "")).upper(),
                status=status,
                bulk_id=str(bulk_id) if bulk_id is not None else None,
                webex_id=webex_id,
                error=error,
            )
        )
    return results


def _json_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def create_outcomes(
    emails: Sequence[str],
    results: Sequence[BulkResult],
    tracking_id: str,
    *,
    auth_advice: str = "",
) -> list[CreateOutcome]:
    """Per create of a Bulk request (operation ``bulkId`` = its index in ``emails``), in order:
    the new Webex id, or the ``WebexError`` of its operation.

    A 409 gives ``WebexConflictError`` (look the user up and link it); an operation without a
    result, a 2xx without a location, a 429 or a 5xx give ``WebexOutcomeUnknownError`` (it may
    have been applied: look the user up before creating it again); other failures give the
    error a single request would have raised.
    """
    by_id = {result.bulk_id: result for result in results if result.bulk_id is not None}
    outcomes: list[CreateOutcome] = []
    for index, email in enumerate(emails):
        what = f"creating Webex user {email or '(no e-mail)'} in a Bulk request"
        result = by_id.get(str(index))
        if result is None:
            outcomes.append(
                WebexOutcomeUnknownError(
                    f"{what}: the Bulk answer has no result for this operation [Webex tracking id "
                    f"{tracking_id}]; it may or may not have been applied: look the user up by e-mail "
                    "before trying again"
                )
            )
            continue
        if result.ok and result.webex_id:
            outcomes.append(result.webex_id)
            continue
        info = result.error or ErrorInfo()
        tracking = info.tracking_id or tracking_id
        if result.ok or result.status == 429 or result.status >= 500 or result.status == 0:
            reason = "no location of the new user" if result.ok else f"status {result.status}"
            outcomes.append(
                WebexOutcomeUnknownError(
                    f"{describe(what, result.status, '', info, tracking)}: {reason}; it may or may not "
                    "have been applied: look the user up by e-mail before trying again",
                    status=result.status,
                    tracking_id=tracking,
                )
            )
            continue
        outcomes.append(error_for_status(what, result.status, "", info, tracking, auth_advice=auth_advice))
    return outcomes
