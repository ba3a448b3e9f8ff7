"""What migrations 0003 and 0004 share: (re)computing the fingerprint of what each link applied.

The fingerprint is computed by this version's ``model.keys.fingerprint``, whatever the revision
that asks for it: an older form would never match a desired user again.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy import Connection

from webex_provisioner.model.keys import fingerprint

_BATCH = 1000
_LINKS = sa.table(
    "links",
    sa.column("anchor", sa.String),
    sa.column("applied", sa.Text),
    sa.column("fingerprint", sa.String),
)


def refresh_fingerprints(bind: Connection, *, only_missing: bool) -> None:
    """Store the fingerprint of every link's applied attributes (``only_missing``: of the links
    stored without one)."""
    query = sa.select(_LINKS.c.anchor, _LINKS.c.applied).order_by(_LINKS.c.anchor)
    if only_missing:
        query = query.where(_LINKS.c.fingerprint == "")
    rows = bind.execute(query).all()
    update = (
        sa.update(_LINKS)
        .where(_LINKS.c.anchor == sa.bindparam("key"))
        .values(fingerprint=sa.bindparam("value"))
    )
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        bind.execute(
            update, [{"key": anchor, "value": fingerprint(json.loads(applied))} for anchor, applied in batch]
        )
