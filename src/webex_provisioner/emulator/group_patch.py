"""SCIM PATCH (RFC 7644 §3.5.2) on a group, without copying its member set. Pure.

``plan`` applies the ``Operations`` in order to a copy of the group's small attributes and to a
``MemberOverlay`` that records member changes against the current membership, so adding or
removing k members costs O(k) whatever the group's size. Paths: ``displayName``,
``externalId``, ``members``, ``members[<filter>]`` (remove only), the Cisco extension URN and
its attributes (``urn:…:Group:usage``; Webex's own example writes ``urn:…:Group.usage``), or no
path with an object value. A value filter matching no member is 400 ``noTarget``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webex_provisioner.emulator import filters
from webex_provisioner.emulator.errors import ScimError, invalid_syntax, invalid_value
from webex_provisioner.emulator.group_resources import (
    CISCO_GROUP_URN,
    EXTENSION_LISTS,
    GROUP_URN,
    check_attributes,
    extension_name,
    extension_value,
    parse_members,
)
from webex_provisioner.emulator.group_store import MemberDelta
from webex_provisioner.emulator.patch import no_target
from webex_provisioner.emulator.schema import Attr, AttrRef

MemberResolver = Callable[[str, str | None], str]
"""``(member id, declared type or None)`` → the member's type; raises 400 for unknown ids."""

MEMBERS = AttrRef(
    GROUP_URN, Attr("members", "complex", multi=True, sub=(Attr("value"), Attr("type"), Attr("display")))
)
_OPS = frozenset({"add", "replace", "remove"})


@dataclass
class MemberOverlay:
    """Member changes on top of the current members, with the current members left untouched."""

    current: Mapping[str, str]
    delta: MemberDelta = field(default_factory=MemberDelta)
    named: int = 0
    """How many member values the operations named (added, removed or matched)."""

    def contains(self, member_id: str) -> bool:
        delta = self.delta
        if member_id in delta.added:
            return True
        return not delta.clear and member_id not in delta.removed and member_id in self.current

    def add(self, member_id: str, member_type: str) -> None:
        if not self.contains(member_id):
            self.delta.added[member_id] = member_type
            self.delta.removed.discard(member_id)

    def remove(self, member_id: str) -> None:
        self.delta.added.pop(member_id, None)
        if not self.delta.clear and member_id in self.current:
            self.delta.removed.add(member_id)

    def clear(self) -> None:
        self.delta = MemberDelta(clear=True)

    def items(self) -> list[tuple[str, str]]:
        """Every member after the changes so far (O(members): only for non-indexed filters)."""
        kept = (
            []
            if self.delta.clear
            else [(m, t) for m, t in self.current.items() if m not in self.delta.removed]
        )
        return kept + list(self.delta.added.items())


@dataclass(frozen=True)
class Plan:
    """What a PATCH leads to: the new attributes and the member changes."""

    attributes: dict[str, Any]
    delta: MemberDelta
    named_members: int


def plan(
    attributes: Mapping[str, Any], current: Mapping[str, str], operations: object, resolve: MemberResolver
) -> Plan:
    """Apply ``operations`` in order; raises ``ScimError`` (400) and then changes nothing."""
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("'Operations' must be a non-empty array")
    result = copy.deepcopy(dict(attributes))
    overlay = MemberOverlay(current)
    for operation in operations:
        if not isinstance(operation, Mapping):
            raise invalid_syntax("each operation must be an object")
        fields = {str(k).lower(): v for k, v in operation.items()}
        op = fields.get("op")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise invalid_syntax(f"'op' must be add, replace or remove, not {op!r}")
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise invalid_syntax("'path' must be a string")
        _apply(result, overlay, op.lower(), (path or "").strip(), fields.get("value"), resolve)
    check_attributes(result)
    return Plan(result, overlay.delta, overlay.named)


