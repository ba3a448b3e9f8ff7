"""ScimWebexClient against a scripted Webex (httpx.MockTransport): requests, paging, faults, errors."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import certifi
import httpx
import pytest
from structlog.testing import capture_logs

from tests.webex.webex_fakes import (
    BASE,
    ORG,
    TOKEN,
    FakeWebex,
    Sleeps,
    body_of,
    client_for,
    make_config,
    page,
    reply,
    user_resource,
)
from webex_provisioner.errors import (
    ConfigError,
    WebexAuthError,
    WebexConflictError,
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.model import Change, WebexUser
from webex_provisioner.webex import ScimWebexClient, scim

TRACKING = re.compile(r"^WEBEXPROV_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


# -- requests and the port -------------------------------------------------------------------


def test_every_request_carries_tracking_id_json_headers_and_bearer_token() -> None:
    """Requests go to {url}/identity/scim/{org}/v2 with a fresh TrackingID WEBEXPROV_<uuid4>,
    JSON Accept/Content-Type and the bearer token."""
    fake = FakeWebex(reply(200, user_resource()), reply(200, user_resource()))
    client = client_for(fake)
    client.get_user("u-1")
    client.get_user("u-1")
    first, second = fake.requests
    assert str(first.url) == f"{BASE}/Users/u-1"
    for request in fake.requests:
        assert TRACKING.match(request.headers["TrackingID"])
        assert request.headers["Accept"] == "application/json"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert first.headers["TrackingID"] != second.headers["TrackingID"]


def test_find_by_email_filters_by_username_and_compares_case_insensitively() -> None:
    """find_by_email sends an escaped userName eq filter and picks the user whose userName
    matches regardless of case and surrounding blanks."""
    other = user_resource("u-2", "bob@example.com")
    fake = FakeWebex(reply(200, page([other, user_resource("u-1", "Alice@Example.COM")])))
    user = client_for(fake).find_by_email(' alice@example.com"')
    assert fake.requests[0].url.params["filter"] == 'userName eq "alice@example.com\\""'
    assert user is None  # the stray quote is part of the address: nobody matches
    fake = FakeWebex(reply(200, page([other, user_resource("u-1", "Alice@Example.COM")])))
    user = client_for(fake).find_by_email(" alice@example.com ")
    assert user is not None and user.id == "u-1"


def test_find_by_email_none_when_nobody() -> None:
    """An empty list response means no such user."""
    assert client_for(FakeWebex(reply(200, page([])))).find_by_email("x@example.com") is None


Listing = Callable[..., Iterator[WebexUser]]


def _scanned(client: ScimWebexClient, keys: Collection[str] | None = None) -> Iterator[WebexUser]:
    return (listed.read() for listed in client.scan_users(keys))


@pytest.fixture(params=["list_users", "scan_users"])
def list_all(request: pytest.FixtureRequest) -> Listing:
    """Each way of listing every user: ``list_users``, and ``scan_users`` reading each user
    (the same requests, paging and checks)."""
    if request.param == "list_users":
        return lambda client, keys=None: client.list_users(keys)
    return _scanned


def test_list_users_steps_by_the_resources_received_and_stops_at_total(list_all: Listing) -> None:
    """Paging asks for 1000 and advances by the resources actually received, not by the
    itemsPerPage the server announces (larger here: trusting it would skip users silently);
    it stops once totalResults users were listed."""
    users = [user_resource(f"u-{i}", f"user{i}@example.com") for i in range(5)]
    pages = [page(users[0:2], total=5, start=1), page(users[2:4], total=5, start=3), page(users[4:], total=5)]
    for answer in pages:
        answer["itemsPerPage"] = 1000
    fake = FakeWebex(*(reply(200, answer) for answer in pages))
    listed = list(list_all(client_for(fake)))
    assert [u.id for u in listed] == [f"u-{i}" for i in range(5)]
    assert [r.url.params["startIndex"] for r in fake.requests] == ["1", "3", "5"]
    assert {r.url.params["count"] for r in fake.requests} == {"1000"}


def test_a_listing_of_some_keys_asks_webex_to_leave_meta_out(list_all: Listing) -> None:
    """``list_users(keys)`` asks every page with ``excludedAttributes=meta`` (it reads no
    ``meta.created``) and reads only those keys; without keys, nothing is excluded and every
    attribute is read, even if the server sends ``meta`` anyway."""
    users = [
        user_resource(f"u-{i}", f"user{i}@example.com", title="T", meta={"created": "2026-01-02T03:04:05Z"})
        for i in range(3)
    ]
    fake = FakeWebex(reply(200, page(users[:2], total=3)), reply(200, page(users[2:], total=3, start=3)))
    listed = list(list_all(client_for(fake), ("department",)))
    assert [r.url.params.get("excludedAttributes") for r in fake.requests] == ["meta", "meta"]
    assert [(u.id, dict(u.attributes), u.created) for u in listed] == [
        (f"u-{i}", {"email": f"user{i}@example.com"}, None) for i in range(3)
    ]
    fake = FakeWebex(reply(200, page(users, total=3)))
    (first, *_) = list_all(client_for(fake))
    assert "excludedAttributes" not in fake.requests[0].url.params
    assert first.attributes["title"] == "T" and first.created is not None


def _listing_fails(fake: FakeWebex, fragment: str, list_all: Listing) -> list[str]:
    """List through ``fake``, expect a WebexError containing ``fragment`` that says the listing
    cannot be trusted; return the ids listed before it."""
    listed: list[str] = []
    with pytest.raises(WebexError) as caught:
        listed.extend(u.id for u in list_all(client_for(fake)))
    assert fragment in caught.value.message and "cannot be trusted" in caught.value.message
    return listed


def test_a_server_ignoring_start_index_fails_the_listing_instead_of_looping(list_all: Listing) -> None:
    """A server that answers the first page whatever startIndex says (with a large total) makes
    the listing fail on the second page, which repeats users: no endless loop."""
    first = page([user_resource("u-1"), user_resource("u-2", "bob@example.com")], total=1_000_000)
    fake = FakeWebex(*(reply(200, first) for _ in range(3)))
    assert _listing_fails(fake, "lists user 'u-1' again", list_all) == ["u-1", "u-2"]
    assert len(fake.requests) == 2


def test_an_inflated_total_fails_the_listing_at_the_first_empty_page(list_all: Listing) -> None:
    """totalResults promises 10 users, the pages bring 3 then nothing: the listing fails (the
    missing users may exist), rather than ending as if it were complete."""
    fake = FakeWebex(
        reply(200, page([user_resource("u-1"), user_resource("u-2", "b@example.com")], total=10)),
        reply(200, page([user_resource("u-3", "c@example.com")], total=10)),
        reply(200, page([], total=10)),
    )
    _listing_fails(fake, "the page is empty after 3 of the 10 users announced", list_all)


def test_a_total_that_keeps_growing_is_capped_by_the_first_one(list_all: Listing) -> None:
    """A server that sends one new user per page and raises totalResults each time is stopped
    after as many pages as the first total allows."""
    replies = [
        reply(200, page([user_resource(f"u-{n}", f"u{n}@example.com")], total=3 + n)) for n in range(10)
    ]
    fake = FakeWebex(*replies)
    _listing_fails(fake, "4 pages did not bring", list_all)
    assert len(fake.requests) == 4


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ({"Resources": [user_resource()], "itemsPerPage": 1}, "no usable totalResults (None)"),
        ({"Resources": [user_resource()], "totalResults": "many"}, "no usable totalResults ('many')"),
        ({"totalResults": 5}, "without a Resources list"),
        ({"totalResults": 5, "Resources": {"id": "u-1"}}, "without a Resources list"),
    ],
)
def test_a_page_without_total_or_resources_fails_the_listing(
    answer: dict[str, object], fragment: str, list_all: Listing
) -> None:
    """A 200 without a usable totalResults (the only bound on the pages) or without a Resources
    list is an error naming what is missing, not an empty or endless listing."""
    _listing_fails(FakeWebex(reply(200, answer)), fragment, list_all)


def test_an_empty_organization_may_leave_resources_out(list_all: Listing) -> None:
    """totalResults 0 without Resources (RFC 7644 allows it) is an empty listing, in one request."""
    fake = FakeWebex(reply(200, {"totalResults": 0}))
    assert list(list_all(client_for(fake))) == []
    assert len(fake.requests) == 1


def test_a_resource_without_id_is_reported_and_skipped(list_all: Listing) -> None:
    """One resource without an id is logged and skipped; the other users are listed and the
    listing goes on to the next page."""
    broken = user_resource("x", "broken@example.com")
    del broken["id"]
    fake = FakeWebex(
        reply(200, page([user_resource("u-1"), broken], total=3)),
        reply(200, page([user_resource("u-3", "c@example.com")], total=3, start=3)),
    )
    with capture_logs() as logs:
        listed = [u.id for u in list_all(client_for(fake))]
    assert listed == ["u-1", "u-3"]
    assert [r.url.params["startIndex"] for r in fake.requests] == ["1", "3"]
    skipped = [e for e in logs if e["event"] == "webex.resource_skipped"]
    assert len(skipped) == 1 and "no id" in skipped[0]["reason"]


def test_a_lookup_answered_without_resources_is_an_error_unless_nobody_was_found() -> None:
    """find_by_email: a 200 without Resources is an error (the user may exist); totalResults 0
    without Resources means nobody."""
    with pytest.raises(WebexError, match="without a Resources list"):
        client_for(FakeWebex(reply(200, {"totalResults": 1}))).find_by_email("a@example.com")
    assert client_for(FakeWebex(reply(200, {"totalResults": 0}))).find_by_email("a@example.com") is None


def test_count_users_asks_for_one() -> None:
    """count_users reads totalResults of a count=1 page."""
    fake = FakeWebex(reply(200, page([user_resource()], total=4321)))
    assert client_for(fake).count_users() == 4321
    assert fake.requests[0].url.params["count"] == "1"


def test_create_user_posts_the_scim_body() -> None:
    """create_user POSTs to_resource(attributes) and returns the created user."""
    attributes = {"email": "alice@example.com", "firstName": "Alice", "workPhone": "+1 555"}
    fake = FakeWebex(reply(201, user_resource("new-id", name={"givenName": "Alice"})))
    user = client_for(fake).create_user(attributes, active=False)
    assert fake.requests[0].method == "POST"
    assert str(fake.requests[0].url) == f"{BASE}/Users"
    assert body_of(fake.requests[0]) == scim.to_resource(attributes, active=False)
    assert user.id == "new-id" and user.attributes["firstName"] == "Alice"


def test_create_without_email_is_rejected_without_request() -> None:
    """A create without e-mail raises WebexRejectedError and sends nothing."""
    fake = FakeWebex()
    with pytest.raises(WebexRejectedError, match="email"):
        client_for(fake).create_user({"displayName": "Nobody"})
    assert fake.requests == []


def test_update_user_patches_only_the_changes() -> None:
    """update_user PATCHes a PatchOp body with the operations of the changes and ``active``."""
    changes = [Change("title", "Dev", "Lead"), Change("workPhone", None, "+1 555")]
    fake = FakeWebex(reply(200, user_resource(title="Lead")))
    user = client_for(fake).update_user("u-1", changes, active=True)
    request = fake.requests[0]
    assert (request.method, str(request.url)) == ("PATCH", f"{BASE}/Users/u-1")
    assert body_of(request) == scim.patch_body(scim.patch_operations(changes, active=True))
    assert user.attributes["title"] == "Lead"


def test_update_without_changes_only_reads() -> None:
    """No changes and no ``active``: nothing is written, the user is read."""
    fake = FakeWebex(reply(200, user_resource()))
    assert client_for(fake).update_user("u-1", []).id == "u-1"
    assert fake.methods() == ["GET"]


@pytest.mark.parametrize(("has_address", "expected_op"), [(True, "replace"), (False, "add")])
def test_adding_an_address_field_checks_for_an_existing_work_address(
    has_address: bool, expected_op: str
) -> None:
    """Adding an address field reads the user first: an existing work address gets the field set
    in place, otherwise one work address entry is added (never a duplicate entry)."""
    addresses = [{"type": "work", "locality": "Paris"}] if has_address else []
    fake = FakeWebex(reply(200, user_resource(addresses=addresses)), reply(200, user_resource()))
    client_for(fake).update_user("u-1", [Change("street", None, "1 Main St")])
    assert fake.methods() == ["GET", "PATCH"]
    assert [op["op"] for op in body_of(fake.requests[1])["Operations"]] == [expected_op]


def test_patch_answered_with_204_reads_the_user() -> None:
    """A PATCH answered without body is followed by a GET to return the updated user."""
    fake = FakeWebex(reply(204), reply(200, user_resource(title="Lead")))
    assert client_for(fake).update_user("u-1", [Change("title", None, "Lead")]).attributes["title"] == "Lead"


def test_update_of_a_missing_user_is_not_found() -> None:
    """A 404 on PATCH raises WebexNotFoundError naming the user."""
    fake = FakeWebex(reply(404, {"detail": "User not found"}))
    with pytest.raises(WebexNotFoundError, match="u-9"):
        client_for(fake).update_user("u-9", [Change("title", None, "x")])


def test_get_user_missing_is_none() -> None:
    """get_user of an unknown id is None, not an error."""
    assert client_for(FakeWebex(reply(404))).get_user("u-9") is None


@pytest.mark.parametrize("status", [204, 404])
def test_delete_is_done_on_204_and_on_404(status: int) -> None:
    """DELETE succeeds on 204, and a 404 (already gone) counts as done."""
    fake = FakeWebex(reply(status))
    client_for(fake).delete_user("u-1")
    assert fake.methods() == ["DELETE"]


def test_user_id_cannot_escape_the_users_path() -> None:
    """A Webex id is percent-encoded into the path, so it cannot address another resource."""
    fake = FakeWebex(reply(404))
    client_for(fake).get_user("../Groups/x")
    assert fake.requests[0].url.raw_path.decode() == f"/identity/scim/{ORG}/v2/Users/..%2FGroups%2Fx"


# -- rate limits and faults -------------------------------------------------------------------


def test_429_sequence_honours_retry_after() -> None:
    """Each 429 waits its Retry-After (seconds or HTTP date, 5 s when missing), then retries."""
    sleeps = Sleeps()
    fake = FakeWebex(
        reply(429, **{"Retry-After": "3"}),
        reply(429, **{"Retry-After": "7"}),
        reply(429),
        reply(200, user_resource()),
    )
    client = client_for(fake, sleeps)
    assert client.get_user("u-1") is not None
    assert sleeps == [3.0, 7.0, 5.0]
    stats = client.request_stats()
    assert stats.throttled == 3 and stats.retries == 3
    assert stats.requests == {("GET", "429"): 3, ("GET", "200"): 1}


def test_429_on_create_is_retried() -> None:
    """A throttled POST was not applied: it is sent again after Retry-After."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(429, **{"Retry-After": "2"}), reply(201, user_resource()))
    assert client_for(fake, sleeps).create_user({"email": "alice@example.com"}).id == "u-1"
    assert fake.methods() == ["POST", "POST"] and sleeps == [2.0]


