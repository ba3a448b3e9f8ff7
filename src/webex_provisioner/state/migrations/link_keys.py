"""Recomputing the DN lookup key of the links (``links.dn_lower``), for migration 0005.

Revision 0004 and earlier kept ``dn_key_0004`` of each DN: lower case, blanks around ``,``,
``=`` and ``+`` taken out. The project now has one DN normalizer, ``model.keys.normalize_dn``,
which parses the DN as an LDAP server does (escapes, multi-valued RDNs in order, hex values); the
two agree on plain DNs and differ on the others, which ``find_links`` would then miss. The upgrade
stores ``normalize_dn``'s form; the downgrade restores the earlier one, for the earlier version.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import Connection

_BATCH = 1000
_LINKS = sa.table(
    "links", sa.column("anchor", sa.String), sa.column("dn", sa.Text), sa.column("dn_lower", sa.Text)
)
_SEPARATOR = re.compile(r"([,=+])")
_BLANK = re.compile(r"\s")


def dn_key_0004(dn: str) -> str:
    """The DN key of revision 0004 and earlier: lower case, no blanks around ``,``, ``=``, ``+``.

    Split at the separators and strip the pieces, in linear time: revision 0004's expression
    ``\\s*([,=+])\\s*`` backtracked quadratically over a long run of blanks (seconds for a DN of
    20,000 spaces), and gives the same key."""
    dn = dn.strip()
    if _BLANK.search(dn) is None:
        return dn.lower()
    return "".join(piece.strip() for piece in _SEPARATOR.split(dn)).lower()


def refresh_dn_keys(bind: Connection, key: Callable[[str], str]) -> int:
    """Store ``key(dn)`` as the ``dn_lower`` of every link whose stored key differs; how many changed."""
    rows = bind.execute(sa.select(_LINKS.c.anchor, _LINKS.c.dn, _LINKS.c.dn_lower).order_by(_LINKS.c.anchor))
    changed = [
        {"key_anchor": anchor, "key_value": wanted}
        for anchor, dn, stored in rows
        if (wanted := key(dn)) != stored
    ]
    update = (
        sa.update(_LINKS)
        .where(_LINKS.c.anchor == sa.bindparam("key_anchor"))
        .values(dn_lower=sa.bindparam("key_value"))
    )
    for start in range(0, len(changed), _BATCH):
        bind.execute(update, changed[start : start + _BATCH])
    return len(changed)