def _apply(
    target: dict[str, Any], overlay: MemberOverlay, op: str, path: str, value: object, resolve: MemberResolver
) -> None:
    if not path:
        if op == "remove":
            raise no_target("'remove' needs a path")
        if not isinstance(value, Mapping):
            raise invalid_syntax(f"'{op}' without a path needs an object value")
        for key, item in value.items():
            if str(key).lower() not in ("schemas", "id", "meta"):
                _apply(target, overlay, op, str(key), item, resolve)
        return
    lowered = path.lower()
    if lowered == "members" or lowered.startswith("members["):
        _apply_members(overlay, op, path, value, resolve)
    elif lowered in ("displayname", "externalid"):
        _apply_core(target, op, "displayName" if lowered == "displayname" else "externalId", value)
    elif lowered == CISCO_GROUP_URN.lower():
        _apply_extension_section(target, op, value)
    elif lowered.startswith(CISCO_GROUP_URN.lower()) and path[len(CISCO_GROUP_URN)] in ":.":
        _apply_extension(target, op, path[len(CISCO_GROUP_URN) + 1 :], value)
    elif lowered in ("id", "meta") or lowered.startswith("meta."):
        raise ScimError(400, f"{path} is read-only", "mutability")
    else:
        raise ScimError(400, f"unknown attribute {path!r} of a group", "invalidPath")


def _apply_core(target: dict[str, Any], op: str, name: str, value: object) -> None:
    if op == "remove":
        if name == "displayName":
            raise invalid_value("displayName is required and cannot be removed")
        target.pop(name, None)
        return
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    target[name] = value


def _apply_extension_section(target: dict[str, Any], op: str, value: object) -> None:
    if op == "remove":
        target.pop(CISCO_GROUP_URN, None)
        return
    if not isinstance(value, Mapping):
        raise invalid_value(f"{CISCO_GROUP_URN} must be an object")
    for key, item in value.items():
        _apply_extension(target, op, str(key), item)


def _apply_extension(target: dict[str, Any], op: str, key: str, value: object) -> None:
    name = extension_name(key)
    if name is None:
        raise ScimError(400, f"{CISCO_GROUP_URN}:{key} is read-only", "mutability")
    section: dict[str, Any] = target.setdefault(CISCO_GROUP_URN, {})
    if op == "remove":
        current = section.get(name)
        if name in EXTENSION_LISTS and value is not None and isinstance(current, list):
            unwanted = value if isinstance(value, list) else [value]
            section[name] = [item for item in current if item not in unwanted]
        else:
            section.pop(name, None)
    elif name in EXTENSION_LISTS and op == "add":
        items = extension_value(name, value)
        assert isinstance(items, list)
        existing = list(section.get(name, []))
        section[name] = extension_value(name, existing + [i for i in items if i not in existing])
    else:
        section[name] = extension_value(name, value)
    if section.get(name) == []:
        del section[name]
    if not section:
        del target[CISCO_GROUP_URN]


def _apply_members(
    overlay: MemberOverlay, op: str, path: str, value: object, resolve: MemberResolver
) -> None:
    if "[" in path:
        if op != "remove":
            raise ScimError(
                400, f"'{op}' cannot take a value filter on members; add members instead", "invalidPath"
            )
        _remove_filtered(overlay, path)
        return
    if op == "remove":
        if value is None:
            overlay.clear()
            return
        for member_id, _ in parse_members(value):
            overlay.named += 1
            overlay.remove(member_id)
        return
    members = parse_members(value)
    if op == "replace":
        overlay.clear()
    for member_id, declared in members:
        overlay.named += 1
        overlay.add(member_id, resolve(member_id, declared))


def _remove_filtered(overlay: MemberOverlay, path: str) -> None:
    start, end = path.index("["), path.rfind("]")
    if end < start or path[end + 1 :].strip():
        raise ScimError(
            400, f"the path {path!r} must be members[<filter>] (members are set whole)", "invalidPath"
        )
    node = filters.parse_element_filter(path[start + 1 : end], MEMBERS)
    ids = _indexed_ids(node)
    if ids is not None:
        matched = [member_id for member_id in ids if overlay.contains(member_id)]
    else:
        matched = [m for m, t in overlay.items() if filters.matches_element(node, {"value": m, "type": t})]
    if not matched:
        raise no_target(f"no member matches {path[start : end + 1]}")
    overlay.named += len(matched)
    for member_id in matched:
        overlay.remove(member_id)


def _indexed_ids(node: filters.Node) -> list[str] | None:
    """The ids of ``value eq "…"`` terms joined by ``or``, or ``None`` when the filter is another."""
    if isinstance(node, filters.Compare):
        sub = node.ref.sub.name if node.ref.sub else ""
        if sub == "value" and node.op == "eq" and isinstance(node.value, str):
            return [node.value]
        return None
    if isinstance(node, filters.Or):
        left, right = _indexed_ids(node.left), _indexed_ids(node.right)
        return None if left is None or right is None else left + right
    return None
