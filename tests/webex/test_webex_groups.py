"""ScimWebexClient's groups against a scripted Webex (httpx.MockTransport): the requests each
operation sends, defensive paging, removes of members not in the group, faults and errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.webex.webex_fakes import BASE, FakeWebex, Sleeps, body_of, client_for, make_config, page, reply
from webex_provisioner.errors import (
    WebexAuthError,
    WebexConflictError,
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.webex import ScimWebexClient
from webex_provisioner.webex.group_scim import GROUP
from webex_provisioner.webex.scim import PATCH_OP

G1 = "g-1"


def group(
    group_id: str = G1, name: str = "Sales", external_id: str = "cn=sales", **extra: Any
) -> dict[str, Any]:
    return {"schemas": [GROUP], "id": group_id, "displayName": name, "externalId": external_id, **extra}


def members_page(
    ids: list[str], *, total: int | None = None, start: int = 1, kind: str = "user"
) -> dict[str, Any]:
    return {
        "schemas": ["urn:scim:schemas:extension:cisco:webexidentity:2.0:GroupMembers"],
        "displayName": "Sales",
        "totalResults": len(ids) if total is None else total,
        "itemsPerPage": len(ids),
        "startIndex": start,
        "members": [{"value": member, "type": kind} for member in ids],
    }


def scim_error(status: int, scim_type: str, detail: str = "nope") -> httpx.Response:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status)}
    return reply(status, {**body, "scimType": scim_type, "detail": detail}, TrackingID="ROUTER_1234")


def params_of(fake: FakeWebex) -> list[tuple[str, str, str]]:
    """(method, path below the SCIM base, startIndex) of each request."""
    return [
        (r.method, str(r.url.copy_with(query=None)).removeprefix(BASE), r.url.params.get("startIndex", ""))
        for r in fake.requests
    ]


# -- reads ---------------------------------------------------------------------------------------


def test_find_group_filters_by_escaped_name_and_compares_ignoring_case() -> None:
    """find_group sends ``displayName eq`` with quotes and backslashes escaped and no
    includeMembers, and picks the group of that name in any case, without members."""
    fake = FakeWebex(
        reply(200, page([group("g-2", 'R&D "x"'), group(G1, 'r&d "X" \\', members=[{"value": "u"}])]))
    )
    found = client_for(fake).find_group('R&D "x" \\')
    assert fake.requests[0].url.params["filter"] == 'displayName eq "R&D \\"x\\" \\\\"'
    assert "includeMembers" not in fake.requests[0].url.params
    assert found is not None and (found.id, found.members) == (G1, None)


def test_find_group_prefers_the_exact_spelling_and_may_find_none() -> None:
    """Among several groups of one name (servers that allow it) the one spelled exactly wins;
    an answer with other names only, or with no Resources and a total of 0, finds none."""
    fake = FakeWebex(
        reply(200, page([group("g-2", "SALES"), group(G1, "Sales")])),
        reply(200, page([group("g-3", "Sales team")])),
        reply(200, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0}),
    )
    client = client_for(fake)
    found = client.find_group("Sales")
    assert found is not None and found.id == G1
    assert client.find_group("Sales") is None
    assert client.find_group("Sales") is None


def test_list_groups_steps_by_the_groups_received_and_stops_at_the_total() -> None:
    """list_groups asks for 1000 a page, advances by the groups it got (not the itemsPerPage
    announced), stops once past totalResults, and lists groups without members."""
    groups = [group(f"g-{i}", f"Team {i}", members=[{"value": "u-1"}]) for i in range(5)]
    first, second, third = (
        page(groups[0:2], total=5),
        page(groups[2:4], total=5, start=3),
        page(groups[4:], total=5),
    )
    first["itemsPerPage"] = 1000
    fake = FakeWebex(reply(200, first), reply(200, second), reply(200, third))
    listed = list(client_for(fake).list_groups())
    assert [g.id for g in listed] == [f"g-{i}" for i in range(5)]
    assert all(g.members is None for g in listed)
    assert [r.url.params["startIndex"] for r in fake.requests] == ["1", "3", "5"]
    assert {r.url.params["count"] for r in fake.requests} == {"1000"}
    assert all("includeMembers" not in r.url.params for r in fake.requests)


def test_list_groups_stops_on_a_page_that_does_not_advance() -> None:
    """A server that ignores startIndex answers the first page again: the listing stops there,
    each group listed once."""
    same = page([group("g-0"), group("g-1", "Support")], total=10)
    fake = FakeWebex(reply(200, same), reply(200, same), reply(200, same))
    assert [g.id for g in client_for(fake).list_groups()] == ["g-0", "g-1"]
    assert len(fake.requests) == 2


def test_list_groups_skips_groups_listed_before() -> None:
    """A page that repeats some groups (the list shifted, or twice in one page) yields only
    those not seen yet."""
    fake = FakeWebex(
        reply(200, page([group("g-0"), group("g-1"), group("g-0")], total=4)),
        reply(200, page([group("g-1"), group("g-2")], total=4, start=4)),
    )
    assert [g.id for g in client_for(fake).list_groups()] == ["g-0", "g-1", "g-2"]
    assert [r.url.params["startIndex"] for r in fake.requests] == ["1", "4"]


def test_list_groups_never_reads_more_pages_than_the_first_total_announced() -> None:
    """A server whose total keeps growing, one new group a page, is read for at most the first
    total announced plus one pages."""
    replies = [reply(200, page([group(f"g-{i}")], total=3 + i, start=i + 1)) for i in range(10)]
    fake = FakeWebex(*replies)
    assert len(list(client_for(fake).list_groups())) == 4
    assert len(fake.requests) == 4


def test_a_200_without_resources_is_unavailable_with_the_tracking_id() -> None:
    """A 200 without Resources (and a total not 0) is a WebexUnavailableError saying what was
    listed, with Webex's TrackingID; nothing is listed from it."""
    fake = FakeWebex(reply(200, {"totalResults": 7}, TrackingID="ROUTER_abc"))
    with pytest.raises(WebexUnavailableError, match=r"listing Webex groups from #1.*ROUTER_abc") as raised:
        list(client_for(fake).list_groups())
    assert raised.value.tracking_id == "ROUTER_abc" and raised.value.status == 200


