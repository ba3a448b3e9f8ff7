"""ScimWebexClient's licences against a scripted Webex (httpx.MockTransport): the ``/v1`` requests
each operation sends, paging by the Link header, the answers 200, 206 and 400, retries, lost
answers, and hostile bodies."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.webex.webex_fakes import ORG, URL, FakeWebex, Sleeps, body_of, client_for, make_config, reply
from webex_provisioner.errors import (
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.model import License, LicenseAnswer

V1 = f"{URL}/v1"
USER = "5dbc6ce9-00ed-4299-a880-b0cf96003b79"
OTHER = "82ef7a8f-5a7d-4c80-8d03-0273f7dde308"
MEETINGS, MESSAGING, CALLING = "lic-meetings", "lic-messaging", "lic-calling"


def webex_id(kind: str, key: str) -> str:
    """A ``/v1`` id as Webex writes it: unpadded base64 of ciscospark://us/<kind>/<key>."""
    return base64.b64encode(f"ciscospark://us/{kind}/{key}".encode()).decode().rstrip("=")


PERSON = webex_id("PEOPLE", USER)
ORG_ID = webex_id("ORGANIZATION", ORG)


def licence(
    license_id: str, name: str, total: object = 10, consumed: object = 0, **extra: Any
) -> dict[str, Any]:
    return {"id": license_id, "name": name, "totalUnits": total, "consumedUnits": consumed, **extra}


def holder(user: str, kind: str = "PEOPLE", **extra: Any) -> dict[str, Any]:
    return {"id": webex_id(kind, user), "type": "INTERNAL", "displayName": user[:8], **extra}


def holders_page(*users: dict[str, Any], next_url: str | None = None, consumed: int = 10) -> httpx.Response:
    headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
    return reply(200, {**licence(MEETINGS, "Meetings", consumed=consumed), "users": list(users)}, **headers)


def next_link(cursor: str, origin: str = URL, license_id: str = MEETINGS) -> str:
    return f"{origin}/v1/licenses/{license_id}?includeAssignedTo=user&limit=300&next={cursor}"


def assigned(*held: str, status: int = 200) -> httpx.Response:
    body = {"orgId": ORG_ID, "personId": PERSON, "email": "ann@example.com", "licenses": list(held)}
    return reply(status, body)


def license_error(code: int, message: str, description: str) -> httpx.Response:
    body = {
        "message": message,
        "errors": [{"errorCode": code, "description": description}],
        "trackingId": "NA_77",
    }
    return reply(400, body)


def path_of(request: httpx.Request) -> str:
    return str(request.url.copy_with(query=None)).removeprefix(V1)


# -- list_licenses -------------------------------------------------------------------------------


def test_list_licenses_reads_the_units_and_tells_calling_licences_by_name() -> None:
    """list_licenses sends one GET /v1/licenses for the organization and reads each licence's
    id, name and units; a licence whose name contains "calling" in any case is a Calling one."""
    items = [licence(MEETINGS, "Meetings", 50, 5), licence(CALLING, "WEBEX CALLING - Professional", 3, 3.0)]
    fake = FakeWebex(reply(200, {"items": items}))
    listed = client_for(fake).list_licenses()
    assert listed == [
        License(MEETINGS, "Meetings", 50, 5, calling=False),
        License(CALLING, "WEBEX CALLING - Professional", 3, 3, calling=True),
    ]
    (request,) = fake.requests
    assert (request.method, path_of(request), dict(request.url.params)) == (
        "GET",
        "/licenses",
        {"orgId": ORG_ID},
    )


def test_a_licence_without_units_is_left_out_and_odd_names_are_kept() -> None:
    """A licence that has no totalUnits or consumedUnits (Webex leaves out what does not apply)
    is left out; a name with control characters is kept as sent (it is escaped where printed)."""
    odd = "Meet\x1b[31mings\n\x00"
    items = [licence(MEETINGS, odd), {"id": MESSAGING, "name": "Messaging", "consumedUnits": 1}]
    listed = client_for(FakeWebex(reply(200, {"items": items}))).list_licenses()
    assert [(lic.id, lic.name) for lic in listed] == [(MEETINGS, odd)]


