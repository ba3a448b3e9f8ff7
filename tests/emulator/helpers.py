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


def user_body(user_name: str = "alice@example.com", **attributes: Any) -> dict[str, Any]:
    """A minimal POST body."""
    return {"schemas": [CORE], "userName": user_name, **attributes}


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    """A PatchOp body."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
