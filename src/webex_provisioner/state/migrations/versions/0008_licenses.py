"""Licences assigned by rule: the grants of linked users, the licence catalogue, the refusals not
to ask again and the held licence actions.

Creates ``license_grants`` (one row per anchor and licence id: whether this tool assigned it, and
since when; its primary key, anchor first, is the index that lists grants by user),
``license_catalog``, ``license_refusals`` and ``held_license_actions`` (by position), all empty:
nothing was granted before.

The downgrade drops them, with the approvals of held licence actions, whose kinds the earlier
version cannot read.

Revision ID: 0008_licenses
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webex_provisioner.state.schema import UtcDateTime

revision = "0008_licenses"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_LICENSE_ACTION_KINDS = ("assign_license", "reclaim_license")


def _create_grants_and_catalog() -> None:
    op.create_table(
        "license_grants",
        sa.Column("anchor", sa.String(255), nullable=False),
        sa.Column("license_id", sa.String(255), nullable=False),
        sa.Column("ours", sa.Boolean(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("anchor", "license_id", name="pk_license_grants"),
    )
    op.create_table(
        "license_catalog",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("consumed", sa.Integer(), nullable=False),
        sa.Column("calling", sa.Boolean(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_license_catalog"),
    )


def _create_refusals_and_held_actions() -> None:
    op.create_table(
        "license_refusals",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("anchor", sa.String(255), nullable=False),
        sa.Column("license_id", sa.String(255), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("rules", sa.String(255), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("position", name="pk_license_refusals"),
    )
    op.create_table(
        "held_license_actions",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("anchor", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("webex_id", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_held_license_actions"),
    )


def upgrade() -> None:
    _create_grants_and_catalog()
    _create_refusals_and_held_actions()


def downgrade() -> None:
    approvals = sa.table("approvals", sa.column("kind", sa.String))
    op.get_bind().execute(sa.delete(approvals).where(approvals.c.kind.in_(_LICENSE_ACTION_KINDS)))
    op.drop_table("held_license_actions")
    op.drop_table("license_refusals")
    op.drop_table("license_catalog")
    op.drop_table("license_grants")
