"""SCIM Bulk: request building and result parsing (pure), and ScimWebexClient.create_users end
to end."""

from __future__ import annotations

import pytest

from tests.webex.webex_fakes import BASE, FakeWebex, body_of, client_for, reply
from webex_provisioner.errors import WebexConflictError, WebexOutcomeUnknownError, WebexRejectedError
from webex_provisioner.webex import bulk, scim
from webex_provisioner.webex.failures import ErrorInfo


def test_a_create_operation_carries_the_single_create_body() -> None:
    """A Bulk POST carries the body of a single create, with its bulkId."""
    attributes = {"email": "a@example.com", "title": "T"}
    assert bulk.create_operation("b1", attributes, active=False) == {
        "method": "POST",
        "path": "/Users",
        "bulkId": "b1",
        "data": scim.to_resource(attributes, active=False),
    }


def test_bulk_request_limits() -> None:
    """A BulkRequest holds 1 to 100 operations."""
    operation = bulk.create_operation("b1", {"email": "a@example.com"})
    assert bulk.bulk_request([operation]) == {"schemas": [bulk.BULK_REQUEST], "Operations": [operation]}
    with pytest.raises(ValueError, match="at least one"):
        bulk.bulk_request([])
    with pytest.raises(ValueError, match="at most 100"):
        bulk.bulk_request([operation] * 101)


def test_parse_bulk_response_reads_string_statuses_ids_and_errors() -> None:
    """String statuses become ints, the new id comes from location, failures carry the Cisco
    error details; lowercase ``operations`` is accepted too."""
    response = {
        "operations": [
            {"method": "POST", "bulkId": "b1", "status": "201", "location": f"{BASE}/Users/new-1"},
            {
                "method": "POST",
                "bulkId": "b2",
                "status": "409",
                "response": {
                    "schemas": [scim.ERROR],
                    "status": "409",
                    scim.CISCO_ERROR: {"trackingId": "T1", "errorCode": "E9", "details": "exists"},
                },
            },
            {"method": "DELETE", "status": "204", "location": f"{BASE}/Users/u-3"},
            "junk",
        ]
    }
    created, conflict, deleted = bulk.parse_bulk_response(response)
    assert created == bulk.BulkResult("POST", 201, "b1", "new-1") and created.ok
    assert conflict.status == 409 and not conflict.ok and conflict.bulk_id == "b2"
    assert conflict.error == ErrorInfo(detail="exists", error_code="E9", tracking_id="T1")
    assert deleted.webex_id == "u-3" and deleted.error is None


def test_create_users_posts_one_bulk_request_and_reads_outcomes() -> None:
    """create_users POSTs the creates to /Bulk (bulkId = position) and answers, per user and in
    order, the new id or the error of its operation; a user the conversion refuses is a
    WebexRejectedError and is not sent."""
    answer = {
        "Operations": [
            {"method": "POST", "bulkId": "0", "status": "201", "location": f"{BASE}/Users/new-0"},
            {"method": "POST", "bulkId": "2", "status": "409", "response": {"schemas": [scim.ERROR]}},
        ]
    }
    fake = FakeWebex(reply(200, answer))
    users = [
        ({"email": "a@example.com"}, True),
        ({"title": "no e-mail"}, True),
        ({"email": "c@example.com"}, False),
    ]
    created, refused, conflict = client_for(fake).create_users(users)
    assert created == "new-0"
    assert isinstance(refused, WebexRejectedError) and isinstance(conflict, WebexConflictError)
    assert str(fake.requests[0].url) == f"{BASE}/Bulk"
    sent = body_of(fake.requests[0])["Operations"]
    assert [op["bulkId"] for op in sent] == ["0", "2"] and sent[1]["data"]["active"] is False


def test_create_users_with_unknown_outcome_is_not_resent() -> None:
    """A Bulk request that timed out may have been applied: WebexOutcomeUnknownError, one attempt."""
    fake = FakeWebex(reply(502))
    with pytest.raises(WebexOutcomeUnknownError):
        client_for(fake).create_users([({"email": "a@example.com"}, True)])
    assert fake.methods() == ["POST"]


def test_create_users_refuses_more_than_max_batch() -> None:
    """More than ``max_batch`` (100) creates is refused before sending."""
    client = client_for(FakeWebex())
    with pytest.raises(ValueError, match="at most 100"):
        client.create_users([({"email": f"u{i}@example.com"}, True) for i in range(client.max_batch + 1)])


@pytest.mark.server
def test_create_users_against_the_emulator() -> None:
    """Against the emulator: a Bulk request creates the new users and reports a taken e-mail
    as a conflict."""
    emulator = pytest.importorskip("webex_provisioner.emulator")
    from tests.webex.webex_fakes import ORG, TOKEN, make_config
    from webex_provisioner.webex import ScimWebexClient

    with (
        emulator.EmulatorServer(org_id=ORG, token=TOKEN) as server,
        ScimWebexClient(make_config(url=server.url)) as client,
    ):
        client.create_user({"email": "old@example.com"})
        new, duplicate = client.create_users(
            [({"email": "new@example.com", "city": "Paris"}, True), ({"email": "OLD@example.com"}, True)]
        )
        created = client.get_user(str(new))
        assert created is not None and created.attributes["city"] == "Paris"
        assert isinstance(duplicate, WebexConflictError) and duplicate.status == 409
