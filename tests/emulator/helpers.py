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
