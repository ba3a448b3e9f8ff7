"""The User operations without HTTP: timestamps and versions under a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

from webex_provisioner.emulator.service import UserService, timestamp
from webex_provisioner.emulator.store import InMemoryUserStore

from .helpers import ORG, patch_body, user_body

NOON = datetime(2026, 5, 4, 12, 0, 0, 123456, tzinfo=UTC)


def test_timestamp_format() -> None:
    """meta dates are ISO-8601 UTC with milliseconds and Z, as Webex writes them."""
    assert timestamp(NOON) == "2026-05-04T12:00:00.123Z"


def test_every_write_moves_last_modified_and_version() -> None:
    """Writes within the same millisecond still get a later lastModified and the next version."""
    service = UserService(InMemoryUserStore(), ORG, clock=lambda: NOON)
    user = service.create(user_body())
    patched = service.patch(user["id"], patch_body({"op": "replace", "path": "title", "value": "x"}))
    replaced = service.replace(user["id"], user_body(title="y"))
    stamps = [u["meta"]["lastModified"] for u in (user, patched, replaced)]
    assert stamps == ["2026-05-04T12:00:00.123Z", "2026-05-04T12:00:00.124Z", "2026-05-04T12:00:00.125Z"]
    assert [u["meta"]["version"] for u in (user, patched, replaced)] == ['W/"1"', 'W/"2"', 'W/"3"']
    assert replaced["meta"]["created"] == user["meta"]["created"]


def test_stored_users_are_not_changed_in_place() -> None:
    """A PATCH replaces the stored dict; a dict handed out earlier keeps its values."""
    service = UserService(InMemoryUserStore(), ORG)
    user = service.create(user_body(title="before"))
    service.patch(user["id"], patch_body({"op": "replace", "path": "title", "value": "after"}))
    assert user["title"] == "before"
    assert service.get(user["id"])["title"] == "after"
