"""Filters of ``GET /Groups``: ``eq`` on ``displayName``, ``externalId`` and ``id``, joined by
``and``/``or`` with parentheses (Webex documents ``displayName eq "…" or displayName eq "…"``). Pure.

``displayName`` compares ignoring case (``caseExact: false`` in Webex's Group schema);
``externalId`` and ``id`` compare exactly. Anything else is 400 ``invalidFilter``.
"""

from __future__ import annotations

from webex_provisioner.emulator import filters
from webex_provisioner.emulator.errors import ScimError
from webex_provisioner.emulator.group_resources import GROUP_URN, GroupRecord
from webex_provisioner.emulator.schema import Attr, AttrRef

_ATTRIBUTES = {name.lower(): AttrRef(GROUP_URN, Attr(name)) for name in ("displayName", "externalId", "id")}


def _resolve(name: str) -> AttrRef:
    ref = _ATTRIBUTES.get(name.lower())
    if ref is None:
        raise filters.invalid_filter(f"groups cannot be searched by {name!r} (displayName, externalId, id)")
    return ref


def parse(text: str) -> filters.Node:
    """Parse and check a group filter; raises ``ScimError`` 400 ``invalidFilter``."""
    node = filters.parse(text, _resolve)
    _check(node)
    return node


def _check(node: filters.Node) -> None:
    if isinstance(node, filters.And | filters.Or):
        _check(node.left)
        _check(node.right)
        return
    if not isinstance(node, filters.Compare) or node.op != "eq" or not isinstance(node.value, str):
        raise filters.invalid_filter("groups can only be searched with 'eq' and a string value")


def _value(record: GroupRecord, name: str) -> str | None:
    if name == "id":
        return record.id
    return record.display_name if name == "displayName" else record.external_id


def matches(node: filters.Node, record: GroupRecord) -> bool:
    if isinstance(node, filters.And):
        return matches(node.left, record) and matches(node.right, record)
    if isinstance(node, filters.Or):
        return matches(node.left, record) or matches(node.right, record)
    if not isinstance(node, filters.Compare):
        raise ScimError(500, "unchecked group filter")
    value = _value(record, node.ref.attr.name)
    if value is None or not isinstance(node.value, str):
        return False
    if node.ref.attr.name == "displayName":
        return value.casefold() == node.value.casefold()
    return value == node.value


def index_keys(node: filters.Node) -> list[tuple[str, str]] | None:
    """``(attribute, value)`` pairs whose groups include every match, or ``None`` (a scan is needed)."""
    if isinstance(node, filters.Compare):
        return [(node.ref.attr.name, node.value)] if isinstance(node.value, str) else None
    if isinstance(node, filters.Or):
        left, right = index_keys(node.left), index_keys(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, filters.And):
        left = index_keys(node.left)
        return left if left is not None else index_keys(node.right)
    return None
