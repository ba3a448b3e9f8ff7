"""Flat Webex attributes (``mapping.WEBEX_ATTRIBUTES`` keys) ⇄ Webex SCIM 2.0 User resources.

Pure: builds and reads JSON-ready dicts, no I/O. ``to_resource`` makes a create body,
``from_resource`` reads what Webex holds, ``patch_operations`` turns attribute changes into
RFC 7644 PatchOp operations a Webex (or any RFC) server accepts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from webex_provisioner.model import Attributes, Change, WebexUser
from webex_provisioner.model.attributes import WEBEX_ATTRIBUTES

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CISCO = "urn:scim:schemas:extension:cisco:webexidentity:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
CISCO_ERROR = "urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error"

# Flat key -> where it lives. Core attributes keep their name; ``name`` sub-attributes:
NAME_PARTS = {"firstName": "givenName", "lastName": "familyName"}
CORE_SIMPLE = ("displayName", "nickName", "title", "preferredLanguage", "locale", "timezone", "externalId")
ENTERPRISE_SIMPLE = ("department", "employeeNumber", "costCenter", "organization", "division")
PHONE_TYPES = {"workPhone": "work", "mobilePhone": "mobile", "extension": "work_extension"}
ADDRESS_FIELDS = {
    "street": "streetAddress",
    "city": "locality",
    "state": "region",
    "postalCode": "postalCode",
    "country": "country",
}
EXTENSION_ATTRIBUTES = tuple(f"extensionAttribute{i}" for i in range(1, 16))
ADDRESS_TYPE = "work"
PHOTO_TYPE = "photo"
"""``avatar`` is the ``photos`` entry of this type: a URL Webex fetches (it has no upload)."""


def _check_keys(keys: Sequence[str] | Mapping[str, Any]) -> None:
    unknown = sorted(set(keys) - set(WEBEX_ATTRIBUTES))
    if unknown:
        raise ValueError(
            f"unknown Webex attribute key(s) {', '.join(unknown)}; "
            f"the mapping may only produce {', '.join(WEBEX_ATTRIBUTES)}"
        )


def email_filter(email: str) -> str:
    """The SCIM filter ``userName eq "<email>"``, with ``\\`` and ``"`` escaped (RFC 7644 §3.4.2.2)."""
    escaped = email.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'userName eq "{escaped}"'


# --------------------------------------------------------------------------------------------
# flat -> resource


def to_resource(attributes: Attributes, *, active: bool) -> dict[str, Any]:
    """The body of ``POST /Users`` for a user with these flat attributes.

    ``email`` is required: it becomes ``userName`` and the primary work e-mail. Empty values are
    left out. Raises ``ValueError`` for a missing e-mail or a key the mapping cannot produce.
    """
    _check_keys(attributes)
    values = {k: v for k, v in attributes.items() if v}
    email = values.get("email")
    if not email:
        raise ValueError("a Webex user needs an email (its userName); the mapping gave none")
    resource: dict[str, Any] = {
        "schemas": [CORE, ENTERPRISE, CISCO],
        "userName": email,
        "userType": "user",
        "active": active,
        "emails": [{"value": email, "type": "work", "primary": True}],
    }
    name = {part: values[key] for key, part in NAME_PARTS.items() if key in values}
    if name:
        resource["name"] = name
    for key in CORE_SIMPLE:
        if key in values:
            resource[key] = values[key]
    phones = [{"type": kind, "value": values[key]} for key, kind in PHONE_TYPES.items() if key in values]
    if phones:
        resource["phoneNumbers"] = phones
    if "avatar" in values:
        resource["photos"] = [{"value": values["avatar"], "type": PHOTO_TYPE}]
    address = {part: values[key] for key, part in ADDRESS_FIELDS.items() if key in values}
    if address:
        resource["addresses"] = [{"type": ADDRESS_TYPE, **address}]
    enterprise: dict[str, Any] = {key: values[key] for key in ENTERPRISE_SIMPLE if key in values}
    if "manager" in values:
        enterprise["manager"] = {"value": values["manager"]}
    if enterprise:
        resource[ENTERPRISE] = enterprise
    cisco = {key: [values[key]] for key in EXTENSION_ATTRIBUTES if key in values}
    if cisco:
        resource[CISCO] = cisco
    return resource


