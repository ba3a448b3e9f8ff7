"""SCIM Bulk: request building and result parsing (pure), and ScimWebexClient.bulk end to end."""

from __future__ import annotations

import pytest

from tests.webex.webex_fakes import BASE, FakeWebex, body_of, client_for, reply
from webex_provisioner.errors import WebexOutcomeUnknownError, WebexRejectedError
from webex_provisioner.model import Change
from webex_provisioner.webex import bulk, scim
from webex_provisioner.webex.failures import ErrorInfo


def test_operations_reuse_the_single_request_conversions() -> None:
    """Bulk POST/PATCH/DELETE carry the same bodies as single requests; ids are path-escaped."""
    attributes = {"email": "a@example.com", "title": "T"}
    assert bulk.create_operation("b1", attributes, active=False) == {
        "method": "POST",
        "path": "/Users",
        "bulkId": "b1",
        "data": scim.to_resource(attributes, active=False),
    }
    changes = [Change("title", "T", "U")]
    assert bulk.patch_operation("u/1", changes, active=True) == {
        "method": "PATCH",
        "path": "/Users/u%2F1",
        "data": scim.patch_body(scim.patch_operations(changes, active=True)),
    }
    assert bulk.delete_operation("u-1", bulk_id="d") == {
        "method": "DELETE",
        "path": "/Users/u-1",
        "bulkId": "d",
    }


def test_bulk_request_limits() -> None:
    """A BulkRequest holds 1 to 100 operations and optional failOnErrors."""
    body = bulk.bulk_request([bulk.delete_operation("u-1")], fail_on_errors=1)
    assert body == {
        "schemas": [bulk.BULK_REQUEST],
        "Operations": [{"method": "DELETE", "path": "/Users/u-1"}],
        "failOnErrors": 1,
    }
    with pytest.raises(ValueError, match="at least one"):
        bulk.bulk_request([])
    with pytest.raises(ValueError, match="at most 100"):
        bulk.bulk_request([bulk.delete_operation(f"u-{i}") for i in range(101)])


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


def test_client_bulk_posts_and_parses() -> None:
    """ScimWebexClient.bulk POSTs the BulkRequest to /Bulk and returns the parsed results."""
    answer = {"Operations": [{"method": "DELETE", "status": "204", "location": f"{BASE}/Users/u-1"}]}
    fake = FakeWebex(reply(200, answer))
    results = client_for(fake).bulk([bulk.delete_operation("u-1")])
    assert str(fake.requests[0].url) == f"{BASE}/Bulk"
    assert body_of(fake.requests[0])["Operations"] == [{"method": "DELETE", "path": "/Users/u-1"}]
    assert [r.status for r in results] == [204]


def test_client_bulk_with_unknown_outcome_is_not_resent() -> None:
    """A Bulk request that timed out may have been applied: WebexOutcomeUnknownError, one attempt."""
    fake = FakeWebex(reply(502))
    with pytest.raises(WebexOutcomeUnknownError):
        client_for(fake).bulk([bulk.create_operation("b", {"email": "a@example.com"})])
    assert fake.methods() == ["POST"]


def test_client_bulk_refuses_oversized_requests() -> None:
    """More than 100 operations is refused before sending."""
    with pytest.raises(WebexRejectedError, match="at most 100"):
        client_for(FakeWebex()).bulk([bulk.delete_operation(f"u-{i}") for i in range(101)])


def test_bulk_against_the_emulator() -> None:
    """Against the emulator: a Bulk creates, patches and deletes, and reports a duplicate as 409."""
    emulator = pytest.importorskip("webex_provisioner.emulator")
    from tests.webex.webex_fakes import ORG, TOKEN, make_config
    from webex_provisioner.webex import ScimWebexClient

    with (
        emulator.EmulatorServer(org_id=ORG, token=TOKEN) as server,
        ScimWebexClient(make_config(url=server.url)) as client,
    ):
        existing = client.create_user({"email": "old@example.com", "title": "before"})
        results = client.bulk(
            [
                bulk.create_operation("new", {"email": "new@example.com", "city": "Paris"}),
                bulk.create_operation("dup", {"email": "OLD@example.com"}),
                bulk.patch_operation(existing.id, [Change("title", "before", "after")]),
            ]
        )
        assert [(r.bulk_id, r.status) for r in results] == [("new", 201), ("dup", 409), (None, 200)]
        created = client.get_user(results[0].webex_id or "")
        assert created is not None and created.attributes["city"] == "Paris"
        assert results[1].error is not None and results[1].error.detail
        patched = client.get_user(existing.id)
        assert patched is not None and patched.attributes["title"] == "after"
        (deleted,) = client.bulk([bulk.delete_operation(existing.id)])
        assert deleted.status == 204 and client.get_user(existing.id) is None
