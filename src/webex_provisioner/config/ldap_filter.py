"""LDAP search filters: a syntax check for configured filters, and safe building from data.

Values that come from data (an e-mail, an anchor, a DN) are always escaped with python-ldap's
``escape_filter_chars`` before they enter a filter, so a crafted value cannot widen a search.
"""

from __future__ import annotations

import re

from ldap.filter import escape_filter_chars

_ITEM = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9.;\-]*"  # attribute description (name or OID, options)
    r"(?::[A-Za-z0-9.\-]+)?(?::dn)?"  # optional extensible match rule
    r"(=|~=|>=|<=|:=)"
    r".*$",
    re.DOTALL,
)
MAX_DEPTH = 64
"""Filters nested deeper than this are refused (no configured filter comes near it)."""


def check_filter(text: str) -> str:
    """Return ``text`` if it is a well-formed LDAP filter (RFC 4515), else raise ``ValueError``."""
    stripped = text.strip()
    if not stripped.startswith("(") or not stripped.endswith(")"):
        raise ValueError(
            f"{text!r} is not an LDAP filter: it must be enclosed in parentheses, e.g. (uid=jdoe)"
        )
    position = _parse(stripped, 0, text)
    if position != len(stripped):
        raise ValueError(f"{text!r} is not an LDAP filter: unexpected text after position {position}")
    return stripped


def _parse(text: str, i: int, original: str, depth: int = 1) -> int:
    """Parse one ``(...)`` starting at ``i``; return the index after its closing parenthesis."""
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{original[:80]!r}... is not a usable LDAP filter: it nests more than {MAX_DEPTH} deep"
        )
    if i >= len(text) or text[i] != "(":
        raise ValueError(f"{original!r} is not an LDAP filter: expected '(' at position {i}")
    i += 1
    if i < len(text) and text[i] in "&|!":
        operator = text[i]
        i += 1
        count = 0
        while i < len(text) and text[i] == "(":
            i = _parse(text, i, original, depth + 1)
            count += 1
        if operator == "!" and count != 1:
            raise ValueError(f"{original!r} is not an LDAP filter: '!' takes exactly one filter")
        if operator != "!" and count == 0:
            raise ValueError(f"{original!r} is not an LDAP filter: '{operator}' needs at least one filter")
    else:
        end = text.find(")", i)
        if end < 0:
            raise ValueError(f"{original!r} is not an LDAP filter: missing ')'")
        item = text[i:end]
        if "(" in item or not _ITEM.match(item):
            raise ValueError(f"{original!r} is not an LDAP filter: {item!r} is not 'attribute=value'")
        i = end
    if i >= len(text) or text[i] != ")":
        raise ValueError(f"{original!r} is not an LDAP filter: missing ')' at position {i}")
    return i + 1


def equals(attribute: str, value: str) -> str:
    """``(attribute=value)`` with ``value`` escaped."""
    return f"({attribute}={escape_filter_chars(value)})"


def all_of(*filters: str) -> str:
    """The conjunction of filters, skipping empty ones."""
    parts = [f for f in filters if f]
    if len(parts) == 1:
        return parts[0]
    return "(&" + "".join(parts) + ")"


def any_of(*filters: str) -> str:
    """The disjunction of filters, skipping empty ones."""
    parts = [f for f in filters if f]
    if len(parts) == 1:
        return parts[0]
    return "(|" + "".join(parts) + ")"
