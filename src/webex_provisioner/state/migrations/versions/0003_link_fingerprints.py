"""Links: fill in the fingerprint of what was applied, for links saved before it was kept.

A full cycle tells an unchanged user by its fingerprint; a link without one is compared
attribute by attribute, which is correct but slower. Nothing else changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from webex_provisioner.mapping import fingerprint

revision = "0003"
down_revision: str | None = "0002"
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
    missing = bind.execute(sa.select(links.c.anchor, links.c.applied).where(links.c.fingerprint == "")).all()
    update = (
        sa.update(links)
        .where(links.c.anchor == sa.bindparam("key"))
        .values(fingerprint=sa.bindparam("value"))
    )
    for start in range(0, len(missing), _BATCH):
        batch = missing[start : start + _BATCH]
        bind.execute(
            update, [{"key": anchor, "value": fingerprint(json.loads(applied))} for anchor, applied in batch]
        )


def downgrade() -> None:
    """The fingerprints stay: an older version stores and ignores them."""
