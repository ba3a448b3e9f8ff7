"""How identities compare: the one way to fold an e-mail, normalize a DN and digest attributes.

Matching, conflict detection, lookups and the state's indexes all use these, so that two
spellings of one address or one entry never count as two.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

import ldap
import ldap.dn

MAX_DN_LENGTH = 16_384
"""Longer DNs are not parsed (no directory has them); they compare as their lower-cased text."""


def fold_email(email: str) -> str:
    """The form e-mails are compared in: surrounding blanks dropped, lower case."""
    return email.strip().lower()


# Characters that str2dn treats specially (escapes, quotes, multi-valued RDNs, hex values, the
# separators of LDAPv2). A DN without them, without spaces around "," and "=", and without other
# blanks at its ends normalizes to its lower-case form: the fast path, a fraction of a microsecond
# against several for str2dn (a full read of 100,000 users normalizes every DN at least once).
_SPECIAL = re.compile(r'[\\"+<>;#]')
_UNIQUE_MEMBER_UID = re.compile(r"#'[01]{0,1024}'B$")


def _plain(dn: str) -> bool:
    return (
        dn.isprintable()  # no tab, newline or other blank than " "
        and not _SPECIAL.search(dn)
        and ", " not in dn
        and " ," not in dn
        and "= " not in dn
        and " =" not in dn
        and not dn.startswith(" ")
        and not dn.endswith(" ")
        and dn.count("=") == dn.count(",") + 1
    )


def is_dn(text: str) -> bool:
    """Whether ``text`` parses as a non-empty DN (``uid=x,ou=people,...``)."""
    if "=" not in text or len(text) > MAX_DN_LENGTH:
        return False
    return bool(ldap.dn.is_dn(text.strip()))


def normalize_dn(dn: str) -> str:
    """A DN in the form that compares equal for the same entry, as an LDAP server compares them:
    attribute types and values lower-cased, spaces around separators dropped, multi-valued RDNs
    sorted, the optional ``#'0101'B`` uid of a uniqueMember value removed."""
    if "#" in dn:
        dn = _UNIQUE_MEMBER_UID.sub("", dn)
    if _plain(dn):
        lowered = dn.lower()
        return dn if lowered == dn else lowered  # one string where a DN is in normal form already
    return _parsed(dn)


def _parsed(dn: str) -> str:
    """``normalize_dn`` through python-ldap's DN parser (the slow path, right for every DN)."""
    if len(dn) > MAX_DN_LENGTH:
        return dn.strip().lower()
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


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_KEYS, _VALUES = "\x1e", "\x1d"  # ASCII record and group separators


def fingerprint(attributes: Mapping[str, str]) -> str:
    """A digest of a desired (or applied) Webex user: equal attributes give equal fingerprints,
    in any order. A link stores the fingerprint of what was applied, so a cycle tells an unchanged
    user by comparing two short strings, without decoding what was applied.

    The names in order, then the values: half the time of canonical JSON (a full cycle computes
    one per user). Values holding one of the two separators are digested as canonical JSON."""
    names = sorted(attributes)
    values = _KEYS.join([attributes[name] for name in names])
    if values.count(_KEYS) == len(names) - 1 and _VALUES not in values:
        text = _KEYS.join(names) + _VALUES + values
    else:
        text = _CANONICAL.encode(dict(attributes))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