@pytest.mark.parametrize("units", ["5", -1, 1.5, True, 2**31, [1], {"n": 1}])
@pytest.mark.parametrize("field", ["totalUnits", "consumedUnits"])
def test_units_that_are_not_whole_numbers_fail_naming_the_licence(field: str, units: object) -> None:
    """Units that are not a whole number from 0 to 2**31-1 (text, negative, fractional, a
    boolean, too large, a list, an object) fail the listing with a WebexError naming the
    licence (its id and name, escaped) and the field."""
    item = {**licence(MEETINGS, "Meet\x07ings"), field: units}
    with pytest.raises(WebexError) as raised:
        client_for(FakeWebex(reply(200, {"items": [licence(MESSAGING, "Messaging"), item]}))).list_licenses()
    message = str(raised.value)
    assert MEETINGS in message and "'Meet\\x07ings'" in message and field in message
    assert "\x07" not in message


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "no list of items"),
        ({"items": {"id": MEETINGS}}, "no list of items"),
        ({"items": ["Meetings"]}, "not an object"),
        ({"items": [licence("", "Meetings")]}, "licence id"),
        ({"items": [licence("x" * 2000, "Meetings")]}, "licence id"),
        ({"items": [licence("id\nwith newline", "Meetings")]}, "licence id"),
        ({"items": [licence(7, "Meetings")]}, "licence id"),
        ({"items": [licence(MEETINGS, "")]}, "no name"),
        ({"items": [licence(MEETINGS, "M" * 300)]}, "no name"),
        ({"items": [licence(MEETINGS, ["Meetings"])]}, "no name"),
        ({"items": [licence(MEETINGS, "Meetings"), licence(MEETINGS, "Again")]}, "listed twice"),
        ({"items": [licence(f"l-{i}", "L") for i in range(10_001)]}, "more than 10000"),
    ],
)
def test_an_unreadable_listing_fails_clearly(body: dict[str, Any], says: str) -> None:
    """A listing without its items, with an element that is not a licence, an id that is not a
    printable id of at most 1024 characters, a name that is not 1 to 256 characters, a licence
    twice, or too many licences fails with a WebexError that says so."""
    with pytest.raises(WebexError, match=says):
        client_for(FakeWebex(reply(200, body))).list_licenses()


# -- license_holders -----------------------------------------------------------------------------


def test_license_holders_follows_the_link_header_asking_for_300_a_page() -> None:
    """license_holders asks for includeAssignedTo=user with limit=300, follows the Link header's
    next page (its query, on the same path), and yields the SCIM ids inside the person ids, each
    once, users of other organizations included; entries that are not users are skipped."""
    fake = FakeWebex(
        holders_page(
            holder(USER),
            holder("workspace-1", kind="PLACE"),
            {"id": 42},
            "not an entry",
            holder(OTHER, type="EXTERNAL"),
            next_url=next_link("CURSOR_2"),
        ),
        holders_page(holder(OTHER), holder("third-user")),
    )
    assert list(client_for(fake).license_holders(MEETINGS)) == [USER, OTHER, "third-user"]
    first, second = fake.requests
    assert {path_of(first), path_of(second)} == {f"/licenses/{MEETINGS}"}
    assert dict(first.url.params) == {"includeAssignedTo": "user", "limit": "300"}
    assert dict(second.url.params) == {"includeAssignedTo": "user", "limit": "300", "next": "CURSOR_2"}


def test_a_licence_id_cannot_escape_its_path() -> None:
    """A licence id with slashes and query characters stays one path segment."""
    fake = FakeWebex(holders_page())
    assert list(client_for(fake).license_holders("../people?x=1")) == []
    assert fake.requests[0].url.raw_path.startswith(b"/v1/licenses/..%2Fpeople%3Fx%3D1?")


def test_a_next_link_that_repeats_a_page_fails_the_listing() -> None:
    """A next link naming a page already read (a server that does not advance) fails the
    listing with a WebexError instead of looping; what came before was yielded."""
    fake = FakeWebex(
        holders_page(holder(USER), next_url=next_link("SAME")),
        holders_page(holder(OTHER), next_url=next_link("SAME")),
    )
    got: list[str] = []
    with pytest.raises(WebexError, match="already read: the listing does not advance"):
        got.extend(client_for(fake).license_holders(MEETINGS))
    assert got == [USER] and len(fake.requests) == 2


