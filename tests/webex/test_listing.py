"""``webex.listing``: a page of users kept as Webex sent it, fingerprinted, read on demand; hostile
pages give what the standard library's decoding gives."""

from __future__ import annotations

import json

import pytest

from tests.webex.webex_fakes import page, user_resource
from webex_provisioner.webex import scim
from webex_provisioner.webex.listing import raw_page

EVERYTHING = scim.reading(None)


def encoded(answer: object) -> bytes:
    return json.dumps(answer).encode()


def test_each_user_reads_as_from_resource_and_keeps_its_fingerprint() -> None:
    """The users of a page read as ``from_resource`` reads their resources; each fingerprint
    depends on that user's bytes only."""
    users = [user_resource(f"u-{i}", f"user{i}@example.com", title=f"T{i}") for i in range(3)]
    first = raw_page(encoded(page(users, total=3)), EVERYTHING)
    assert (first.total, first.ids, first.skipped) == (3, ["u-0", "u-1", "u-2"], 0)
    assert [u.read() for u in first.users] == [scim.from_resource(r) for r in users]
    users[1] = user_resource("u-1", "user1@example.com", title="Boss")
    second = raw_page(encoded(page(users, total=3)), EVERYTHING)
    changed = [a.fingerprint != b.fingerprint for a, b in zip(first.users, second.users, strict=True)]
    assert changed == [False, True, False]


def test_what_is_not_a_user_is_counted_not_listed() -> None:
    """A resource that is not an object counts towards the page (for the paging checks) with no
    id; an object without an id is counted and skipped."""
    nameless = user_resource("x")
    del nameless["id"]
    answer = raw_page(encoded(page([user_resource("u-1"), 7, nameless], total=3)), EVERYTHING)
    assert answer.ids == ["u-1", None, None] and answer.skipped == 1
    assert [u.id for u in answer.users] == ["u-1"]


def test_a_page_msgspec_refuses_is_read_as_the_standard_library_reads_it() -> None:
    """A lone surrogate (which msgspec refuses) does not lose the page: its users read as the
    standard library decodes them, with fingerprints stable from one listing to the next."""
    content = encoded(page([user_resource("u-1", title="\ud800"), user_resource("u-2", "b@example.com")]))
    answer = raw_page(content, EVERYTHING)
    assert [u.read() for u in answer.users] == [
        scim.from_resource(r) for r in json.loads(content)["Resources"]
    ]
    again = raw_page(content, EVERYTHING)
    assert [u.fingerprint for u in answer.users] == [u.fingerprint for u in again.users]


@pytest.mark.parametrize(
    ("content", "ids", "absent"),
    [
        (b'{"totalResults": 0}', None, True),
        (b'{"totalResults": 0, "Resources": null}', None, True),
        (b'{"totalResults": 5, "Resources": {"id": "u-1"}}', None, False),
    ],
)
def test_a_page_without_a_resources_list(content: bytes, ids: object, absent: bool) -> None:
    """No Resources (or null) and a Resources that is not a list are told apart, as the paging
    checks need."""
    answer = raw_page(content, EVERYTHING)
    assert (answer.ids, answer.absent, answer.users) == (ids, absent, [])


@pytest.mark.parametrize("content", [b"[]", b"not json", b'"text"', b"[" * 100_000])
def test_an_answer_that_is_not_an_object_is_refused(content: bytes) -> None:
    """Text that is not a JSON object raises ``ValueError`` (or ``RecursionError`` when nested
    too deep), as ``decode_json`` does."""
    with pytest.raises((ValueError, RecursionError)):
        raw_page(content, EVERYTHING)