def test_503_then_success_backs_off() -> None:
    """A 503 without Retry-After on a read is retried after a jittered, capped backoff."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(503), reply(503), reply(200, page([], total=0)))
    assert client_for(fake, sleeps).count_users() == 0
    assert len(sleeps) == 2 and all(0 <= s <= 60 for s in sleeps)


def test_503_with_retry_after_on_create_is_retried() -> None:
    """A 503 that names a Retry-After refused the create: it is sent again."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(503, **{"Retry-After": "1"}), reply(201, user_resource()))
    client_for(fake, sleeps).create_user({"email": "alice@example.com"})
    assert fake.methods() == ["POST", "POST"] and sleeps == [1.0]


@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        reply(500, {"detail": "boom"}),
        reply(502),
        reply(504),
        reply(503),
    ],
    ids=["read-timeout", "write-timeout", "dropped", "500", "502", "504", "503-bare"],
)
def test_create_with_unknown_outcome_is_not_resent(fault: httpx.Response | Exception) -> None:
    """A POST that may have been applied raises WebexOutcomeUnknownError after ONE attempt,
    telling the caller to look the user up by e-mail first."""
    fake = FakeWebex(fault, reply(201, user_resource()))
    with pytest.raises(WebexOutcomeUnknownError, match="look the user up by e-mail") as info:
        client_for(fake).create_user({"email": "alice@example.com"})
    assert fake.methods() == ["POST"]
    assert "alice@example.com" in str(info.value)
    assert info.value.retryable


