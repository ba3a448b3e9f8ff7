"""Links: recompute the fingerprints of what was applied, in the faster form of this version.

A fingerprint of the earlier form never matches, so every user would be compared attribute by
attribute (correct, slower) until updated. Nothing else changes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from webex_provisioner.state.migrations.link_fingerprints import refresh_fingerprints

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    refresh_fingerprints(op.get_bind(), only_missing=False)


def downgrade() -> None:
    """An older version finds fingerprints it does not recognize and compares attribute by
    attribute: correct, slower. Nothing to undo."""