@pytest.mark.parametrize(
    "target",
    [
        next_link("C2", origin="https://elsewhere.test"),
        next_link("C2", origin="http://webex.test"),
        next_link("C2", license_id="other-licence"),
        "https://webex.test:8443/v1/licenses/lic-meetings?next=C2",
    ],
)
def test_a_next_link_that_leads_elsewhere_is_not_followed(target: str) -> None:
    """A next link to another host, scheme, port or path is not followed (the token is never sent
    there): the listing fails with a WebexError after the one request."""
    fake = FakeWebex(holders_page(holder(USER), next_url=target))
    with pytest.raises(WebexError, match="leads elsewhere"):
        list(client_for(fake).license_holders(MEETINGS))
    assert len(fake.requests) == 1


def test_a_relative_next_link_is_followed() -> None:
    """A next link given relative to the listing's URL is followed on the same path."""
    fake = FakeWebex(
        holders_page(holder(USER), next_url=f"/v1/licenses/{MEETINGS}?includeAssignedTo=user&next=C2"),
        holders_page(holder(OTHER)),
    )
    assert list(client_for(fake).license_holders(MEETINGS)) == [USER, OTHER]
    assert fake.requests[1].url.params["next"] == "C2"


def test_pages_beyond_what_the_licence_consumes_fail_the_listing() -> None:
    """A licence that consumes 10 units has at most 2 pages of holders: a server that keeps
    linking new pages is stopped with a WebexError; so is a page that lists only holders seen
    before yet links another."""
    endless = FakeWebex(*(holders_page(holder(f"user-{i}"), next_url=next_link(f"C{i}")) for i in range(5)))
    with pytest.raises(WebexError, match="2 pages and the listing goes on"):
        list(client_for(endless).license_holders(MEETINGS))
    assert len(endless.requests) == 2
    repeating = FakeWebex(
        holders_page(holder(USER), next_url=next_link("C1"), consumed=1000),
        holders_page(holder(USER), next_url=next_link("C2"), consumed=1000),
    )
    with pytest.raises(WebexError, match="no holder not listed before"):
        list(client_for(repeating).license_holders(MEETINGS))


def test_a_page_without_its_users_fails_unless_nothing_is_consumed() -> None:
    """A page without a users list fails with a WebexError, unless the licence says it has no
    unit consumed (then it has no holders)."""
    bare = licence(MEETINGS, "Meetings", consumed=3)
    with pytest.raises(WebexError, match="no list of users"):
        list(client_for(FakeWebex(reply(200, bare))).license_holders(MEETINGS))
    empty = licence(MEETINGS, "Meetings", consumed=0)
    assert list(client_for(FakeWebex(reply(200, empty))).license_holders(MEETINGS)) == []


def test_the_holders_of_an_unknown_licence_are_not_found() -> None:
    """A 404 for the licence is a WebexNotFoundError, raised when the listing is read."""
    holders = client_for(FakeWebex(reply(404, {"message": "The requested resource could not be found."})))
    with pytest.raises(WebexNotFoundError, match="no such licence"):
        list(holders.license_holders(MEETINGS))


# -- user_licenses -------------------------------------------------------------------------------


def test_user_licenses_reads_the_person() -> None:
    """user_licenses sends GET /v1/people/{personId} and answers its licenses."""
    person = {"id": PERSON, "emails": ["ann@example.com"], "licenses": [MEETINGS, MESSAGING, MEETINGS]}
    fake = FakeWebex(reply(200, person))
    assert client_for(fake).user_licenses(USER) == frozenset({MEETINGS, MESSAGING})
    (request,) = fake.requests
    assert (request.method, path_of(request)) == ("GET", f"/people/{PERSON}")


@pytest.mark.parametrize(
    ("reply_", "error"),
    [
        (reply(404, {"message": "The requested resource could not be found."}), WebexNotFoundError),
        (reply(200, {"id": PERSON}), WebexError),
        (reply(200, {"licenses": MEETINGS}), WebexError),
        (reply(200, {"licenses": [MEETINGS, {"id": MESSAGING}]}), WebexError),
        (reply(200, ["not", "an", "object"]), WebexError),
    ],
)
def test_user_licenses_of_a_missing_user_or_an_unreadable_person_fails(
    reply_: httpx.Response, error: type[WebexError]
) -> None:
    """A user Webex does not have is a WebexNotFoundError; a person without a list of licence
    ids is a WebexError."""
    with pytest.raises(error):
        client_for(FakeWebex(reply_)).user_licenses(USER)