# --------------------------------------------------------------------------------------------
# resource -> flat


def _text(value: object) -> str | None:
    """A scalar as text; ``None`` for absent, empty, or not a scalar."""
    if type(value) is str:  # the usual case first: a listing reads thousands of values
        return value or None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value or None
    return None


def resource_id(value: object) -> str | None:
    """A resource's ``id`` as text (``None``: it has none), as ``from_resource`` reads it."""
    return _text(value)


def _dict(value: object) -> Mapping[str, Any]:
    if type(value) is dict:  # what JSON gives; any other mapping is checked the slow way
        return value
    return value if isinstance(value, Mapping) else {}


def _multi_text(value: object) -> str | None:
    """A Cisco ``extensionAttributeN`` (an array of strings; tolerate a bare string)."""
    if isinstance(value, list):
        texts = [t for t in (_text(v) for v in value) if t]
        return ", ".join(texts) if texts else None
    return _text(value)


def _active(resource: Mapping[str, Any]) -> bool:
    active = resource.get("active")
    if isinstance(active, bool):
        return active
    if isinstance(active, str) and active.lower() in ("true", "false"):
        return active.lower() == "true"
    status = _dict(resource.get(CISCO)).get("accountStatus")
    statuses = status if isinstance(status, list) else [status]
    names = {str(s).lower() for s in statuses if s is not None}
    if names:
        return "active" in names
    return True


@dataclass(frozen=True, slots=True)
class Reading:
    """Which parts of a SCIM User ``from_resource`` reads: all of them (``ALL``), or only what a
    set of flat keys needs (``reading``: a drift check reads 100,000 users and compares a few
    attributes). ``id``, the e-mail and ``active`` are always read."""

    name: tuple[tuple[str, str], ...]
    core: tuple[tuple[str, str], ...]
    phones: tuple[tuple[str, str], ...]
    photo: bool
    address: tuple[tuple[str, str], ...]
    enterprise: tuple[tuple[str, str], ...]
    manager: bool
    extensions: frozenset[str]
    created: bool


def reading(keys: Collection[str] | None) -> Reading:
    """What to read for the flat ``keys`` (``None``: everything, ``meta.created`` included)."""
    if keys is None:
        return ALL
    wanted = frozenset(keys)
    return Reading(
        name=tuple((k, part) for k, part in NAME_PARTS.items() if k in wanted),
        core=tuple(pair for pair in _CORE_PAIRS if pair[0] in wanted),
        phones=tuple((k, kind) for k, kind in PHONE_TYPES.items() if k in wanted),
        photo="avatar" in wanted,
        address=tuple((k, part) for k, part in ADDRESS_FIELDS.items() if k in wanted),
        enterprise=tuple(pair for pair in _ENTERPRISE_PAIRS if pair[0] in wanted),
        manager="manager" in wanted,
        extensions=_EXTENSIONS & wanted,
        created=False,
    )


def from_resource(resource: Mapping[str, Any], parts: Reading | None = None) -> WebexUser:
    """The flat view of a Webex SCIM User: what Webex holds for each mapping key (those of
    ``parts`` only, when given).

    Tolerates missing or oddly shaped attributes (they read as absent). ``active`` falls back
    to the Cisco ``accountStatus`` (an array, or a string) when ``active`` itself is missing.
    ``created`` is ``meta.created`` when it is a date (``None`` otherwise, or when not read).
    Raises ``ValueError`` only when the resource has no ``id``.
    """
    read = ALL if parts is None else parts
    user_id = _text(resource.get("id"))
    if user_id is None:
        raise ValueError("the SCIM resource has no id")
    flat: dict[str, str] = {}
    email = _text(resource.get("userName"))
    if not email:
        work_email = _by_type(resource.get("emails")).get("work")
        email = _text(work_email.get("value")) if work_email else None
    if email:
        flat["email"] = email
    if read.name:
        _put_present(flat, _dict(resource.get("name")), read.name)
    _put_present(flat, resource, read.core)
    if read.phones or read.photo or read.address:
        _typed_entries(flat, resource, read)
    if read.enterprise or read.manager:
        _enterprise(flat, _dict(resource.get(ENTERPRISE)), read)
    if read.extensions:
        for key, raw in _dict(resource.get(CISCO)).items():
            if key in read.extensions:
                value = _multi_text(raw)
                if value:
                    flat[key] = value
    created = _timestamp(_dict(resource.get("meta")).get("created")) if read.created else None
    return WebexUser(
        id=user_id, email=email or "", active=_active(resource), attributes=flat, created=created
    )


