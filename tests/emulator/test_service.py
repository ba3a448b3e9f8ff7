"""The User operations without HTTP: timestamps and versions under a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from webex_provisioner.emulator.errors import ScimError
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


def test_a_plain_listing_pages_like_a_filtered_one() -> None:
    """GET /Users without a filter or a sort pages the users in creation order with the same
    numbers as a search (total, the page's users), and still refuses a bad sortOrder."""
    service = UserService(InMemoryUserStore(), ORG)
    ids = [service.create(user_body(user_name=f"u{n}@example.com"))["id"] for n in range(5)]
    for start, count in ((1, 2), (3, 2), (5, 2), (6, 2), (2, 0)):
        params = {"startIndex": str(start), "count": str(count)}
        plain = service.search(params)
        searched = service.search({**params, "filter": 'userName sw "u"'})
        assert (plain.total, plain.users) == (searched.total, searched.users) == (5, searched.users)
        assert [u["id"] for u in plain.users] == ids[start - 1 : start - 1 + count]
    with pytest.raises(ScimError) as caught:
        service.search({"sortOrder": "sideways"})
    assert caught.value.status == 400


def test_answers_are_the_json_starlette_would_send() -> None:
    """The emulator's JSON answers (encoded by msgspec) are byte for byte what Starlette's own
    JSONResponse sends: compact, UTF-8, keys in order, non-ASCII characters as they are."""
    from starlette.responses import JSONResponse as StarletteJSON

    from webex_provisioner.emulator.web import JSONResponse

    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "Resources": [
            {"userName": "élève@example.com", "displayName": "Zoë «Ω» 日本", "active": True, "n": 1.5}
        ],
        "totalResults": 1,
        "empty": None,
    }
    assert JSONResponse(body).body == StarletteJSON(body).body
    assert JSONResponse(body).headers["content-type"] == StarletteJSON(body).headers["content-type"]
