"""SCIM PATCH (RFC 7644 §3.5.2) on a user's attributes. Pure.

``apply`` takes the client-writable attributes of a user (``resources.client_attributes``) and
the ``Operations`` of a PatchOp, and returns the new attributes; the caller validates them and
rebuilds the stored user, so types and limits are checked in one place. What Webex documents
(docs/emulator.md): operation names in any case, an absent path meaning "an object of
attributes", ``replace`` of a missing attribute acting as ``add``, and 400 ``noTarget`` for a
value filter matching nothing on ``replace``/``remove`` and for ``remove`` without a path.
An ``add`` through a value filter matching nothing adds an element built from the filter's
``eq`` terms, so ``add phoneNumbers[type eq "work"].value`` creates the work number.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.emulator.errors import ScimError, invalid_syntax, invalid_value
from webex_provisioner.emulator.filters import Node, implied_values, matches_element, parse_element_filter
from webex_provisioner.emulator.schema import (
    CORE_URN,
    EXTENSION_URNS,
    Attr,
    AttrRef,
    canonical_urn,
    resolve,
)

_OPS = frozenset({"add", "replace", "remove"})


@dataclass(frozen=True)
class PatchPath:
    """A parsed ``path``: the attribute (and sub-attribute after ``.``) and an optional value filter."""

    ref: AttrRef
    filter: Node | None = None


def no_target(detail: str) -> ScimError:
    """A 400 ``noTarget``."""
    return ScimError(400, detail, "noTarget")


def parse_path(text: str) -> PatchPath:
    """Parse ``attr``, ``attr.sub``, ``urn:...:attr[.sub]``, ``attr[filter]`` or ``attr[filter].sub``."""
    text = text.strip()
    if "[" not in text:
        return PatchPath(resolve(text))
    start, end = text.index("["), text.rindex("]") if "]" in text else -1
    if end < start:
        raise ScimError(400, f"unbalanced brackets in the path {text!r}", "invalidPath")
    ref = resolve(text[:start].strip())
    if ref.sub is not None or not ref.attr.multi or not ref.attr.sub:
        raise ScimError(400, f"{ref.text!r} cannot take a value filter", "invalidPath")
    node = parse_element_filter(text[start + 1 : end], ref)
    rest = text[end + 1 :]
    if rest:
        sub = ref.attr.sub_attr(rest[1:]) if rest.startswith(".") else None
        if sub is None:
            raise ScimError(400, f"invalid sub-attribute {rest!r} in the path {text!r}", "invalidPath")
        ref = AttrRef(ref.schema, ref.attr, sub)
    return PatchPath(ref, node)


def apply(attributes: Mapping[str, Any], operations: object) -> dict[str, Any]:
    """The attributes after applying ``operations`` in order; raises ``ScimError`` (400)."""
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("'Operations' must be a non-empty array")
    result = copy.deepcopy(dict(attributes))
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
        _apply_one(result, op.lower(), path or None, fields.get("value"))
    return result


def _apply_one(target: dict[str, Any], op: str, path: str | None, value: object) -> None:
    urn = canonical_urn(path) if path else None
    if urn in EXTENSION_URNS:  # the whole extension is the target
        if op == "remove":
            target.pop(str(urn), None)
            return
        path, value = None, {urn: value}
    if path is None:
        if op == "remove":
            raise no_target("'remove' needs a path")
        _apply_object(target, op, value)
        return
    parsed = parse_path(path)
    if parsed.ref.attr.read_only or (parsed.ref.sub is not None and parsed.ref.sub.read_only):
        raise ScimError(400, f"{parsed.ref.text} is read-only", "mutability")
    _apply_path(target, op, parsed, value)


def _apply_object(target: dict[str, Any], op: str, value: object) -> None:
    """``add``/``replace`` without a path: each key of ``value`` is a path (read-only ones are ignored)."""
    if not isinstance(value, Mapping):
        raise invalid_syntax(f"'{op}' without a path needs an object value")
    for key, item in value.items():
        urn = canonical_urn(key) if key[:4].lower() == "urn:" else None
        if key.lower() == "schemas" or urn == CORE_URN:
            continue
        if urn is not None:
            if not isinstance(item, Mapping):
                raise invalid_value(f"{urn} must be an object")
            pairs = [(resolve(f"{urn}:{k}"), v) for k, v in item.items()]
        else:
            pairs = [(resolve(key), item)]
        for ref, v in pairs:
            if not (ref.attr.read_only or (ref.sub is not None and ref.sub.read_only)):
                _apply_path(target, op, PatchPath(ref), v)


def _canonical_object(attr: Attr, value: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical sub-attribute spelling in a complex value (unknown keys are left for validation)."""
    return {(sub.name if (sub := attr.sub_attr(str(k))) else k): v for k, v in value.items()}


