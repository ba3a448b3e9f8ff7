"""Constants and body builders shared by the emulator's tests."""

from __future__ import annotations

from typing import Any

ORG = "0ae87ade-8c8a-4952-af08-318798958d0c"
TOKEN = "test-token"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CISCO = "urn:scim:schemas:extension:cisco:webexidentity:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CISCO_ERROR = "urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
CISCO_GROUP = "urn:scim:schemas:extension:cisco:webexidentity:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MEETINGS = "Webex Meetings - Enterprise"
CALLING = "Webex Calling - Professional"
MESSAGING = "Webex Messaging"
LICENSES = {MEETINGS: 3, CALLING: 2, MESSAGING: 100}
"""The licences of the session's emulator."""


def user_body(user_name: str = "alice@example.com", **attributes: Any) -> dict[str, Any]:
    """A minimal POST body."""
    return {"schemas": [CORE], "userName": user_name, **attributes}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def group_body(display_name: str = "Sales", *member_ids: str, **attributes: Any) -> dict[str, Any]:
    """A minimal Group POST body with ``member_ids`` as user members."""
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": display_name, **attributes}
    if member_ids:
        body["members"] = [{"value": m} for m in member_ids]
    return body


def webex_error(response: Any, status: int, code: int | None = None) -> dict[str, Any]:
    """The response is a ``/v1`` error in Webex's generic shape, with that status and error code."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["message"] and body["trackingId"] == response.headers["TrackingID"]
    (error,) = body["errors"]
    assert error["description"]
    assert error.get("errorCode") == code
    return body