def _typed_entries(flat: dict[str, str], resource: Mapping[str, Any], read: Reading) -> None:
    """The phone numbers, the photo and the work address: entries of multi-valued attributes."""
    if read.phones:
        phones = _by_type(resource.get("phoneNumbers"))
        for key, kind in read.phones:
            phone = phones.get(kind)
            if phone is not None:
                _put(flat, key, phone.get("value"))
    if read.photo:
        photo = _by_type(resource.get("photos")).get(PHOTO_TYPE)
        if photo is not None:
            _put(flat, "avatar", photo.get("value"))
    if read.address:
        address = _by_type(resource.get("addresses")).get(ADDRESS_TYPE)
        if address is not None:
            _put_present(flat, address, read.address)


def _enterprise(flat: dict[str, str], enterprise: Mapping[str, Any], read: Reading) -> None:
    if not enterprise:
        return
    _put_present(flat, enterprise, read.enterprise)
    if read.manager:
        manager = enterprise.get("manager")
        _put(flat, "manager", _dict(manager).get("value") if isinstance(manager, Mapping) else manager)


MAX_TIMESTAMP = 40
"""The longest ``meta`` date read (``2026-05-04T10:00:12.345+00:00`` is 29 characters)."""


def _timestamp(value: object) -> datetime | None:
    """An ISO-8601 ``meta`` date (``Z`` or an offset; without one, UTC) in UTC; ``None`` for
    anything else, a text longer than ``MAX_TIMESTAMP`` included."""
    if not isinstance(value, str) or not value or len(value) > MAX_TIMESTAMP:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _put(flat: dict[str, str], key: str, value: object) -> None:
    text = _text(value)
    if text is not None:
        flat[key] = text


_CORE_PAIRS = tuple((key, key) for key in CORE_SIMPLE)
_ENTERPRISE_PAIRS = tuple((key, key) for key in ENTERPRISE_SIMPLE)
_EXTENSIONS = frozenset(EXTENSION_ATTRIBUTES)
ALL = replace(reading(WEBEX_ATTRIBUTES), created=True)


def _put_present(flat: dict[str, str], source: Mapping[str, Any], pairs: Iterable[tuple[str, str]]) -> None:
    """Each flat key of ``pairs`` from the attribute of ``source`` it names, when there."""
    for key, part in pairs:
        value = source.get(part)
        if type(value) is str:  # the usual case, without a call: a listing reads 100,000 users
            if value:
                flat[key] = value
        elif value is not None:
            _put(flat, key, value)


def _by_type(value: object) -> dict[str, Mapping[str, Any]]:
    """The entries of a multi-valued attribute by their type (lower case), each the primary one
    of its type if several, else the first (one pass: a listing reads thousands of users)."""
    chosen: dict[str, Mapping[str, Any]] = {}
    if not isinstance(value, list):
        return chosen
    for entry in value:
        if type(entry) is not dict and not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("type", "")).lower()
        if kind not in chosen or (entry.get("primary") is True and chosen[kind].get("primary") is not True):
            chosen[kind] = entry
    return chosen


# --------------------------------------------------------------------------------------------
# changes -> PatchOp


def _op(op: str, path: str, value: object = None) -> dict[str, Any]:
    return {"op": op, "path": path} if op == "remove" else {"op": op, "path": path, "value": value}


def _set_or_remove(path: str, new: str | None, value: object = None) -> dict[str, Any]:
    if new is None:
        return _op("remove", path)
    return _op("replace", path, new if value is None else value)


def _typed_ops(attribute: str, kind: str, change: Change) -> list[dict[str, Any]]:
    """Ops for the entry of ``kind`` of a multi-valued attribute (a phone, the photo): added as a
    whole when it did not exist, its value replaced, or removed; other entries are left alone."""
    selector = f'{attribute}[type eq "{kind}"]'
    if change.new is None:
        return [_op("remove", selector)]
    if change.old is None:
        return [_op("add", attribute, [{"type": kind, "value": change.new}])]
    return [_op("replace", f"{selector}.value", change.new)]