# -- change_licenses -----------------------------------------------------------------------------


def test_change_licenses_sends_one_patch_removes_first() -> None:
    """change_licenses sends one PATCH /v1/licenses/users with the personId, the organization's
    id and the licences, removes first, each once and without properties; 200 is a complete
    answer with the licences held."""
    fake = FakeWebex(assigned(MEETINGS, MESSAGING))
    answer = client_for(fake).change_licenses(USER, add=[MEETINGS, MESSAGING, MEETINGS], remove=[CALLING])
    assert answer == LicenseAnswer(frozenset({MEETINGS, MESSAGING}), complete=True)
    (request,) = fake.requests
    assert (request.method, path_of(request)) == ("PATCH", "/licenses/users")
    assert body_of(request) == {
        "personId": PERSON,
        "orgId": ORG_ID,
        "licenses": [
            {"id": CALLING, "operation": "remove"},
            {"id": MEETINGS, "operation": "add"},
            {"id": MESSAGING, "operation": "add"},
        ],
    }


def test_a_206_is_a_partial_answer() -> None:
    """A 206 (an add not done, e.g. no free unit) answers the licences held, not complete."""
    answer = client_for(FakeWebex(assigned(MEETINGS, status=206))).change_licenses(
        USER, add=[MEETINGS, MESSAGING]
    )
    assert answer == LicenseAnswer(frozenset({MEETINGS}), complete=False)


def test_a_change_of_nothing_reads_the_user() -> None:
    """A change without adds or removes sends no PATCH: it reads the user's licences."""
    fake = FakeWebex(reply(200, {"id": PERSON, "licenses": [MEETINGS]}))
    assert client_for(fake).change_licenses(USER) == LicenseAnswer(frozenset({MEETINGS}), complete=True)
    assert fake.methods() == ["GET"]


def test_a_400_keeps_webex_error_code_and_message() -> None:
    """A 400 is a WebexRejectedError (not retried) whose code is Webex's errorCode and whose
    message has Webex's message, description and tracking id."""
    fake = FakeWebex(license_error(400404, "License conflict", "User cannot have both Calling licences"))
    with pytest.raises(WebexRejectedError) as raised:
        client_for(fake).change_licenses(USER, add=[CALLING])
    error = raised.value
    assert (error.code, error.status, error.tracking_id) == (400404, 400, "NA_77")
    assert "License conflict" in error.message and "User cannot have both Calling licences" in error.message
    assert "400404" in error.message and USER in error.message
    assert len(fake.requests) == 1


def test_a_missing_user_is_not_found() -> None:
    """A 404 to the change is a WebexNotFoundError."""
    with pytest.raises(WebexNotFoundError):
        client_for(FakeWebex(reply(404, {"message": "Person not found"}))).change_licenses(
            USER, add=[MEETINGS]
        )