def test_an_unreadable_group_resource_is_a_webex_error() -> None:
    """A listed group without displayName is a WebexError naming the group."""
    fake = FakeWebex(reply(200, page([{"id": "g-9"}])))
    with pytest.raises(WebexError, match="group g-9 has no displayName"):
        list(client_for(fake).list_groups())


def test_get_group_reads_the_group_then_every_member_page() -> None:
    """get_group reads the group without its members, then pages /Members 500 at a time by the
    members received; members are the users (no type counts as a user), not groups or machines."""
    users = [f"u-{i}" for i in range(500)]
    last = members_page(["u-500"], total=503, start=501)
    last["members"] += [
        {"value": "g-sub", "type": "group"},
        {"value": "m-1", "type": "machine"},
        {"value": "u-x"},
    ]
    fake = FakeWebex(
        reply(200, group(members=[{"value": "u-0", "type": "user"}])),
        reply(200, members_page(users, total=503)),
        reply(200, last),
    )
    read = client_for(fake).get_group(G1)
    assert read is not None and (read.id, read.name, read.external_id) == (G1, "Sales", "cn=sales")
    assert read.members == frozenset([*users, "u-500", "u-x"])
    assert params_of(fake) == [
        ("GET", f"/Groups/{G1}", ""),
        ("GET", f"/Groups/{G1}/Members", "1"),
        ("GET", f"/Groups/{G1}/Members", "501"),
    ]
    assert fake.requests[0].url.params["excludedAttributes"] == "members"
    assert {r.url.params["count"] for r in fake.requests[1:]} == {"500"}


def test_get_group_of_an_empty_group_and_of_no_group() -> None:
    """An empty group has no members (a /Members answer without members and a total of 0 is
    fine); an unknown group, or one deleted while its members are read, is None."""
    empty = {"schemas": [], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1}
    fake = FakeWebex(
        reply(200, group()),
        reply(200, empty),
        reply(404, {"detail": "no group"}),
        reply(200, group()),
        reply(404, {"detail": "no group"}),
    )
    client = client_for(fake)
    read = client.get_group(G1)
    assert read is not None and read.members == frozenset()
    assert client.get_group(G1) is None
    assert client.get_group(G1) is None
    assert len(fake.requests) == 5


# -- writes --------------------------------------------------------------------------------------