def test_create_not_sent_is_retried() -> None:
    """A connection that could not be opened carried nothing: the create is retried."""
    fake = FakeWebex(httpx.ConnectError("connection refused"), reply(201, user_resource()))
    assert client_for(fake).create_user({"email": "alice@example.com"}).id == "u-1"
    assert fake.methods() == ["POST", "POST"]


def test_created_but_unreadable_answer_is_outcome_unknown() -> None:
    """A 201 whose body cannot be read means the user probably exists: outcome unknown."""
    fake = FakeWebex(httpx.Response(201, text="<html>ok</html>"))
    with pytest.raises(WebexOutcomeUnknownError, match="probably created"):
        client_for(fake).create_user({"email": "alice@example.com"})


@pytest.mark.parametrize(
    "fault", [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("dropped"), reply(500), reply(502)]
)
def test_patch_and_delete_are_retried(fault: httpx.Response | Exception) -> None:
    """PATCH and DELETE are idempotent: a timeout, dropped connection or 5xx is retried."""
    fake = FakeWebex(fault, reply(200, user_resource()))
    client_for(fake).update_user("u-1", [Change("title", None, "x")])
    assert fake.methods() == ["PATCH", "PATCH"]
    fake = FakeWebex(fault, reply(204))
    client_for(fake).delete_user("u-1")
    assert fake.methods() == ["DELETE", "DELETE"]


