"""Bookkeeping: a table per kind instead of JSON in watermark rows; DN keys of one normalizer.

Creates ``baseline``, ``retry_anchors``, ``open_problems``, ``approvals`` and ``refresh_tokens``,
moves what the watermark rows ``cycle.baseline``, ``cycle.retry_anchors``, ``cycle.open_problems``,
``cycle.approved_held`` and ``webex.oauth.refresh_token`` held into them and deletes those rows
(see ``bookkeeping_rows``: a malformed value is skipped, never fatal), and recomputes the links'
``dn_lower`` with ``model.keys.normalize_dn`` (see ``link_keys``).

The downgrade writes the tables back as those watermark rows, drops them, and restores the earlier
DN keys.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.state.migrations.bookkeeping_rows import (
    LEGACY_NAMES,
    TABLE_OF,
    bookkeeping_rows,
    watermark_values,
)
from webex_provisioner.state.migrations.link_keys import dn_key_0004, refresh_dn_keys
from webex_provisioner.state.schema import UtcDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_WATERMARKS = sa.table("watermarks", sa.column("name", sa.String), sa.column("value", sa.Text))
_ORDER = {"baseline": "id", "retry_anchors": "position", "open_problems": "position", "approvals": "anchor"}


def _create_tables() -> dict[str, sa.Table]:
    tables = [
        op.create_table(
            "baseline",
            sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("token", sa.Text(), nullable=False),
            sa.CheckConstraint("id = 1", name="ck_baseline_one_row"),
            sa.PrimaryKeyConstraint("id", name="pk_baseline"),
        ),
        op.create_table(
            "retry_anchors",
            sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("anchor", sa.String(255), nullable=False),
            sa.PrimaryKeyConstraint("position", name="pk_retry_anchors"),
        ),
        op.create_table(
            "open_problems",
            sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("anchor", sa.String(255), nullable=False),
            sa.Column("dn", sa.Text(), nullable=False),
            sa.Column("email", sa.String(320), nullable=True),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("position", name="pk_open_problems"),
        ),
        op.create_table(
            "approvals",
            sa.Column("anchor", sa.String(255), nullable=False),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.PrimaryKeyConstraint("anchor", "kind", name="pk_approvals"),
        ),
        op.create_table(
            "refresh_tokens",
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("value", sa.Text(), nullable=False),
            sa.Column("replaces", sa.String(255), nullable=False),
            sa.Column("stored_at", UtcDateTime(), nullable=False),
            sa.PrimaryKeyConstraint("name", name="pk_refresh_tokens"),
        ),
    ]
    return {table.name: table for table in tables}


def upgrade() -> None:
    bind = op.get_bind()
    tables = _create_tables()
    legacy = _WATERMARKS.c.name.in_(LEGACY_NAMES)
    now = datetime.now(UTC)
    stored = bind.execute(sa.select(_WATERMARKS.c.name, _WATERMARKS.c.value).where(legacy)).all()
    for name, value in stored:
        rows = bookkeeping_rows(name, value, now)
        if rows:
            bind.execute(tables[TABLE_OF[name]].insert(), rows)
    bind.execute(sa.delete(_WATERMARKS).where(legacy))
    refresh_dn_keys(bind, normalize_dn)


def downgrade() -> None:
    bind = op.get_bind()
    contents = {}
    for table in TABLE_OF.values():
        order = _ORDER.get(table, "name")
        query = sa.text(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608 - constant names
        contents[table] = [dict(row) for row in bind.execute(query).mappings()]
    values = watermark_values(contents)
    bind.execute(sa.delete(_WATERMARKS).where(_WATERMARKS.c.name.in_(LEGACY_NAMES)))
    if values:
        bind.execute(_WATERMARKS.insert(), [{"name": k, "value": v} for k, v in values.items()])
    for table in reversed(TABLE_OF.values()):
        op.drop_table(table)
    refresh_dn_keys(bind, dn_key_0004)