def test_create_group_posts_the_core_schema_with_typed_members() -> None:
    """create_group POSTs the core Group schema, the name, the external id and the members (each
    once, typed user) and answers the group with them; without members it sends none."""
    fake = FakeWebex(reply(201, group(members=[{"value": "u-1"}])), reply(201, group("g-2", "Empty")))
    client = client_for(fake)
    created = client.create_group("Sales", "cn=sales", ["u-1", "u-2", "u-1"])
    assert body_of(fake.requests[0]) == {
        "schemas": [GROUP],
        "displayName": "Sales",
        "externalId": "cn=sales",
        "members": [{"value": "u-1", "type": "user"}, {"value": "u-2", "type": "user"}],
    }
    assert (created.id, created.members) == (G1, frozenset({"u-1", "u-2"}))
    client.create_group("Empty", "cn=empty")
    assert "members" not in body_of(fake.requests[1])
    assert fake.methods() == ["POST", "POST"]


def test_members_beyond_max_members_send_nothing() -> None:
    """max_members (100 by default, settable) bounds the members of one create, add or remove:
    more is a ValueError and no request is sent."""
    fake = FakeWebex()
    client = client_for(fake)
    assert client.max_members == 100
    with pytest.raises(ValueError, match="at most 100"):
        client.create_group("Sales", "cn=sales", [f"u-{i}" for i in range(101)])
    client.max_members = 2
    for operation in (client.add_members, client.remove_members):
        with pytest.raises(ValueError, match="at most 2 members"):
            operation(G1, ["u-1", "u-2", "u-3"])
    assert fake.requests == []
    with pytest.raises(ValueError, match="between 1 and 500"):
        client_for(fake, max_members=501)


def test_a_taken_name_is_a_conflict_about_groups() -> None:
    """A 409 on create is a WebexConflictError that speaks of the group name, with the
    TrackingID."""
    fake = FakeWebex(scim_error(409, "uniqueness", "a group named 'Sales' already exists"))
    with pytest.raises(WebexConflictError, match="another Webex group already has this name") as raised:
        client_for(fake).create_group("Sales", "cn=sales")
    assert raised.value.tracking_id == "ROUTER_1234"
    assert 'creating Webex group "Sales"' in str(raised.value)


@pytest.mark.parametrize(
    "fault",
    [httpx.ReadTimeout("timed out"), reply(502), reply(200, ["not", "a", "group"])],
    ids=["timeout", "502", "unreadable"],
)
def test_a_create_without_usable_answer_is_outcome_unknown_and_not_resent(
    fault: httpx.Response | Exception,
) -> None:
    """A create whose answer is lost (timeout, 502) or unreadable is WebexOutcomeUnknownError
    telling to look the group up by name, and is sent once only."""
    fake = FakeWebex(fault)
    with pytest.raises(WebexOutcomeUnknownError, match="look the group up by name"):
        client_for(fake).create_group("Sales", "cn=sales", ["u-1"])
    assert fake.methods() == ["POST"]


def test_429_then_success_on_a_patch_waits_and_sends_it_again() -> None:
    """add_members throttled (429, Retry-After 3) waits 3 s and sends the same PATCH again."""
    sleeps = Sleeps()
    fake = FakeWebex(reply(429, None, **{"Retry-After": "3"}), reply(200, group()))
    client_for(fake, sleeps).add_members(G1, ["u-1", "u-2"])
    assert sleeps == [3.0]
    first, second = (body_of(r) for r in fake.requests)
    assert (
        first
        == second
        == {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": "u-1", "type": "user"}, {"value": "u-2", "type": "user"}],
                }
            ],
        }
    )


def test_rename_patches_the_display_name_and_an_unknown_group_is_not_found() -> None:
    """rename_group PATCHes replace displayName (one request, 204 fine); a 404 is a
    WebexNotFoundError about the group."""
    fake = FakeWebex(reply(204), scim_error(404, "", "no group"))
    client = client_for(fake)
    client.rename_group(G1, "Sales EMEA")
    assert body_of(fake.requests[0])["Operations"] == [
        {"op": "replace", "path": "displayName", "value": "Sales EMEA"}
    ]
    with pytest.raises(WebexNotFoundError, match="Webex has no such group") as raised:
        client.rename_group("g/../x", "Other")
    assert str(fake.requests[1].url) == f"{BASE}/Groups/g%2F..%2Fx"
    assert "renaming Webex group g/../x" in str(raised.value)


