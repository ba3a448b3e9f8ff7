"""Notifications: the conditions operators were told about, and the notices not delivered yet.

Creates ``notification_conditions`` and ``notification_outbox`` (empty: nothing was told before).
The downgrade drops them.

Revision ID: 0007
Revises: 0006_groups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webex_provisioner.state.schema import UtcDateTime

revision = "0007"
down_revision: str | None = "0006_groups"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "notification_conditions",
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.Column("cycle_id", sa.String(64), nullable=False),
        sa.Column("notified_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("condition", name="pk_notification_conditions"),
    )
    op.create_table(
        "notification_outbox",
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("condition", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "condition", name="pk_notification_outbox"),
    )


def downgrade() -> None:
    op.drop_table("notification_outbox")
    op.drop_table("notification_conditions")
