"""Active Directory facts the adapter needs: object identifiers, and what a refused bind means.

AD refuses a simple bind with ``invalidCredentials`` (49) whatever the cause, and says which in
the diagnostic text: ``80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error,
data 52e, v4563``. The ``data`` sub-code tells a wrong password from a disabled, locked or expired
account; ``bind_failure`` turns it into a message that names the fix. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from webex_provisioner.config.presets import AD_MAX_PAGE_SIZE

AD_CAPABILITY_OID = "1.2.840.113556.1.4.800"  # supportedCapabilities: LDAP_CAP_ACTIVE_DIRECTORY_OID
IN_CHAIN_RULE = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN
DIRSYNC_OID = "1.2.840.113556.1.4.841"  # LDAP_SERVER_DIRSYNC_OID
SHOW_DELETED_OID = "1.2.840.113556.1.4.417"  # LDAP_SERVER_SHOW_DELETED_OID
# The LDAP policy MaxPageSize: AD never puts more entries in one page (1000 unless changed).

_SUBCODE = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")

# sub-code -> (what it means, what to do)
_BIND_SUBCODES: Mapping[str, tuple[str, str]] = {
    "525": ("no account has this name", "check directory.bind_dn (a DN, or user@domain)"),
    "52e": (
        "the password is wrong (or no account has this name)",
        "check directory.bind_dn (a DN, or user@domain) and directory.bind_password",
    ),
    "530": (
        "the account may not log on at this time (logon hours)",
        "allow the service account to log on at all hours",
    ),
    "531": (
        "the account may not log on from this computer (logon workstations)",
        "clear the service account's 'Log On To' restriction",
    ),
    "532": (
        "the account's password has expired",
        "set a new password, update directory.bind_password, and give the service account a password "
        "that does not expire",
    ),
    "533": (
        "the account is disabled",
        "enable it (Enable-ADAccount) or bind as another service account",
    ),
    "701": ("the account has expired", "extend its expiry date (accountExpires) in Active Directory"),
    "773": (
        "the account's password must be changed before it can log on",
        "set a password and clear 'User must change password at next logon'",
    ),
    "775": (
        "the account is locked out after too many wrong passwords",
        "unlock it (Unlock-ADAccount) and correct directory.bind_password wherever it is used",
    ),
}


def bind_subcode(diagnostic: str) -> str | None:
    """The AD sub-code (``52e``, ``533``, ...) in a bind failure's diagnostic text, lower case."""
    match = _SUBCODE.search(diagnostic)
    if match is None:
        return None
    return match.group(1).lower().lstrip("0") or "0"


def bind_failure(diagnostic: str) -> str | None:
    """What an AD bind failure means and what to do, e.g. ``the account is disabled; enable it
    ...``; ``None`` when the text carries no sub-code this module knows."""
    code = bind_subcode(diagnostic)
    if code is None or code not in _BIND_SUBCODES:
        return None
    meaning, fix = _BIND_SUBCODES[code]
    return f"{meaning} (Active Directory code {code}); {fix}"


def page_size(directory_type: str, configured: int) -> int:
    """The page size to ask for: ``directory.page_size``, capped at MaxPageSize for Active Directory."""
    return min(configured, AD_MAX_PAGE_SIZE) if directory_type == "activedirectory" else configured


def is_active_directory(capabilities: Iterable[str]) -> bool:
    """Whether a root DSE's ``supportedCapabilities`` announce Active Directory (or Samba's AD DC)."""
    return AD_CAPABILITY_OID in capabilities


def in_chain_filter(group_dn_escaped: str) -> str:
    """``(memberOf:1.2.840.113556.1.4.1941:=<group>)``: members of the group at any depth.
    ``group_dn_escaped`` must already be escaped for a filter."""
    return f"(memberOf:{IN_CHAIN_RULE}:={group_dn_escaped})"