def test_remove_members_sends_one_value_path_per_member_in_one_patch() -> None:
    """remove_members sends one PATCH with a remove of members[value eq "<id>"] per member,
    each once; nothing is read when it succeeds; no members, no request."""
    fake = FakeWebex(reply(200, group()))
    client = client_for(fake)
    client.remove_members(G1, ["u-1", 'u-"2', "u-1"])
    client.remove_members(G1, [])
    client.add_members(G1, [])
    assert body_of(fake.requests[0])["Operations"] == [
        {"op": "remove", "path": 'members[value eq "u-1"]'},
        {"op": "remove", "path": 'members[value eq "u-\\"2"]'},
    ]
    assert fake.methods() == ["PATCH"]


def test_remove_members_not_in_the_group_reads_the_members_and_removes_the_others() -> None:
    """A 400 noTarget (a member not in the group) makes remove_members read the members and send
    the PATCH again for those in the group only."""
    fake = FakeWebex(
        scim_error(400, "noTarget", 'no member matches [value eq "u-9"]'),
        reply(200, members_page(["u-1", "u-3"])),
        reply(200, group()),
    )
    client_for(fake).remove_members(G1, ["u-1", "u-9", "u-3"])
    assert fake.methods() == ["PATCH", "GET", "PATCH"]
    assert [op["path"] for op in body_of(fake.requests[2])["Operations"]] == [
        'members[value eq "u-1"]',
        'members[value eq "u-3"]',
    ]


def test_remove_members_none_of_which_are_in_sends_no_second_patch() -> None:
    """When none of the members is in the group, the read after noTarget ends the remove."""
    fake = FakeWebex(scim_error(400, "noTarget"), reply(200, members_page(["u-5"])))
    client_for(fake).remove_members(G1, ["u-1"])
    assert fake.methods() == ["PATCH", "GET"]


def test_remove_members_gives_up_when_members_keep_leaving() -> None:
    """noTarget again and again (members leaving meanwhile): three PATCHes, then a
    WebexUnavailableError that says so, with the TrackingID."""
    fake = FakeWebex(
        scim_error(400, "noTarget"),
        reply(200, members_page(["u-1", "u-2"])),
        scim_error(400, "noTarget"),
        reply(200, members_page(["u-1", "u-2"])),
        scim_error(400, "noTarget"),
    )
    with pytest.raises(WebexUnavailableError, match="kept leaving the group") as raised:
        client_for(fake).remove_members(G1, ["u-1", "u-2"])
    assert fake.methods() == ["PATCH", "GET", "PATCH", "GET", "PATCH"]
    assert raised.value.tracking_id == "ROUTER_1234"


def test_another_400_on_remove_is_raised_without_reading() -> None:
    """A 400 other than noTarget is the WebexRejectedError it is; nothing is read."""
    fake = FakeWebex(scim_error(400, "invalidValue", "too many members"))
    with pytest.raises(WebexRejectedError, match="too many members"):
        client_for(fake).remove_members(G1, ["u-1"])
    assert fake.methods() == ["PATCH"]


@pytest.mark.parametrize("status", [204, 404])
def test_delete_group_is_done_on_204_and_on_404(status: int) -> None:
    """delete_group sends one DELETE; a 404 counts as deleted."""
    fake = FakeWebex(reply(status))
    client_for(fake).delete_group(G1)
    assert params_of(fake) == [("DELETE", f"/Groups/{G1}", "")]


def test_forbidden_names_the_group_rights() -> None:
    """A 403 on a group write names the group admin role the token needs."""
    fake = FakeWebex(reply(403, {"detail": "forbidden"}))
    with pytest.raises(WebexAuthError, match="id_group_admin"):
        client_for(fake).add_members(G1, ["u-1"])


def test_each_write_is_one_request() -> None:
    """A group created with 100 members then given 200 more, renamed and deleted costs one POST,
    two PATCHes, one PATCH and one DELETE: nothing is read first."""
    fake = FakeWebex(
        reply(201, group()), reply(200, group()), reply(200, group()), reply(200, group()), reply(204)
    )
    client = ScimWebexClient(make_config(), transport=httpx.MockTransport(fake), sleep=Sleeps())
    members = [f"u-{i}" for i in range(300)]
    created = client.create_group("Sales", "cn=sales", members[:100])
    client.add_members(created.id, members[100:200])
    client.add_members(created.id, members[200:])
    client.rename_group(created.id, "Sales EMEA")
    client.delete_group(created.id)
    assert fake.methods() == ["POST", "PATCH", "PATCH", "PATCH", "DELETE"]
    assert client.request_stats().by_method() == {"POST": 1, "PATCH": 3, "DELETE": 1}
