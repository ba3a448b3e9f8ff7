"""What the drift checks verified: the fingerprints of the comparisons that found a linked user
as applied.

Creates ``drift_verified``, which holds one row at most (``id`` 1): the fingerprints the last
saving check kept, concatenated in ``fingerprints`` (16 bytes each, sorted), how many there are
(``count``, which the blob's length must match) and when they were saved. It is created empty:
the first check after the upgrade compares every user, as before.

The downgrade drops it; nothing else refers to it, and forgetting fingerprints is harmless.

Revision ID: 0009_drift_verified
Revises: 0008_licenses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webex_provisioner.state.schema import UtcDateTime

revision = "0009_drift_verified"
down_revision: str | None = "0008_licenses"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "drift_verified",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprints", sa.LargeBinary(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("saved_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_drift_verified"),
    )


def downgrade() -> None:
    op.drop_table("drift_verified")