def test_retries_exhausted_is_unavailable() -> None:
    """After max_retries retries the request fails with WebexUnavailableError saying what was
    attempted, how often, the last status and tracking id, and what to do."""
    sleeps = Sleeps()
    fake = FakeWebex(*[reply(502, {"detail": "bad gateway"}, TrackingID="WX_1")] * 3)
    client = client_for(fake, sleeps, make_config(max_retries=2))
    with pytest.raises(WebexUnavailableError) as info:
        client.get_user("u-1")
    message = str(info.value)
    assert len(fake.requests) == 3 and len(sleeps) == 2
    assert "reading Webex user u-1 failed after 3 attempt(s): HTTP 502" in message
    assert "bad gateway" in message and "WX_1" in message and "next cycle retries" in message
    assert info.value.status == 502 and info.value.tracking_id == "WX_1"


def test_throttled_too_long_advises_on_concurrency() -> None:
    """Endless 429s end in WebexUnavailableError advising to lower concurrency."""
    fake = FakeWebex(*[reply(429, **{"Retry-After": "1"})] * 2)
    with pytest.raises(WebexUnavailableError, match=r"lower webex\.concurrency"):
        client_for(fake, config=make_config(max_retries=1)).get_user("u-1")


def test_retry_after_beyond_the_cap_gives_up_at_once() -> None:
    """A Retry-After longer than max_retry_wait is not waited out: the error says so."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(429, **{"Retry-After": "3600"}))
    with pytest.raises(WebexUnavailableError, match=r"wait 3600 s.*max_retry_wait"):
        client_for(fake, sleeps).get_user("u-1")
    assert sleeps == []


def test_connection_errors_exhausted_are_unavailable() -> None:
    """An unreachable Webex fails with WebexUnavailableError (status 0) after the retries."""
    fake = FakeWebex(*[httpx.ConnectError("connection refused")] * 2)
    with pytest.raises(WebexUnavailableError, match="ConnectError") as info:
        client_for(fake, config=make_config(max_retries=1)).count_users()
    assert info.value.status == 0
    assert info.value.__cause__ is not None


# -- error answers ----------------------------------------------------------------------------


def test_scim_error_body_is_parsed() -> None:
    """A 400 with a SCIM error body gives WebexRejectedError with detail, scimType, Cisco error
    code and tracking id in the message and attributes (the error code as a number in ``code``)."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidValue",
        "detail": "title is too long",
        scim.CISCO_ERROR: {"trackingId": "ATLAS_123", "errorCode": "200001", "details": "title is too long"},
    }
    fake = FakeWebex(reply(400, body))
    with pytest.raises(WebexRejectedError) as info:
        client_for(fake).update_user("u-1", [Change("title", None, "x" * 600)])
    message = str(info.value)
    assert message.startswith(
        "updating Webex user u-1 failed: HTTP 400 Bad Request (invalidValue, error 200001)"
    )
    assert "title is too long" in message and "ATLAS_123" in message and "fix the values" in message
    assert (info.value.status, info.value.scim_type, info.value.tracking_id, info.value.code) == (
        400,
        "invalidValue",
        "ATLAS_123",
        200001,
    )
    assert len(fake.requests) == 1


