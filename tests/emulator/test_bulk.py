"""``POST .../v2/Bulk``: up to 100 user and group operations, per-operation results as Webex shapes them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import CISCO_ERROR, ERROR, ORG, TOKEN, group_body, patch_body, user_body

pytestmark = pytest.mark.server


BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(
    scim: httpx.Client, operations: list[dict[str, Any]], key: str = "Operations", **extra: Any
) -> httpx.Response:
    return scim.post("/Bulk", json={"schemas": [BULK_REQUEST], key: operations, **extra})


def create_op(n: int, user_name: str | None = None) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": f"b{n}",
        "data": user_body(user_name or f"u{n}@example.com"),
    }


@pytest.mark.parametrize("key", ["Operations", "operations"])
def test_mixed_operations(server: EmulatorServer, scim: httpx.Client, key: str) -> None:
    """POST, PATCH and DELETE run in order with string statuses, locations, versions and bulkIds."""
    existing = server.add_user({"userName": "old@example.com"})
    response = bulk(
        scim,
        [
            create_op(1),
            {
                "method": "PATCH",
                "path": f"/Users/{existing['id']}",
                "data": patch_body({"op": "replace", "path": "active", "value": False}),
            },
            {"method": "delete", "path": f"/Users/{existing['id']}", "bulkId": "d"},
        ],
        key=key,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == [BULK_RESPONSE]
    created, patched, deleted = body["Operations"]
    new_id = created["location"].rsplit("/", 1)[1]
    assert created == {
        "method": "POST",
        "bulkId": "b1",
        "status": "201",
        "location": f"{server.scim_url}/Users/{new_id}",
        "version": 'W/"1"',
    }
    assert created["location"].endswith(f"/identity/scim/{ORG}/v2/Users/{new_id}")
    assert patched == {
        "method": "PATCH",
        "status": "200",
        "location": f"{server.scim_url}/Users/{existing['id']}",
        "version": 'W/"2"',
    }
    assert deleted == {
        "method": "DELETE",
        "bulkId": "d",
        "status": "204",
        "location": f"{server.scim_url}/Users/{existing['id']}",
    }
    assert [u["userName"] for u in server.users()] == ["u1@example.com"]


def test_failed_operations_carry_the_error(scim: httpx.Client) -> None:
    """A duplicate e-mail fails only its operation, with status "409" and the Webex error body."""
    response = bulk(scim, [create_op(1, "same@example.com"), create_op(2, "SAME@example.com"), create_op(3)])
    first, duplicate, third = response.json()["Operations"]
    assert (first["status"], third["status"]) == ("201", "201")
    assert duplicate["status"] == "409" and duplicate["bulkId"] == "b2"
    error = duplicate["response"]
    assert error["schemas"] == [ERROR] and error["status"] == "409" and error["scimType"] == "uniqueness"
    assert error[CISCO_ERROR]["trackingId"] == response.headers["TrackingID"]
    assert error[CISCO_ERROR]["errorCode"] and error[CISCO_ERROR]["details"]


def test_fail_on_errors_stops_processing(server: EmulatorServer, scim: httpx.Client) -> None:
    """failOnErrors=N stops after the N-th failed operation; the rest is not run."""
    operations = [
        create_op(1, "x@example.com"),
        create_op(2, "x@example.com"),
        create_op(3, "x@example.com"),
        create_op(4),
    ]
    results = bulk(scim, operations, failOnErrors=2).json()["Operations"]
    assert [r["status"] for r in results] == ["201", "409", "409"]
    assert len(server.users()) == 1


@pytest.mark.parametrize(
    ("operation", "status", "scim_type"),
    [
        ({"method": "POST", "path": "/Users", "data": user_body()}, "400", "invalidSyntax"),
        ({"method": "POST", "path": "/Devices", "bulkId": "d", "data": {}}, "400", "invalidPath"),
        ({"method": "POST", "path": "/Groups", "bulkId": "g", "data": {}}, "400", "invalidSyntax"),
        ({"method": "POST", "path": "/Users", "bulkId": "x", "data": "JSON text"}, "400", "invalidSyntax"),
        (
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "a@example.com"}},
            "400",
            "invalidSyntax",
        ),
        ({"method": "PUT", "path": "/Users/x", "data": user_body()}, "405", None),
        (
            {
                "method": "PATCH",
                "path": "/Users/unknown",
                "data": patch_body({"op": "remove", "path": "title"}),
            },
            "404",
            None,
        ),
        ({"method": "PATCH", "path": "/Users/x", "data": None}, "400", "invalidSyntax"),
        ({"method": "DELETE", "path": "/Users"}, "400", "invalidPath"),
        ({"method": "DELETE", "path": "/Users/unknown"}, "404", None),
        ({"method": "DELETE"}, "400", "invalidSyntax"),
        ("not an object", "400", "invalidSyntax"),
    ],
)
def test_invalid_operations(scim: httpx.Client, operation: Any, status: str, scim_type: str | None) -> None:
    """An invalid operation fails with its own status; the request itself answers 200."""
    response = bulk(scim, [operation])
    assert response.status_code == 200
    (result,) = response.json()["Operations"]
    assert result["status"] == status
    assert result["response"].get("scimType") == scim_type


def test_at_most_100_operations(server: EmulatorServer, scim: httpx.Client) -> None:
    """101 operations are refused as a whole with 400 tooMany; 100 are accepted."""
    response = bulk(scim, [create_op(n) for n in range(101)])
    assert response.status_code == 400 and response.json()["scimType"] == "tooMany"
    assert server.users() == []
    assert bulk(scim, [create_op(n) for n in range(100)]).status_code == 200
    assert len(server.users()) == 100


def test_operation_limit_is_configurable() -> None:
    """max_bulk_operations changes the limit."""
    with EmulatorServer(org_id=ORG, token=TOKEN, max_bulk_operations=2) as small:
        client = httpx.Client(base_url=small.scim_url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert bulk(client, [create_op(n) for n in range(3)]).json()["scimType"] == "tooMany"


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": []}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST]}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": {}}, "invalidSyntax"),
        ({"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": 0}, "invalidValue"),
        ({"schemas": [BULK_REQUEST], "Operations": [], "failOnErrors": "1"}, "invalidValue"),
    ],
)
def test_invalid_requests(scim: httpx.Client, body: dict[str, Any], scim_type: str) -> None:
    """A Bulk request without its schema, operations array or a valid failOnErrors is 400."""
    response = scim.post("/Bulk", json=body)
    assert response.status_code == 400 and response.json()["scimType"] == scim_type


def test_bulk_needs_authentication(server: EmulatorServer) -> None:
    """Bulk is behind the bearer token like every SCIM endpoint."""
    assert httpx.post(f"{server.scim_url}/Bulk", json={}).status_code == 401


def test_group_operations(server: EmulatorServer, scim: httpx.Client) -> None:
    """POST /Groups, PATCH and DELETE /Groups/{id} run inside Bulk like their single requests."""
    (alice,) = [server.add_user({"userName": "alice@example.com"})["id"]]
    stale = server.add_group({"displayName": "Stale"})
    operations = [
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group_body("Sales", alice)},
        {"method": "DELETE", "path": f"/Groups/{stale['id']}"},
    ]
    created, deleted = bulk(scim, operations).json()["Operations"]
    assert (created["status"], created["bulkId"], created["version"]) == ("201", "g", 'W/"1"')
    group_id = created["location"].rsplit("/", 1)[1]
    assert created["location"] == f"{server.scim_url}/Groups/{group_id}"
    assert (deleted["status"], deleted["location"]) == ("204", f"{server.scim_url}/Groups/{stale['id']}")
    removal = patch_body({"op": "remove", "path": f'members[value eq "{alice}"]'})
    (patched,) = bulk(scim, [{"method": "PATCH", "path": f"/Groups/{group_id}", "data": removal}]).json()[
        "Operations"
    ]
    assert (patched["status"], patched["version"]) == ("200", 'W/"2"')
    assert server.group_members(group_id) == [] and [g["displayName"] for g in server.groups()] == ["Sales"]


def test_bulk_id_references(server: EmulatorServer, scim: httpx.Client) -> None:
    """A group created in the same request can name new users as members through bulkId:<id>,
    and a later operation can address a new resource as /Groups/bulkId:<id>."""
    operations = [
        create_op(1),
        create_op(2),
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "team",
            "data": {**group_body("Team"), "members": [{"value": "bulkId:b1"}, {"value": "bulkId:b2"}]},
        },
        {
            "method": "PATCH",
            "path": "/Groups/bulkId:team",
            "data": patch_body({"op": "replace", "path": "displayName", "value": "Team A"}),
        },
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "bad",
            "data": {**group_body("Bad"), "members": [{"value": "bulkId:zz"}]},
        },
    ]
    results = bulk(scim, operations).json()["Operations"]
    assert [r["status"] for r in results] == ["201", "201", "201", "200", "400"]
    user_ids = [r["location"].rsplit("/", 1)[1] for r in results[:2]]
    group_id = results[2]["location"].rsplit("/", 1)[1]
    assert results[3]["location"] == f"{server.scim_url}/Groups/{group_id}"
    assert server.group_members(group_id) == user_ids
    assert server.group(group_id)["displayName"] == "Team A"  # type: ignore[index]
    assert "bulkId:zz" in results[4]["response"]["detail"]


def test_put_is_not_a_bulk_method_for_groups(server: EmulatorServer, scim: httpx.Client) -> None:
    """Webex documents POST, PATCH and DELETE in Bulk: PUT of a group fails with 405 like a user's."""
    group = server.add_group({"displayName": "Sales"})
    (result,) = bulk(
        scim, [{"method": "PUT", "path": f"/Groups/{group['id']}", "data": group_body("X")}]
    ).json()["Operations"]
    assert result["status"] == "405"