def test_a_429_waits_what_webex_asks_then_sends_again() -> None:
    """A 429 with Retry-After waits that long and sends the change again; the request counts
    show the throttled attempt."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(429, {"message": "slow down"}, **{"Retry-After": "7"}), assigned(MEETINGS))
    client = client_for(fake, sleeps)
    assert client.change_licenses(USER, add=[MEETINGS]) == LicenseAnswer(frozenset({MEETINGS}))
    assert sleeps == [7.0] and fake.methods() == ["PATCH", "PATCH"]
    assert client.request_stats().requests == {("PATCH", "429"): 1, ("PATCH", "200"): 1}


@pytest.mark.parametrize("fault", [reply(502), reply(500), httpx.ReadTimeout("slow")])
def test_a_5xx_or_a_lost_answer_is_sent_again(fault: httpx.Response | Exception) -> None:
    """A change is harmless to send again: a 5xx or an answer lost is retried, and the next
    answer counts."""
    fake = FakeWebex(fault, assigned(MEETINGS))
    assert client_for(fake).change_licenses(USER, add=[MEETINGS]) == LicenseAnswer(frozenset({MEETINGS}))
    assert fake.methods() == ["PATCH", "PATCH"]


@pytest.mark.parametrize(
    "fault", [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), reply(504)]
)
def test_no_answer_through_the_retries_is_outcome_unknown(fault: httpx.Response | Exception) -> None:
    """When every attempt may have been applied without an answer (a timeout, a dropped
    connection, a 504), the change raises WebexOutcomeUnknownError once the retries are spent."""
    fake = FakeWebex(*[fault] * 3)
    client = client_for(fake, config=make_config(max_retries=2))
    with pytest.raises(WebexOutcomeUnknownError, match="may or may not have been applied"):
        client.change_licenses(USER, add=[MEETINGS])
    assert len(fake.requests) == 3


def test_a_change_never_sent_stays_unavailable() -> None:
    """A change whose connection could never be opened was not applied: the error is
    WebexUnavailableError (Webex unreachable), not an unknown outcome."""
    fake = FakeWebex(*[httpx.ConnectError("refused")] * 3)
    with pytest.raises(WebexUnavailableError) as raised:
        client_for(fake, config=make_config(max_retries=2)).change_licenses(USER, add=[MEETINGS])
    assert not isinstance(raised.value, WebexOutcomeUnknownError)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>proxy</html>"),
        reply(200, {"licenses": "all"}),
        reply(200, {"licenses": [None]}),
        reply(204),
        httpx.Response(200, content=b'{"licenses": ["' + b"x" * 70_000 + b'"]}'),
    ],
)
def test_an_answer_to_a_change_that_cannot_be_read_is_outcome_unknown(answer: httpx.Response) -> None:
    """A change answered with a body that is not JSON, without readable licences, empty, or
    larger than webex.max_response_bytes was probably applied: WebexOutcomeUnknownError."""
    fake = FakeWebex(answer)
    client = client_for(fake, config=make_config(max_response_bytes=65_536))
    with pytest.raises(WebexOutcomeUnknownError):
        client.change_licenses(USER, add=[MEETINGS])
    assert len(fake.requests) == 1


# -- error codes and hostile bodies ----------------------------------------------------------------


def test_an_error_code_is_kept_when_the_retries_are_spent() -> None:
    """A 503 that stays answers its errorCode: the WebexUnavailableError raised keeps it."""
    busy = reply(503, {"message": "busy", "errors": [{"errorCode": 503001, "description": "busy"}]})
    with pytest.raises(WebexUnavailableError) as raised:
        client_for(FakeWebex(busy, busy), config=make_config(max_retries=1)).list_licenses()
    assert raised.value.code == 503001


HOSTILE = [
    httpx.Response(200, content=b"\xff\xfe\x00garbage"),
    reply(200, []),
    reply(200, "text"),
    reply(200, {"items": [{"id": {"$ne": 1}, "name": {"x": 1}}]}),
    reply(200, {"items": None, "users": 7, "licenses": {"a": 1}}),
    httpx.Response(200, content=b'{"items": [' + b"[" * 30_000 + b"]" * 30_000 + b"]}"),
    httpx.Response(400, content=b'{"message": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"),
    httpx.Response(404, content=b"{" * 30_000),
    httpx.Response(200, content=b'{"consumedUnits": 1' + b"0" * 5000 + b', "users": []}'),
    httpx.Response(200, content=b" " * 70_000),
]


OPERATIONS = {
    "list_licenses": lambda client: client.list_licenses(),
    "license_holders": lambda client: list(client.license_holders(MEETINGS)),
    "user_licenses": lambda client: client.user_licenses(USER),
    "change_licenses": lambda client: client.change_licenses(USER, add=[MEETINGS]),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("answer", HOSTILE)
def test_hostile_answers_only_ever_raise_webex_errors(answer: httpx.Response, operation: str) -> None:
    """Whatever answers (not JSON, not an object, wrong types, nesting too deep to decode, in
    an answer or an error, a number too long, more than webex.max_response_bytes), each
    operation raises a WebexError, never another exception."""
    fake = FakeWebex(httpx.Response(answer.status_code, headers=answer.headers, content=answer.content))
    client = client_for(fake, config=make_config(max_response_bytes=65_536))
    with pytest.raises(WebexError):
        OPERATIONS[operation](client)
