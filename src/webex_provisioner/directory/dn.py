"""Distinguished names compared the way an LDAP server compares them (case- and space-insensitive)."""

from __future__ import annotations

import re

import ldap
import ldap.dn

# Anything that str2dn would treat specially: escapes, quotes, multi-valued RDNs, hex values,
# spaces around separators. Without these, a DN normalizes to its lower-case form (fast path).
_SPECIAL = re.compile(r'[\\"+<>;#]|\s[,=]|[,=]\s|^\s|\s$')
_UNIQUE_MEMBER_UID = re.compile(r"#'[01]*'B$")


def normalize_dn(dn: str) -> str:
    """A canonical form: attribute types and values lower-cased, spaces around separators dropped,
    multi-valued RDNs sorted, the optional ``#'0101'B`` uid of a uniqueMember value removed."""
    if "#" in dn:
        dn = _UNIQUE_MEMBER_UID.sub("", dn)
    if not _SPECIAL.search(dn) and dn.count("=") == dn.count(",") + 1:
        return dn.lower()
    try:
        rdns = ldap.dn.str2dn(dn.strip())
    except ldap.DECODING_ERROR:
        return dn.strip().lower()
    return str(
        ldap.dn.dn2str(
            [
                sorted((name.lower(), value.strip().lower(), ldap.AVA_STRING) for name, value, _ in rdn)
                for rdn in rdns
            ]
        )
    )


def is_dn(text: str) -> bool:
    """Whether ``text`` parses as a non-empty DN (``uid=x,ou=people,...``)."""
    return "=" in text and bool(ldap.dn.is_dn(text.strip()))


def is_under(dn: str, base: str) -> bool:
    """Whether ``dn`` is ``base`` or below it."""
    entry, parent = normalize_dn(dn), normalize_dn(base)
    return entry == parent or entry.endswith("," + parent)
