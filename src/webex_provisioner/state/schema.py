"""The tables of the state database, as SQLAlchemy Core metadata.

The migrations in ``migrations/versions`` create these tables; a test checks that the two agree.
Datetimes are stored in UTC and always come back timezone-aware; mappings are stored as JSON text.

What one cycle leaves for the next has a table per kind (``baseline``, ``retry_anchors``,
``open_problems``, ``held_actions``, ``held_group_actions``, ``approvals``, ``refresh_tokens``);
``watermarks`` holds the change feeds' positions only.

Webex groups have ``group_links`` (one row per linked directory group) and ``group_members`` (the
users this tool made members of each, by anchor: the memberships it manages).

Licences have ``license_grants`` (the licences each linked user holds as far as this tool knows,
one row per anchor and licence), ``license_catalog`` (the organization's licences as last read),
``license_refusals`` and ``held_license_actions`` (by position).

The drift checks keep ``drift_verified``: one row at most, the fingerprints of the comparisons
that found a linked user as applied, so that the next check compares again only the users whose
fingerprint is not among them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

WEBEX_REFRESH_TOKEN = "webex.oauth"  # noqa: S105 - a row name, not a secret
"""The name of the ``refresh_tokens`` row of the Webex OAuth client (the one refresh token kept)."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC; a naive datetime is refused (it is ambiguous)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; give it a timezone")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time, whose text sorts like the instant.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JsonText(TypeDecorator[Any]):
    """A JSON document stored as text, so that every database keeps it the same way."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

links = Table(
    "links",
    metadata,
    Column("anchor", String(255), primary_key=True),
    Column("webex_id", String(255), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("email_lower", String(320), nullable=False, index=True),
    Column("dn", Text, nullable=False),
    Column("dn_lower", Text, nullable=False, index=True),
    Column("state", String(32), nullable=False),
    Column("applied", JsonText, nullable=False),
    Column("fingerprint", String(255), nullable=False),
    Column("deprovisioned_at", UtcDateTime),
    Column("deprovision_reason", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("finished_at", UtcDateTime),
    Column("outcome", String(64), nullable=False),
    Column("counts", JsonText, nullable=False),
    Column("detail", Text, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64), nullable=False, index=True),
    Column("time", UtcDateTime, nullable=False),
    Column("anchor", String(255), nullable=False, index=True),
    Column("email", String(320), nullable=False),
    Column("webex_id", String(255)),
    Column("action", String(64), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False),
)

watermarks = Table(
    "watermarks",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

held_actions = Table(
    "held_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("anchor", String(255), nullable=False),
    Column("email", String(320), nullable=False),
    Column("dn", Text, nullable=False),
    Column("webex_id", String(255)),
    Column("changes", JsonText, nullable=False),
    Column("desired", JsonText, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

instances = Table(
    "instances",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("role", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("role_since", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
)

baseline = Table(
    "baseline",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token", Text, nullable=False),
    CheckConstraint("id = 1", name="one_row"),
)
"""The token every stored watermark carries: one row (``id`` 1) or none."""

retry_anchors = Table(
    "retry_anchors",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("anchor", String(255), nullable=False),
)

open_problems = Table(
    "open_problems",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("anchor", String(255), nullable=False),
    Column("dn", Text, nullable=False),
    Column("email", String(320)),
    Column("detail", Text, nullable=False),
    Column("resource", String(16), nullable=False, server_default="user"),
)

approvals = Table(
    "approvals",
    metadata,
    Column("anchor", String(255), primary_key=True),
    Column("kind", String(32), primary_key=True),
)
"""Held actions (anchor, action kind) an operator approved for the instance running cycles."""

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("replaces", String(255), nullable=False),
    Column("stored_at", UtcDateTime, nullable=False),
)
"""A rotated refresh token (``value``, as Webex sent it) and the digest of the configured token it
replaced (``replaces``; empty when unknown), under ``WEBEX_REFRESH_TOKEN``."""

group_links = Table(
    "group_links",
    metadata,
    Column("anchor", String(255), primary_key=True),
    Column("webex_id", String(255), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("name_lower", Text, nullable=False, index=True),
    Column("dn", Text, nullable=False),
    Column("dn_lower", Text, nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
)
"""A directory group's anchor bound to a Webex group; ``name_lower`` and ``dn_lower`` are its lookup
keys (``codec.group_keys``)."""

group_members = Table(
    "group_members",
    metadata,
    Column("group_anchor", String(255), primary_key=True),
    Column("user_anchor", String(255), primary_key=True, index=True),
)
"""The members of each linked group that this tool made (user anchors): the only ones it removes."""

held_group_actions = Table(
    "held_group_actions",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("cycle_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("anchor", String(255), nullable=False),
    Column("name", Text, nullable=False),
    Column("dn", Text, nullable=False),
    Column("webex_id", String(255)),
    Column("members", JsonText, nullable=False),
    Column("old_name", Text),
    Column("skipped", Integer, nullable=False),
    Column("detail", Text, nullable=False),
)
"""Actions on Webex groups a guard held, in order; ``members`` is a JSON list of [anchor, e-mail]."""

notification_conditions = Table(
    "notification_conditions",
    metadata,
    Column("condition", String(32), primary_key=True),
    Column("since", UtcDateTime, nullable=False),
    Column("cycle_id", String(64), nullable=False),
    Column("notified_at", UtcDateTime),
)
"""The conditions operators were told about and that are not resolved yet (docs/notifications.md)."""

notification_outbox = Table(
    "notification_outbox",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("condition", String(32), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("notice", JsonText, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=False),
)
"""The notices a channel has not taken yet: one per channel and condition, tried again later."""

license_grants = Table(
    "license_grants",
    metadata,
    Column("anchor", String(255), primary_key=True),
    Column("license_id", String(255), primary_key=True),
    Column("ours", Boolean, nullable=False),
    Column("since", UtcDateTime),
)
"""A licence a linked user holds (``ours``: this tool assigned it). The primary key's index, which
starts with the anchor, is the one that lists a user's grants and all grants by anchor."""

license_catalog = Table(
    "license_catalog",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("name", Text, nullable=False),
    Column("total", Integer, nullable=False),
    Column("consumed", Integer, nullable=False),
    Column("calling", Boolean, nullable=False),
    Column("read_at", UtcDateTime, nullable=False),
)
"""The organization's licences as last read from Webex (``read_at``: when they were stored)."""

license_refusals = Table(
    "license_refusals",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("anchor", String(255), nullable=False),
    Column("license_id", String(255), nullable=False),
    Column("code", Integer),
    Column("detail", Text, nullable=False),
    Column("rules", String(255), nullable=False),
    Column("at", UtcDateTime),
)
"""Licences Webex refused to a user, not asked for again while the rules' digest is ``rules``."""

held_license_actions = Table(
    "held_license_actions",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("cycle_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("anchor", String(255), nullable=False),
    Column("email", String(320), nullable=False),
    Column("webex_id", String(255)),
    Column("detail", Text, nullable=False),
    Column("items", JsonText, nullable=False),
)
"""Licence actions a guard held, in order; ``items`` is a JSON list of [licence id, name, why]."""

drift_verified = Table(
    "drift_verified",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("fingerprints", LargeBinary, nullable=False),
    Column("count", Integer, nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
)
"""What the drift checks verified (``DriftBookkeeping``): one row at most, whose ``id`` is 1;
``fingerprints`` is the fingerprints concatenated (``VERIFIED_BYTES`` each, sorted, no two alike)
and ``count`` how many there are."""
