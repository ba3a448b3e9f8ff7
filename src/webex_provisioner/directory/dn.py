"""Distinguished names compared the way an LDAP server compares them (case- and space-insensitive)."""

from __future__ import annotations

from webex_provisioner.model.keys import is_dn, normalize_dn

__all__ = ["is_dn", "is_under", "normalize_dn"]


def is_under(dn: str, base: str) -> bool:
    """Whether ``dn`` is ``base`` or below it."""
    entry, parent = normalize_dn(dn), normalize_dn(base)
    return entry == parent or entry.endswith("," + parent)
