"""Writing LDIF by hand, fast: one attribute line, one entry, and the base of the sample tree."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable

SUFFIX = "dc=example,dc=com"
SERVICE_DN = f"cn=webex-provisioner,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "provisioner-secret"  # noqa: S105 - a sandbox account, documented as such

# RFC 2849 SAFE-STRING: printable ASCII, not starting with space, ':' or '<', not ending in space.
_SAFE = re.compile(r"^(?![ :<])[\x20-\x7e]*(?<! )$")


def line(attribute: str, value: str | bytes) -> str:
    """``attribute: value``, or ``attribute:: base64`` when the value is not a safe string."""
    if isinstance(value, str) and _SAFE.match(value):
        return f"{attribute}: {value}\n"
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return f"{attribute}:: {base64.b64encode(raw).decode('ascii')}\n"


def entry(dn: str, attributes: Iterable[tuple[str, str | bytes]]) -> str:
    """One LDIF record (with the blank line that ends it)."""
    return line("dn", dn) + "".join(line(name, value) for name, value in attributes) + "\n"


def base_ldif(suffix: str = SUFFIX, *, service_account: bool = True) -> str:
    """The suffix entry, ``ou=people``, ``ou=groups``, ``ou=services`` and the read-only account
    ``cn=webex-provisioner,ou=services,...`` (password ``SERVICE_PASSWORD``) the engine binds as."""
    dc = suffix.split(",", maxsplit=1)[0].split("=", 1)[1]
    parts = [
        entry(
            suffix,
            [
                ("objectClass", "top"),
                ("objectClass", "dcObject"),
                ("objectClass", "organization"),
                ("o", "Example Corp"),
                ("dc", dc),
            ],
        ),
        entry(f"ou=people,{suffix}", [("objectClass", "organizationalUnit"), ("ou", "people")]),
        entry(f"ou=groups,{suffix}", [("objectClass", "organizationalUnit"), ("ou", "groups")]),
        entry(f"ou=services,{suffix}", [("objectClass", "organizationalUnit"), ("ou", "services")]),
    ]
    if service_account:
        parts.append(
            entry(
                f"cn=webex-provisioner,ou=services,{suffix}",
                [
                    ("objectClass", "applicationProcess"),
                    ("objectClass", "simpleSecurityObject"),
                    ("cn", "webex-provisioner"),
                    ("description", "read-only account of webex-provisioner"),
                    ("userPassword", SERVICE_PASSWORD),
                ],
            )
        )
    return "".join(parts)
