"""The Webex SCIM User schema as data: attribute names, shapes and limits (docs/emulator.md).

Validation, filters, PATCH and attribute projection all resolve names through this catalogue,
so attribute names are case-insensitive everywhere, as RFC 7643 §2.1 requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from webex_provisioner.emulator.errors import ScimError

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CISCO_URN = "urn:scim:schemas:extension:cisco:webexidentity:2.0:User"
USER_SCHEMAS = (CORE_URN, ENTERPRISE_URN, CISCO_URN)
EXTENSION_URNS = (ENTERPRISE_URN, CISCO_URN)

Kind = Literal["string", "boolean", "complex"]


@dataclass(frozen=True)
class Attr:
    """One attribute: its canonical name, shape and the limits Webex publishes for it."""

    name: str
    kind: Kind = "string"
    multi: bool = False
    max_len: int | None = None
    max_values: int | None = None
    read_only: bool = False
    sub: tuple[Attr, ...] = field(default=(), repr=False)
    subs: dict[str, Attr] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subs", {a.name.lower(): a for a in self.sub})

    def sub_attr(self, name: str) -> Attr | None:
        """The sub-attribute called ``name`` (any case), or ``None``."""
        return self.subs.get(name.lower())


def _s(name: str, max_len: int | None = None, *, read_only: bool = False) -> Attr:
    return Attr(name, "string", max_len=max_len, read_only=read_only)


def _b(name: str, *, read_only: bool = False) -> Attr:
    return Attr(name, "boolean", read_only=read_only)


def _multi(name: str, max_values: int, *subs: Attr, read_only: bool = False) -> Attr:
    kind: Kind = "complex" if subs else "string"
    return Attr(name, kind, multi=True, max_values=max_values, sub=subs, read_only=read_only)


def _typed(name: str, max_values: int) -> Attr:
    """A multi-valued ``{value, display, type, primary}`` attribute such as ``emails``."""
    return _multi(name, max_values, _s("value"), _s("display"), _s("type"), _b("primary"))


CORE_ATTRS: tuple[Attr, ...] = (
    _s("id", read_only=True),
    _s("userName", 254),
    _s("password", 256),
    _b("active"),
    _multi("roles", 100, _s("value"), _s("display"), _s("type"), _b("primary")),
    _multi("entitlements", 100, _s("value"), _s("display"), _b("primary")),
    Attr(
        "name",
        "complex",
        sub=(
            _s("familyName", 256),
            _s("givenName", 256),
            _s("middleName", 256),
            _s("honorificPrefix", 256),
            _s("honorificSuffix", 256),
            _s("formatted", 512),
        ),
    ),
    _s("displayName", 512),
    _s("nickName", 256),
    _typed("emails", 10),
    _s("userType"),
    _s("profileUrl", 1000),
    _s("title", 512),
    _s("preferredLanguage"),
    _s("locale"),
    _s("timezone"),
    _s("externalId", 256),
    _typed("phoneNumbers", 50),
    _typed("ims", 50),
    _typed("photos", 50),
    _multi("x509Certificates", 30, _s("value"), _s("display"), _b("primary")),
    _multi(
        "addresses",
        10,
        _s("type"),
        _s("streetAddress", 512),
        _s("locality", 128),
        _s("region", 64),
        _s("postalCode", 64),
        _s("country"),
        _s("formatted"),
        _b("primary"),
    ),
    _multi("groups", 100_000, _s("value"), _s("display"), _s("$ref"), _s("type"), read_only=True),
    _multi("inheritances", 1000, _s("type"), _s("value"), _s("source")),
    Attr(
        "meta",
        "complex",
        read_only=True,
        sub=tuple(
            _s(n, read_only=True) for n in ("resourceType", "created", "lastModified", "location", "version")
        ),
    ),
)

ENTERPRISE_ATTRS: tuple[Attr, ...] = (
    _s("employeeNumber", 256),
    _s("costCenter", 256),
    _s("organization", 512),
    _s("division", 512),
    _s("department", 512),
    Attr(
        "manager",
        "complex",
        sub=(_s("value", 512), _s("displayName", read_only=True), _s("$ref", read_only=True)),
    ),
)


def _numbered(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, 16))


CISCO_ATTRS: tuple[Attr, ...] = (
    _multi("accountStatus", 10, read_only=True),  # the emulator derives it from ``active``
    _s("authProvider"),
    _s("teamsClusterId", read_only=True),
    _b("isTeamsOnJabberEnabled"),
    _b("isUCCallOnJabberEnabled"),
    _b("mfaEnabled"),
    _multi("macAddresses", 50),
    _multi("licenseID", 1000),
    _multi("userSettings", 1000),
    _multi("userPreferences", 1000),
    _typed("sipAddresses", 2000),
    _multi("trainSiteNames", 2000),
    _multi("managedSites", 2000, _s("siteName", 512), _s("role", 64)),
    _multi("linkedTrainSiteNames", 2000),
    _s("primaryLinkedTrainSiteName", 128),
    _s("toBeConverted", 254, read_only=True),
    _multi("managedOrgs", 2000, _s("orgId", 64), _s("role", 64)),
    _multi("managedGroups", 2000, _s("orgId", 64), _s("groupId", 64), _s("role", 64)),
    _multi("extLinkedAccts", 2000, _s("providerID", 64), _s("accountGUID", 512), _s("status", 64)),
    _multi(
        "loginIds",
        2000,
        _s("value", 512),
        _s("format", 512),
        _s("type", 256),
        _s("status", 64),
        _s("lastValidated", 512),
    ),
    _b("avatarSyncEnabled", read_only=True),
    _s("provisionSource", read_only=True),
    Attr("pronouns", "complex", sub=(_s("value"), _s("visibility"))),
    _s("userNameType"),
    *(_multi(name, 100) for name in _numbered("extensionAttribute")),
    *(_multi(name, 100, _s("value"), _s("source")) for name in _numbered("externalAttribute")),
    *(_multi(name, 100, _s("value"), _s("orgId")) for name in _numbered("crossOrgAttribute")),
    Attr("meta", "complex", read_only=True, sub=(_s("organizationId", read_only=True),)),
)

SCHEMA_ATTRS: dict[str, dict[str, Attr]] = {
    CORE_URN: {a.name.lower(): a for a in CORE_ATTRS},
    ENTERPRISE_URN: {a.name.lower(): a for a in ENTERPRISE_ATTRS},
    CISCO_URN: {a.name.lower(): a for a in CISCO_ATTRS},
}
_URN_BY_LOWER = {urn.lower(): urn for urn in USER_SCHEMAS}


def canonical_urn(text: str) -> str | None:
    """The canonical spelling of a User schema URN given in any case, or ``None``."""
    return _URN_BY_LOWER.get(text.lower())


def attribute(urn: str, name: str) -> Attr | None:
    """The attribute ``name`` (any case) of the schema ``urn``, or ``None``."""
    return SCHEMA_ATTRS[urn].get(name.lower())


@dataclass(frozen=True)
class AttrRef:
    """A resolved attribute path: ``schema`` (a URN), the attribute, and optionally a sub-attribute."""

    schema: str
    attr: Attr
    sub: Attr | None = None

    @property
    def text(self) -> str:
        """The canonical path, short form for core and enterprise attributes."""
        base = self.attr.name if self.schema != CISCO_URN else f"{CISCO_URN}:{self.attr.name}"
        return f"{base}.{self.sub.name}" if self.sub else base


def resolve(path: str) -> AttrRef:
    """Resolve ``name``, ``name.sub`` or ``urn:...:name[.sub]`` to an attribute of the User schema.

    A name without URN is looked up in the core schema, then in the enterprise extension (so
    ``department`` works as Webex documents it). Raises ``ScimError`` 400 ``invalidPath``.
    """
    schema: str | None = None
    rest = path
    if path[:4].lower() == "urn:":
        for urn in USER_SCHEMAS:
            if path[: len(urn) + 1].lower() == urn.lower() + ":":
                schema, rest = urn, path[len(urn) + 1 :]
                break
        else:
            raise ScimError(400, f"unknown schema in attribute path {path!r}", "invalidPath")
    name, _, sub_name = rest.partition(".")
    candidates = (schema,) if schema else (CORE_URN, ENTERPRISE_URN)
    for urn in candidates:
        attr = attribute(urn, name)
        if attr is None:
            continue
        if not sub_name:
            return AttrRef(urn, attr)
        sub = attr.sub_attr(sub_name)
        if sub is None:
            raise ScimError(400, f"unknown attribute {path!r}", "invalidPath")
        return AttrRef(urn, attr, sub)
    raise ScimError(400, f"unknown attribute {path!r}", "invalidPath")
