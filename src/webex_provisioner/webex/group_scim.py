"""``WebexGroup`` ⇄ Webex SCIM 2.0 Group resources, and the bodies of the group requests.

Pure: builds and reads JSON-ready dicts, no I/O. Bodies carry the core Group schema only: Webex's
Cisco extension (``usage``, ``groupType``, owners, inheritances) is optional, this tool sets none
of it, and SCIM servers that do not know the extension refuse it.

Members are user ids: a group's ``members`` are the ``value`` of its members of type ``user``
(or of no type); nested groups and machines are members Webex may also hold, and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from webex_provisioner.model import WebexGroup
from webex_provisioner.webex.scim import PATCH_OP

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
USER_MEMBER = "user"


def quoted(value: str) -> str:
    """``value`` as a SCIM filter string: in double quotes, ``\\`` and ``"`` escaped (RFC 7644 §3.4.2.2)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def name_filter(name: str) -> str:
    """The SCIM filter ``displayName eq "<name>"`` (Webex compares ignoring case)."""
    return f"displayName eq {quoted(name)}"


def same_name(left: str, right: str) -> bool:
    """Whether two group names are the same for Webex: equal ignoring case."""
    return left.casefold() == right.casefold()


def unique(members: Iterable[str]) -> list[str]:
    """The member ids once each, in the order given."""
    return list(dict.fromkeys(members))


def _members_value(members: Sequence[str]) -> list[dict[str, str]]:
    return [{"value": member, "type": USER_MEMBER} for member in members]


def create_body(name: str, external_id: str, members: Sequence[str]) -> dict[str, Any]:
    """The body of ``POST /Groups``: the name, the external id and the first members (users)."""
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name, "externalId": external_id}
    if members:
        body["members"] = _members_value(members)
    return body


def patch_body(operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The PatchOp request body wrapping ``operations``."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def rename_body(name: str) -> dict[str, Any]:
    return patch_body([{"op": "replace", "path": "displayName", "value": name}])


def add_body(members: Sequence[str]) -> dict[str, Any]:
    """Add users as members (Webex skips those already in)."""
    return patch_body([{"op": "add", "path": "members", "value": _members_value(members)}])


def remove_body(members: Sequence[str]) -> dict[str, Any]:
    """One ``remove`` per member, each with the value path ``members[value eq "<id>"]``: the
    form Webex documents. A path that matches no member makes the whole PATCH fail (400
    ``noTarget``), so ``members`` must hold each id once."""
    return patch_body([{"op": "remove", "path": f"members[value eq {quoted(m)}]"} for m in members])


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def group_of(resource: Mapping[str, Any], members: frozenset[str] | None = None) -> WebexGroup:
    """The ``WebexGroup`` of a Group resource (with ``members`` when given). Raises
    ``ValueError`` for a resource without ``id`` or ``displayName``."""
    group_id, name = _text(resource.get("id")), resource.get("displayName")
    if group_id is None:
        raise ValueError("the group has no id")
    if not isinstance(name, str):
        raise ValueError(f"group {group_id} has no displayName")
    return WebexGroup(group_id, name, _text(resource.get("externalId")), members)


def user_members(items: Iterable[object]) -> tuple[list[str], list[str]]:
    """The ids of ``members`` entries: (every member's id, the ids of users). A member of type
    ``user`` or without a type is a user; ``group`` and ``machine`` members are not. Entries
    without a ``value`` are skipped."""
    every: list[str] = []
    users: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        value = _text(item.get("value"))
        if value is None:
            continue
        every.append(value)
        kind = item.get("type")
        if kind is None or (isinstance(kind, str) and kind.lower() == USER_MEMBER):
            users.append(value)
    return every, users
