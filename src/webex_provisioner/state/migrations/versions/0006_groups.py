"""Webex groups: their links, the members this tool manages, held group actions; problems say
what they are about.

Creates ``group_links`` (a directory group's anchor bound to a Webex group, with its name and DN
keys), ``group_members`` (the users this tool made members of each) and ``held_group_actions``,
and adds ``open_problems.resource`` (``user`` for every existing row).

The downgrade drops them, with the open problems and approvals about groups, which the earlier
version cannot read.

Revision ID: 0006_groups
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webex_provisioner.state.schema import UtcDateTime

revision = "0006_groups"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_USER_ACTION_KINDS = ("create", "link", "update", "disable", "reactivate", "delete")
"""The action kinds revision 0005 knows (an approval of another kind is about a group)."""


def _create_group_tables() -> None:
    op.create_table(
        "group_links",
        sa.Column("anchor", sa.String(255), nullable=False),
        sa.Column("webex_id", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("name_lower", sa.Text(), nullable=False),
        sa.Column("dn", sa.Text(), nullable=False),
        sa.Column("dn_lower", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("anchor", name="pk_group_links"),
        sa.UniqueConstraint("webex_id", name="uq_group_links_webex_id"),
    )
    op.create_index("ix_group_links_name_lower", "group_links", ["name_lower"])
    op.create_index("ix_group_links_dn_lower", "group_links", ["dn_lower"])
    op.create_table(
        "group_members",
        sa.Column("group_anchor", sa.String(255), nullable=False),
        sa.Column("user_anchor", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("group_anchor", "user_anchor", name="pk_group_members"),
    )
    op.create_index("ix_group_members_user_anchor", "group_members", ["user_anchor"])


def _create_held_group_actions() -> None:
    op.create_table(
        "held_group_actions",
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("anchor", sa.String(255), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("dn", sa.Text(), nullable=False),
        sa.Column("webex_id", sa.String(255), nullable=True),
        sa.Column("members", sa.Text(), nullable=False),
        sa.Column("old_name", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_held_group_actions"),
    )


def upgrade() -> None:
    _create_group_tables()
    _create_held_group_actions()
    op.add_column(
        "open_problems", sa.Column("resource", sa.String(16), nullable=False, server_default="user")
    )


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("DELETE FROM open_problems WHERE resource <> 'user'"))
    approvals = sa.table("approvals", sa.column("kind", sa.String))
    bind.execute(sa.delete(approvals).where(approvals.c.kind.not_in(_USER_ACTION_KINDS)))
    with op.batch_alter_table("open_problems") as batch:
        batch.drop_column("resource")
    op.drop_table("held_group_actions")
    op.drop_index("ix_group_members_user_anchor", table_name="group_members")
    op.drop_table("group_members")
    op.drop_index("ix_group_links_dn_lower", table_name="group_links")
    op.drop_index("ix_group_links_name_lower", table_name="group_links")
    op.drop_table("group_links")
