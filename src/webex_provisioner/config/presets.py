"""Directory presets: what ``directory.type`` means, as data.

Each server family keeps its users, its disabled flag, its immutable id and its groups in its own
attributes. ``directory.type`` picks a preset; the preset fills every ``directory:`` key the
configuration leaves out (and the ``mapping:`` when there is none), *before* validation, so an
explicit key always wins and only the differences need configuring. Pure data and pure functions:
nothing here reads a file or contacts a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

DirectoryType = Literal["openldap", "activedirectory", "389ds", "pingdirectory", "generic"]
DIRECTORY_TYPES: tuple[str, ...] = get_args(DirectoryType)
DEFAULT_TYPE: DirectoryType = "openldap"

AD_MAX_PAGE_SIZE = 1000
"""Active Directory answers at most this many entries per page (its MaxPageSize)."""

# userAccountControl bit 2 (ACCOUNTDISABLE), tested with LDAP_MATCHING_RULE_BIT_AND.
AD_DISABLED_FILTER = "(userAccountControl:1.2.840.113556.1.4.803:=2)"
LDAP_GROUPS = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"

_BASIC_MAPPING: Mapping[str, str] = MappingProxyType(
    {"email": "mail", "firstName": "givenName", "lastName": "sn", "displayName": "displayName"}
)


@dataclass(frozen=True, slots=True)
class Preset:
    """The defaults of one server family.

    ``directory`` holds defaults for keys of the ``directory:`` section; ``mapping`` is the mapping
    used when the configuration has none; ``change_detection`` says, for people, how changes are
    found between full cycles.
    """

    name: DirectoryType
    title: str
    directory: Mapping[str, Any]
    mapping: Mapping[str, object] = field(default_factory=lambda: _BASIC_MAPPING)
    change_detection: str = "modifyTimestamp polling"
    notes: tuple[str, ...] = field(default=())


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        "openldap": Preset(
            name="openldap",
            title="OpenLDAP",
            directory={
                "user_filter": "(objectClass=inetOrgPerson)",
                "anchor": "entryUUID",
                "group_filter": LDAP_GROUPS,
                "member_attributes": ["member", "uniqueMember"],
            },
            change_detection="RFC 4533 content sync (syncprov), else modifyTimestamp polling",
            notes=(
                "no disabled_filter by default: with the ppolicy overlay, set "
                "(pwdAccountLockedTime=000001010000Z) for administratively locked accounts",
            ),
        ),
        "activedirectory": Preset(
            name="activedirectory",
            title="Active Directory",
            directory={
                "user_filter": "(&(objectCategory=person)(objectClass=user))",
                "anchor": "objectGUID",
                "disabled_filter": AD_DISABLED_FILTER,
                "group_filter": "(objectClass=group)",
                "member_attributes": ["member"],
                "page_size": AD_MAX_PAGE_SIZE,
            },
            mapping=MappingProxyType(
                {
                    **_BASIC_MAPPING,
                    "title": "title",
                    "department": "department",
                    "workPhone": "telephoneNumber",
                    "mobilePhone": "mobile",
                    # a manager outside the scope is left out rather than holding the user back
                    "manager": {"from": "manager", "unresolved": "omit"},
                }
            ),
            change_detection="DirSync with the Replicating Directory Changes right, else uSNChanged "
            "on the pinned domain controller (deletes from tombstones)",
        ),
        "389ds": Preset(
            name="389ds",
            title="389 Directory Server / Red Hat Directory Server",
            directory={
                "user_filter": "(|(objectClass=inetOrgPerson)(objectClass=nsPerson))",
                "anchor": "nsUniqueId",
                "disabled_filter": "(nsAccountLock=TRUE)",
                "group_filter": LDAP_GROUPS,
                "member_attributes": ["member", "uniqueMember"],
            },
        ),
        "pingdirectory": Preset(
            name="pingdirectory",
            title="PingDirectory",
            directory={
                "user_filter": "(objectClass=inetOrgPerson)",
                "anchor": "entryUUID",
                "disabled_filter": "(ds-pwp-account-disabled=true)",
                "group_filter": "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
                "(objectClass=groupOfEntries))",
                "member_attributes": ["member", "uniqueMember"],
            },
        ),
        "generic": Preset(
            name="generic",
            title="any LDAPv3 server",
            directory={
                "user_filter": "(objectClass=inetOrgPerson)",
                "anchor": "entryUUID",
                "group_filter": LDAP_GROUPS,
                "member_attributes": ["member", "uniqueMember"],
            },
        ),
    }
)


def preset_for(directory_type: object) -> Preset | None:
    """The preset of a ``directory.type`` value; ``None`` for a value that is not one (validation
    then reports it with the accepted values)."""
    return PRESETS.get(directory_type) if isinstance(directory_type, str) else None


def fill_directory(raw: object) -> object:
    """The raw ``directory:`` mapping with every key its preset defines and the configuration
    leaves out filled in. Explicit keys (even ``null``) are kept; anything that is not a mapping
    is returned as it is, for validation to report."""
    if not isinstance(raw, Mapping):
        return raw
    preset = preset_for(raw.get("type", DEFAULT_TYPE))
    if preset is None:
        return raw
    filled = dict(raw)
    for key, value in preset.directory.items():
        if key not in filled:
            filled[key] = list(value) if isinstance(value, list) else value
    return filled


def fill_mapping(raw: object) -> object:
    """The raw configuration with the preset's mapping when it has no ``mapping:`` key."""
    if not isinstance(raw, Mapping) or "mapping" in raw:
        return raw
    directory = raw.get("directory")
    if not isinstance(directory, Mapping):
        return raw
    preset = preset_for(directory.get("type", DEFAULT_TYPE))
    if preset is None:
        return raw
    return {**raw, "mapping": dict(preset.mapping)}


def type_problem(directory_type: str, change_detection: str) -> str | None:
    """What is wrong with this ``change_detection`` for this ``type``, or ``None``."""
    if change_detection in ("dirsync", "usn") and directory_type != "activedirectory":
        return (
            f"change_detection: {change_detection} works with Active Directory only; set "
            "directory.type: activedirectory, or change_detection: auto, content_sync, timestamp or none"
        )
    if change_detection == "content_sync" and directory_type == "activedirectory":
        return (
            "change_detection: Active Directory does not offer content sync (RFC 4533); use auto "
            "(DirSync, else uSNChanged), dirsync, usn or none"
        )
    return None
