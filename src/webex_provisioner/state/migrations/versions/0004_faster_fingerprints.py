"""Links: recompute the fingerprints of what was applied, in the faster form of this version.

A fingerprint of the earlier form never matches, so every user would be compared attribute by
attribute (correct, slower) until updated. Nothing else changes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from webex_provisioner.mapping import fingerprint

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_BATCH = 1000


def upgrade() -> None:
    bind = op.get_bind()
    links = sa.table(
        "links",
        sa.column("anchor", sa.String),
        sa.column("applied", sa.Text),
        sa.column("fingerprint", sa.String),
    )
    update = (
        sa.update(links)
        .where(links.c.anchor == sa.bindparam("key"))
        .values(fingerprint=sa.bindparam("value"))
    )
    rows = bind.execute(sa.select(links.c.anchor, links.c.applied).order_by(links.c.anchor)).all()
    for start in range(0, len(rows), _BATCH):
        batch = rows[start : start + _BATCH]
        bind.execute(
            update, [{"key": anchor, "value": fingerprint(json.loads(applied))} for anchor, applied in batch]
        )


def downgrade() -> None:
    """An older version finds fingerprints it does not recognize and compares attribute by
    attribute: correct, slower. Nothing to undo."""
