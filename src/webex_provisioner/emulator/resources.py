"""The User resource: input validation, Webex's defaults and rules, ``meta``, rendering. Pure.

A stored user is a plain dict in canonical attribute spelling: core attributes at the top,
the extensions under their URNs, ``meta`` without ``location`` (that depends on the URL the
client used, so ``render`` adds it). Stored dicts are never changed in place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from webex_provisioner.emulator.errors import ScimError, invalid_value
from webex_provisioner.emulator.schema import (
    CISCO_URN,
    CORE_URN,
    ENTERPRISE_URN,
    SCHEMA_ATTRS,
    USER_SCHEMAS,
    Attr,
    canonical_urn,
    resolve,
)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_SYSTEM_KEYS = ("schemas", "id", "meta")
_CISCO_SYSTEM_KEYS = ("accountStatus", "meta")


def require_core_schema(body: Mapping[str, Any]) -> None:
    """Refuse (400 ``invalidSyntax``) a POST/PUT body whose ``schemas`` lacks the core User URN."""
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == CORE_URN.lower() for s in schemas
    ):
        raise ScimError(400, f"'schemas' must list {CORE_URN}", "invalidSyntax")


# --------------------------------------------------------------------------- input


def _boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Entra sends "True"/"False" strings
    raise invalid_value(f"{where} must be a boolean")


def _simple(attr: Attr, value: object, where: str) -> object:
    if attr.kind == "boolean":
        return _boolean(value, where)
    if not isinstance(value, str):
        raise invalid_value(f"{where} must be a string")
    if attr.max_len is not None and len(value) > attr.max_len:
        raise invalid_value(f"{where} is longer than {attr.max_len} characters")
    return value


def _complex(attr: Attr, value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid_value(f"{where} must be an object")
    result: dict[str, Any] = {}
    for key, item in value.items():
        sub = attr.sub_attr(key)
        if sub is None:
            raise invalid_value(f"{where} has no sub-attribute {key!r}")
        if sub.read_only or item is None:
            continue
        result[sub.name] = _simple(sub, item, f"{where}.{sub.name}")
    return result


def _value(attr: Attr, value: object, where: str) -> object:
    if attr.multi:
        if not isinstance(value, list):
            raise invalid_value(f"{where} must be an array")
        if attr.max_values is not None and len(value) > attr.max_values:
            raise invalid_value(f"{where} has more than {attr.max_values} values")
        if attr.sub:
            return [_complex(attr, item, where) for item in value]
        return [_simple(attr, item, where) for item in value]
    if attr.kind == "complex":
        return _complex(attr, value, where)
    return _simple(attr, value, where)


def _section(urn: str, body: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    attrs = SCHEMA_ATTRS[urn]
    result: dict[str, Any] = {}
    for key, value in body.items():
        if urn == CORE_URN and (key.lower() == "schemas" or key[:4].lower() == "urn:"):
            continue
        attr = attrs.get(key.lower())
        if attr is None:
            raise invalid_value(f"unknown attribute {prefix}{key!r}")
        if attr.read_only or value is None:
            continue
        normalised = _value(attr, value, f"{prefix}{attr.name}")
        if normalised not in ([], {}):
            result[attr.name] = normalised
    return result


def normalise(body: Mapping[str, Any]) -> dict[str, Any]:
    """The writable attributes of a client's User body, canonically spelled and checked against the
    schema (types, lengths, value counts). Read-only attributes and unknown schemas are ignored;
    an unknown attribute of a known schema is a 400 ``invalidValue`` naming it."""
    result = _section(CORE_URN, body, "")
    for key, value in body.items():
        urn = canonical_urn(key) if key[:4].lower() == "urn:" else None
        if urn is None or urn == CORE_URN:
            continue
        if not isinstance(value, Mapping):
            raise invalid_value(f"{urn} must be an object")
        section = _section(urn, value, f"{urn}:")
        if section:
            result[urn] = section
    return result


# --------------------------------------------------------------------------- Webex's rules


def _emails(emails: list[dict[str, Any]], user_name: str, renamed: bool) -> list[dict[str, Any]]:
    """Webex: the primary work e-mail equals userName. Added when absent, follows a rename."""
    emails = [dict(e) for e in emails]
    wanted = user_name.casefold()
    target = next((e for e in emails if e.get("type") == "work" and e.get("primary") is True), None)
    if target is not None and target.get("value", "").casefold() != wanted:
        if not renamed:
            raise invalid_value("the primary work e-mail must equal userName")
        target["value"] = user_name
    if target is None:
        target = next((e for e in emails if e.get("value", "").casefold() == wanted), None)
        if target is None:
            target = {"value": user_name}
            emails.append(target)
        target.update(type="work", primary=True)
    for email in emails:
        if email is not target and email.get("primary") is True:
            email["primary"] = False
    if len(emails) > 10:
        raise invalid_value("emails has more than 10 values")
    return emails


def build(
    attributes: Mapping[str, Any],
    *,
    user_id: str,
    org_id: str,
    created: str,
    modified: str,
    version: int,
    previous_user_name: str | None = None,
) -> dict[str, Any]:
    """The stored user for ``attributes`` (fresh from ``normalise``; the user takes them over):
    defaults, the e-mail rule, the extensions and ``meta``."""
    user_name = attributes.get("userName")
    if not isinstance(user_name, str) or not user_name:
        raise invalid_value("userName is required")
    if not _EMAIL.fullmatch(user_name):
        raise invalid_value(f"userName must be an e-mail address, not {user_name!r}")
    renamed = previous_user_name is not None and previous_user_name.casefold() != user_name.casefold()
    user: dict[str, Any] = {"schemas": list(USER_SCHEMAS), "id": user_id, "userName": user_name}
    user.update(attributes)
    user.pop("password", None)  # write-only: accepted, never stored or returned
    user.setdefault("active", True)
    user.setdefault("userType", "user")
    user["emails"] = _emails(user.get("emails", []), user_name, renamed)
    cisco = user.pop(CISCO_URN, {})
    enterprise = user.pop(ENTERPRISE_URN, None)
    if enterprise:
        user[ENTERPRISE_URN] = enterprise
    cisco["accountStatus"] = ["active" if user["active"] else "disabled"]
    cisco["meta"] = {"organizationId": org_id}
    user[CISCO_URN] = cisco
    user["meta"] = {
        "resourceType": "User",
        "created": created,
        "lastModified": modified,
        "version": f'W/"{version}"',
    }
    return user


def client_attributes(user: Mapping[str, Any]) -> dict[str, Any]:
    """A stored user without what the server maintains (the input of a PATCH; a shallow copy)."""
    result = {k: v for k, v in user.items() if k not in _SYSTEM_KEYS}
    cisco = result.get(CISCO_URN)
    if isinstance(cisco, Mapping):
        result[CISCO_URN] = {k: v for k, v in cisco.items() if k not in _CISCO_SYSTEM_KEYS}
    return result


def version_of(user: Mapping[str, Any]) -> int:
    """The counter inside ``meta.version`` (``W/"3"`` → 3)."""
    text: str = user["meta"]["version"]
    return int(text[3:-1])


# --------------------------------------------------------------------------- output


def render(user: Mapping[str, Any], location: str) -> dict[str, Any]:
    """A user as the API returns it: ``meta.location`` added (a shallow copy; do not mutate)."""
    result = dict(user)
    result["meta"] = {**user["meta"], "location": location}
    return result


@functools.lru_cache(maxsize=64)
def _split(names: tuple[str, ...]) -> list[tuple[str | None, str | None, str | None]]:
    """(extension URN, attribute, sub) triples for ``attributes`` names; unknown names are skipped.
    Kept for the next request: a page of a thousand users projects each the same way."""
    triples: list[tuple[str | None, str | None, str | None]] = []
    for name in names:
        urn = canonical_urn(name)
        if urn is not None:
            triples.append((urn if urn != CORE_URN else None, None, None))
            continue
        try:
            ref = resolve(name)
        except ScimError:
            continue
        triples.append(
            (None if ref.schema == CORE_URN else ref.schema, ref.attr.name, ref.sub.name if ref.sub else None)
        )
    return triples


def _pick(source: Mapping[str, Any], attr: str, sub: str | None, target: dict[str, Any]) -> None:
    if attr not in source:
        return
    value = source[attr]
    if sub is None:
        target[attr] = value
    elif isinstance(value, list):
        target[attr] = [{sub: v[sub]} for v in value if isinstance(v, Mapping) and sub in v]
    elif isinstance(value, Mapping) and sub in value:
        target.setdefault(attr, {})[sub] = value[sub]


def _drop(target: dict[str, Any], attr: str, sub: str | None) -> None:
    if sub is None:
        target.pop(attr, None)
        return
    value = target.get(attr)
    if isinstance(value, list):
        target[attr] = [{k: v for k, v in item.items() if k != sub} for item in value]
    elif isinstance(value, dict):
        target[attr] = {k: v for k, v in value.items() if k != sub}


def project(
    resource: Mapping[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    """Apply ``attributes`` / ``excludedAttributes`` (RFC 7644 §3.9); ``schemas`` and ``id`` stay."""
    if attributes:
        result: dict[str, Any] = {"schemas": resource["schemas"], "id": resource["id"]}
        for urn, attr, sub in _split(tuple(attributes)):
            if urn is None and attr is not None:
                _pick(resource, attr, sub, result)
            elif urn is not None and isinstance(resource.get(urn), Mapping):
                if attr is None:
                    result[urn] = resource[urn]
                else:
                    section = result.setdefault(urn, {})
                    _pick(resource[urn], attr, sub, section)
        return result
    result = dict(resource)
    for urn, attr, sub in _split(tuple(excluded or ())):
        if urn is None and attr is not None and attr != "id":
            _drop(result, attr, sub)
        elif urn is not None and urn in result:
            if attr is None:
                del result[urn]
            else:
                result[urn] = dict(result[urn])
                _drop(result[urn], attr, sub)
    return result