def _address_ops(changes: list[Change], exists: bool) -> list[dict[str, Any]]:
    """Ops for the work address. Fields added to a user with no work address go into one new
    entry (an ``add`` per field would create one entry each); with an entry, fields are set on it."""
    selector = f'addresses[type eq "{ADDRESS_TYPE}"]'
    ops: list[dict[str, Any]] = []
    entry: dict[str, str] = {}
    for change in changes:
        part = ADDRESS_FIELDS[change.attribute]
        if change.new is None:
            if exists:
                ops.append(_op("remove", f"{selector}.{part}"))
        elif exists:
            ops.append(_op("replace", f"{selector}.{part}", change.new))
        else:
            entry[part] = change.new
    if entry:
        ops.append(_op("add", "addresses", [{"type": ADDRESS_TYPE, **entry}]))
    return ops


def has_work_address(resource: Mapping[str, Any]) -> bool:
    """Whether a SCIM User resource has a work address entry (even one without fields)."""
    return ADDRESS_TYPE in _by_type(resource.get("addresses"))


def needs_address_check(changes: Sequence[Change]) -> bool:
    """Whether the work address changes say nothing about whether a work address exists.

    True when every address change adds a field (``old is None``): the user may or may not
    already have a work address holding other, unchanged fields. The caller then reads the user
    and passes ``address_exists`` to ``patch_operations``.
    """
    address = [c for c in changes if c.attribute in ADDRESS_FIELDS and c.old != c.new]
    return bool(address) and all(c.old is None for c in address)


def patch_operations(  # noqa: PLR0912 - a table: one branch per kind of Webex attribute
    changes: Sequence[Change], *, active: bool | None = None, address_exists: bool | None = None
) -> list[dict[str, Any]]:
    """RFC 7644 PatchOp operations applying ``changes`` (and ``active`` when given).

    Simple attributes are ``replace``d (``remove``d when the new value is ``None``); a changed
    e-mail replaces ``userName`` and the work e-mail; a phone or the work address that does not
    exist yet is ``add``ed as a whole entry (a value-path replace on a missing entry is a 400
    ``noTarget``). ``address_exists`` says whether the user has a work address; by default it
    is inferred from the changes (an address field with an old value means it exists).
    Raises ``ValueError`` for an unknown key or an attempt to remove the e-mail.
    """
    _check_keys([c.attribute for c in changes])
    ops: list[dict[str, Any]] = []
    address: list[Change] = []
    for change in changes:
        key, new = change.attribute, change.new
        if change.old == new:
            continue
        if key == "email":
            if new is None:
                raise ValueError("the email (userName) of a Webex user cannot be removed, only changed")
            ops.append(_op("replace", "userName", new))
            if change.old is None:
                ops.append(_op("add", "emails", [{"value": new, "type": "work", "primary": True}]))
            else:
                ops.append(_op("replace", 'emails[type eq "work"].value', new))
        elif key in NAME_PARTS:
            ops.append(_set_or_remove(f"name.{NAME_PARTS[key]}", new))
        elif key in CORE_SIMPLE:
            ops.append(_set_or_remove(key, new))
        elif key in ENTERPRISE_SIMPLE:
            ops.append(_set_or_remove(f"{ENTERPRISE}:{key}", new))
        elif key == "manager":
            ops.append(_set_or_remove(f"{ENTERPRISE}:manager", new, {"value": new}))
        elif key in PHONE_TYPES:
            ops.extend(_typed_ops("phoneNumbers", PHONE_TYPES[key], change))
        elif key == "avatar":
            ops.extend(_typed_ops("photos", PHOTO_TYPE, change))
        elif key in ADDRESS_FIELDS:
            address.append(change)
        else:  # extensionAttributeN
            ops.append(_set_or_remove(f"{CISCO}:{key}", new, [new]))
    if address:
        exists = address_exists if address_exists is not None else any(c.old is not None for c in address)
        ops.extend(_address_ops(address, exists))
    if active is not None:
        ops.append(_op("replace", "active", active))
    return ops


def patch_body(operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The PatchOp request body wrapping ``operations``."""
    return {"schemas": [PATCH_OP], "Operations": list(operations)}