def test_generic_webex_error_body_is_parsed() -> None:
    """The non-SCIM shape (message, errors[].description, trackingId) is understood too."""
    body = {
        "message": "Invalid request",
        "errors": [{"description": "Bad userName"}],
        "trackingId": "ROUTER_9",
    }
    with pytest.raises(
        WebexRejectedError, match=r"Invalid request; Bad userName \[Webex tracking id ROUTER_9\]"
    ):
        client_for(FakeWebex(reply(400, body))).create_user({"email": "alice@example.com"})


def test_tracking_id_falls_back_to_the_response_header_then_to_ours() -> None:
    """Without a tracking id in the body, the TrackingID response header is reported, and
    without that the TrackingID this client sent."""
    with pytest.raises(WebexRejectedError) as info:
        client_for(FakeWebex(reply(422, {"detail": "no"}, trackingid="HDR_1"))).get_user("u-1")
    assert info.value.tracking_id == "HDR_1"
    fake = FakeWebex(reply(400))
    with pytest.raises(WebexRejectedError) as info:
        client_for(fake).get_user("u-1")
    assert info.value.tracking_id == fake.requests[0].headers["TrackingID"]


def test_conflict_on_create() -> None:
    """A 409 on create is a WebexConflictError naming the e-mail and what to do."""
    fake = FakeWebex(reply(409, {"detail": "User already exists", "scimType": "uniqueness"}))
    with pytest.raises(
        WebexConflictError, match=r"creating Webex user alice@example.com failed: HTTP 409.*already has"
    ):
        client_for(fake).create_user({"email": "alice@example.com"})
    assert fake.methods() == ["POST"]


