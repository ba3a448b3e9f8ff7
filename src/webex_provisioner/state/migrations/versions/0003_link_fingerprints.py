"""Links: fill in the fingerprint of what was applied, for links saved before it was kept.

A full cycle tells an unchanged user by its fingerprint; a link without one is compared
attribute by attribute, which is correct but slower. Nothing else changes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from webex_provisioner.state.migrations.link_fingerprints import refresh_fingerprints

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    refresh_fingerprints(op.get_bind(), only_missing=True)


def downgrade() -> None:
    """The fingerprints stay: an older version stores and ignores them."""