def _canonical(attr: Attr, value: object) -> object:
    return _canonical_object(attr, value) if isinstance(value, Mapping) and attr.sub else value


def _container(target: dict[str, Any], schema: str, create: bool) -> dict[str, Any] | None:
    if schema == CORE_URN:
        return target
    section = target.get(schema)
    if not isinstance(section, dict):
        if not create:
            return None
        section = target[schema] = {}
    return section


def _apply_path(target: dict[str, Any], op: str, path: PatchPath, value: object) -> None:
    ref = path.ref
    container = _container(target, ref.schema, create=op != "remove")
    if container is None:
        if path.filter is not None:
            raise no_target(f"no value of {ref.attr.name} matches the filter")
        return
    if path.filter is not None:
        _apply_filtered(container, op, path.filter, ref, value)
    elif ref.sub is not None:
        _apply_sub(container, op, ref.attr, ref.sub.name, value)
    else:
        _apply_attr(container, op, ref.attr, value)


def _apply_attr(container: dict[str, Any], op: str, attr: Attr, value: object) -> None:
    name = attr.name
    if op == "remove":
        if attr.multi and value is not None and isinstance(container.get(name), list):
            _remove_values(container, attr, value)
        else:
            container.pop(name, None)
        return
    if attr.multi:
        items = [_canonical(attr, v) for v in (value if isinstance(value, list) else [value])]
        if op == "add":
            existing = container.get(name)
            current = list(existing) if isinstance(existing, list) else []
            items = current + [item for item in items if item not in current]
        container[name] = items
    elif attr.kind == "complex":
        if isinstance(value, str) and attr.sub_attr("value") is not None:
            value = {"value": value}  # Entra sends the manager as a bare id
        if not isinstance(value, Mapping):
            raise invalid_value(f"{name} must be an object")
        previous = container.get(name)
        container[name] = {
            **(previous if isinstance(previous, dict) else {}),
            **_canonical_object(attr, value),
        }
    else:
        container[name] = value


def _remove_values(container: dict[str, Any], attr: Attr, value: object) -> None:
    """``remove`` of a multi-valued attribute with a value: drop the listed values."""
    unwanted = value if isinstance(value, list) else [value]

    def key(item: object) -> object:
        item = item.get("value") if isinstance(item, Mapping) else item
        return item.casefold() if isinstance(item, str) else item

    keys = {key(v) for v in unwanted}
    remaining = [item for item in container[attr.name] if key(item) not in keys]
    if remaining:
        container[attr.name] = remaining
    else:
        del container[attr.name]


def _apply_sub(container: dict[str, Any], op: str, attr: Attr, sub: str, value: object) -> None:
    """``attr.sub`` without a filter: on a single complex attribute, or on every element."""
    current = container.get(attr.name)
    if attr.multi:
        if not isinstance(current, list) or not current:
            if op == "remove":
                return
            raise no_target(f"{attr.name} has no value to set {sub} on")
        for item in current:
            _set_or_remove(item, op, sub, value)
        return
    if op == "remove":
        if isinstance(current, dict):
            current.pop(sub, None)
            if not current:
                del container[attr.name]
        return
    if not isinstance(current, dict):
        current = container[attr.name] = {}
    current[sub] = value


def _set_or_remove(item: dict[str, Any], op: str, sub: str, value: object) -> None:
    if op == "remove":
        item.pop(sub, None)
    else:
        item[sub] = value


def _apply_filtered(container: dict[str, Any], op: str, node: Node, ref: AttrRef, value: object) -> None:
    name = ref.attr.name
    existing = container.get(name)
    items: list[Any] = existing if isinstance(existing, list) else []
    matched = [item for item in items if isinstance(item, dict) and matches_element(node, item)]
    if not matched:
        if op != "add":
            raise no_target(f"no value of {name} matches the filter")
        element: dict[str, Any] = dict(implied_values(node))
        if ref.sub is not None:
            element[ref.sub.name] = value
        elif isinstance(value, Mapping):
            element.update(_canonical_object(ref.attr, value))
        else:
            raise invalid_value(f"the value for {name}[...] must be an object")
        container[name] = [*items, element]
        return
    if ref.sub is not None:
        for item in matched:
            _set_or_remove(item, op, ref.sub.name, value)
        return
    if op == "remove":
        remaining = [item for item in items if not any(item is m for m in matched)]
        if remaining:
            container[name] = remaining
        else:
            del container[name]
        return
    if not isinstance(value, Mapping):
        raise invalid_value(f"the value for {name}[...] must be an object")
    new = _canonical_object(ref.attr, value)
    container[name] = [
        ({**item, **new} if op == "add" else dict(new)) if any(item is m for m in matched) else item
        for item in items
    ]