def test_static_token_refused_is_a_clear_auth_error() -> None:
    """A 401 with a static token is a WebexAuthError telling to get a new token or use OAuth;
    it is not retried and never contains the token."""
    fake = FakeWebex(
        reply(401, {"message": "The request requires a valid access token set in the Authorization"})
    )
    with pytest.raises(WebexAuthError) as info:
        client_for(fake).get_user("u-1")
    message = str(info.value)
    assert "the Webex token was refused (expired or revoked)" in message
    assert "get a new token and set webex.token / WEBEX_TOKEN, or configure webex.oauth" in message
    assert TOKEN not in message
    assert len(fake.requests) == 1


def test_forbidden_names_the_missing_rights() -> None:
    """A 403 is a WebexAuthError naming the scope and admin roles needed."""
    with pytest.raises(WebexAuthError, match=r"identity:people_rw.*id_user_admin"):
        client_for(FakeWebex(reply(403))).delete_user("u-1")


def test_non_json_answer_is_a_webex_error() -> None:
    """A 200 that is not JSON (a proxy page, a wrong URL) is a WebexError pointing at webex.url."""
    with pytest.raises(WebexError, match=r"webex\.url"):
        client_for(FakeWebex(httpx.Response(200, text="<html/>"))).count_users()


# -- construction -----------------------------------------------------------------------------


def test_repr_shows_base_url_and_org_never_the_token() -> None:
    """repr(client) names the base URL, org and credential kind, never a secret."""
    text = repr(client_for(FakeWebex()))
    assert BASE in text and ORG in text and "StaticToken" in text
    assert TOKEN not in text


def test_tls_verify_off_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    """webex.tls_verify: false works but logs a warning suggesting webex.ca_file."""
    with caplog.at_level(logging.WARNING):
        ScimWebexClient(make_config(tls_verify=False)).close()
    assert any(
        "webex.tls_verify: false" in r.getMessage() and "ca_file" in r.getMessage() for r in caplog.records
    )


def test_ca_file_is_loaded_and_a_bad_one_is_a_config_error(tmp_path: Path) -> None:
    """webex.ca_file builds a verifying TLS context; an unreadable one is a ConfigError naming the key."""
    ScimWebexClient(make_config(ca_file=certifi.where())).close()
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"webex\.ca_file"):
        ScimWebexClient(make_config(ca_file=bad))


def test_context_manager_closes() -> None:
    """The client is a context manager that closes its connection pool."""
    with client_for(FakeWebex()) as client:
        pass
    with pytest.raises(RuntimeError):
        client._session._http.get("https://webex.test/")


def test_a_token_echoed_by_webex_is_masked() -> None:
    """Should an error answer echo the bearer token, the raised message masks it."""
    fake = FakeWebex(reply(400, {"detail": f"bad header: Bearer {TOKEN}"}))
    with pytest.raises(WebexRejectedError) as info:
        client_for(fake).get_user("u-1")
    assert TOKEN not in str(info.value) and "Bearer <token>" in str(info.value)


def test_a_429_slows_every_worker_down_not_just_the_one_that_got_it() -> None:
    """After one worker gets 429 with Retry-After, other workers wait it out before their next request."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(429, **{"Retry-After": "4"}), *[reply(200, user_resource()) for _ in range(3)])
    client = client_for(fake, sleeps)
    worker = threading.Thread(target=client.get_user, args=("u-1",))
    worker.start()
    worker.join()
    assert sleeps == [4.0]  # the worker waited Retry-After and retried
    assert client.get_user("u-1") is not None  # another worker, right after
    assert len(sleeps) == 2 and 3.0 < sleeps[1] <= 4.0  # it waited out the rest of the pause first
    assert client.get_user("u-1") is not None
    assert len(sleeps) == 2  # a worker waits a pause only once
