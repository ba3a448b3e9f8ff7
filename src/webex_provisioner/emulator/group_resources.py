"""The Group resource: input checks, the stored record and the rendering. Pure.

A stored group is a ``GroupRecord``: the client-writable attributes (``displayName``,
``externalId`` and the Cisco extension section, canonically spelled) plus ``meta``; its members
live in ``Membership``, never in the record, so reading or listing groups copies no member set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webex_provisioner.emulator.errors import ScimError, invalid_value

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
CISCO_GROUP_URN = "urn:scim:schemas:extension:cisco:webexidentity:2.0:Group"
GROUP_SCHEMAS = (GROUP_URN, CISCO_GROUP_URN)
MEMBER_TYPES = ("user", "group", "machine")
USAGES = ("location", "distribution", "policy")
GROUP_TYPES = ("unique_flat_static", "dynamic", "flat_static", "nested_static")
PROVISION_SOURCE = "SCIM"

# Cisco extension lists and their published maximum sizes; their elements are kept as sent.
EXTENSION_LISTS = {"owners": 30, "managedBy": 30, "inheritances": 10, "memberFilter": 1}
EXTENSION_ENUMS = {"usage": USAGES, "groupType": GROUP_TYPES}
_EXTENSION_NAMES = {n.lower(): n for n in (*EXTENSION_LISTS, *EXTENSION_ENUMS)}
_EXTENSION_READ_ONLY = frozenset({"provisionsource", "meta"})
_CORE_NAMES = {"displayname": "displayName", "externalid": "externalId", "members": "members"}
_CORE_READ_ONLY = frozenset({"schemas", "id", "meta"})


@dataclass(frozen=True)
class GroupRecord:
    """One stored group (without its members). Never changed in place: writers replace it."""

    id: str
    attributes: Mapping[str, Any]
    created: str
    modified: str
    version: int

    @property
    def display_name(self) -> str:
        name: str = self.attributes["displayName"]
        return name

    @property
    def external_id(self) -> str | None:
        value = self.attributes.get("externalId")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class GroupInput:
    """A checked POST/PUT body: the attributes to store, and the members (``None``: not sent)."""

    attributes: dict[str, Any]
    members: list[tuple[str, str | None]] | None = field(default=None)


def require_group_schema(body: Mapping[str, Any]) -> None:
    """Refuse (400 ``invalidSyntax``) a body whose ``schemas`` lists neither Group schema."""
    schemas = body.get("schemas")
    wanted = {urn.lower() for urn in GROUP_SCHEMAS}
    if not isinstance(schemas, list) or not any(isinstance(s, str) and s.lower() in wanted for s in schemas):
        raise ScimError(400, f"'schemas' must list {GROUP_URN}", "invalidSyntax")


def canonical_member_type(value: object) -> str | None:
    """``user``, ``group`` or ``machine`` for a member ``type`` in any case; ``None`` when absent."""
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in MEMBER_TYPES:
        raise invalid_value(f"a member's type must be user, group or machine, not {value!r}")
    return value.lower()


def parse_members(value: object) -> list[tuple[str, str | None]]:
    """``[(id, type or None), ...]`` of a ``members`` value: an array of ``{"value": id, "type"?}``."""
    items = value if isinstance(value, list) else [value]
    members: list[tuple[str, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise invalid_value('each member must be an object such as {"value": "<user id>"}')
        fields = {str(k).lower(): v for k, v in item.items()}
        member_id = fields.get("value")
        if not isinstance(member_id, str) or not member_id:
            raise invalid_value("each member needs a 'value': the id of a user or group")
        members.append((member_id, canonical_member_type(fields.get("type"))))
    return members


def _string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise invalid_value(f"{name} must be a string")
    return value


def extension_value(name: str, value: object) -> object:
    """A checked value of the Cisco extension attribute ``name`` (canonical spelling)."""
    if name in EXTENSION_ENUMS:
        allowed = EXTENSION_ENUMS[name]
        if not isinstance(value, str) or value.lower() not in allowed:
            raise invalid_value(
                f"{CISCO_GROUP_URN}:{name} must be one of {', '.join(allowed)}, not {value!r}"
            )
        return value.lower()
    items = value if isinstance(value, list) else [value]
    objects = [item for item in items if isinstance(item, Mapping)]
    if len(objects) != len(items):
        raise invalid_value(f"{CISCO_GROUP_URN}:{name} must be an array of objects")
    if len(objects) > EXTENSION_LISTS[name]:
        raise invalid_value(f"{CISCO_GROUP_URN}:{name} has more than {EXTENSION_LISTS[name]} values")
    return [dict(item) for item in objects]


def extension_name(key: str) -> str | None:
    """The canonical name of a writable Cisco extension attribute; ``None`` for read-only ones."""
    lowered = key.lower()
    if lowered in _EXTENSION_READ_ONLY:
        return None
    name = _EXTENSION_NAMES.get(lowered)
    if name is None:
        raise invalid_value(f"unknown attribute {CISCO_GROUP_URN}:{key!r}")
    return name


def normalise_extension(section: object) -> dict[str, Any]:
    """The writable attributes of a Cisco extension section, checked (read-only ones dropped)."""
    if not isinstance(section, Mapping):
        raise invalid_value(f"{CISCO_GROUP_URN} must be an object")
    result: dict[str, Any] = {}
    for key, value in section.items():
        name = extension_name(str(key))
        if name is None or value is None:
            continue
        checked = extension_value(name, value)
        if checked != []:
            result[name] = checked
    return result


def check_attributes(attributes: Mapping[str, Any]) -> None:
    """``displayName`` is required (400 ``invalidValue``) and the strings are strings."""
    name = attributes.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise invalid_value("displayName is required")
    if "externalId" in attributes:
        _string(attributes["externalId"], "externalId")


def normalise(body: Mapping[str, Any]) -> GroupInput:
    """The checked attributes and members of a POST/PUT body. Read-only attributes and unknown
    schemas are ignored; an unknown core attribute is 400 ``invalidValue``."""
    attributes: dict[str, Any] = {}
    members: list[tuple[str, str | None]] | None = None
    for key, value in body.items():
        lowered = str(key).lower()
        if lowered in _CORE_READ_ONLY or value is None:
            continue
        if lowered == CISCO_GROUP_URN.lower():
            extension = normalise_extension(value)
            if extension:
                attributes[CISCO_GROUP_URN] = extension
        elif lowered.startswith("urn:"):
            continue  # another schema's section: ignored, as Webex documents
        elif lowered == "members":
            members = parse_members(value)
        elif lowered in _CORE_NAMES:
            attributes[_CORE_NAMES[lowered]] = _string(value, _CORE_NAMES[lowered])
        else:
            raise invalid_value(f"unknown attribute {key!r} of a group")
    check_attributes(attributes)
    return GroupInput(attributes, members)


def version_text(version: int) -> str:
    return f'W/"{version}"'


def render(
    record: GroupRecord, location: str, org_id: str, members: Iterable[dict[str, str]] | None
) -> dict[str, Any]:
    """A group as the API returns it; ``members`` ``None`` leaves the attribute out."""
    result: dict[str, Any] = {"schemas": list(GROUP_SCHEMAS), "id": record.id}
    result["displayName"] = record.display_name
    if record.external_id is not None:
        result["externalId"] = record.external_id
    if members is not None:
        listed = list(members)
        if listed:
            result["members"] = listed
    result["meta"] = {
        "resourceType": "Group",
        "created": record.created,
        "lastModified": record.modified,
        "version": version_text(record.version),
        "location": location,
    }
    extension = dict(record.attributes.get(CISCO_GROUP_URN) or {})
    extension["provisionSource"] = PROVISION_SOURCE
    extension["meta"] = {"organizationID": org_id}
    result[CISCO_GROUP_URN] = extension
    return result


def project(
    resource: dict[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    """``attributes`` / ``excludedAttributes`` on the top-level names (``schemas``, ``id`` stay)."""
    if attributes:
        wanted = {a.lower() for a in attributes}
        return {k: v for k, v in resource.items() if k in ("schemas", "id") or k.lower() in wanted}
    unwanted = {a.lower() for a in excluded or []} - {"id", "schemas"}
    return {k: v for k, v in resource.items() if k.lower() not in unwanted}
