"""The People API over HTTP: the SCIM users as ``/v1/people`` shows them."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import ENTERPRISE, MEETINGS, ORG, TOKEN, patch_body, webex_error

PHOTO = "https://photos.example.com/ann.png"


@pytest.fixture
def ann(server: EmulatorServer) -> dict[str, Any]:
    boss = server.add_user({"userName": "boss@example.com", "displayName": "The Boss"})
    return server.add_user(
        {
            "userName": "ann@example.com",
            "displayName": "Ann Lee",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "title": "Engineer",
            "photos": [
                {"value": "https://photos.example.com/thumb.png", "type": "thumbnail"},
                {"value": PHOTO, "type": "photo", "primary": True},
            ],
            "phoneNumbers": [{"value": "+1 408 555 0100", "type": "work", "primary": True}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": boss["id"]}},
        }
    )


def test_person_shape(v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]) -> None:
    """GET /v1/people/{id} maps the SCIM user: ids in Webex's base64 form, names, avatar from photos,
    licences held, dates, and the admin-only fields as strings."""
    meetings = next(lic["id"] for lic in server.licenses() if lic["name"] == MEETINGS)
    v1.patch("/licenses/users", json={"email": "ann@example.com", "licenses": [{"id": meetings}]})
    response = v1.get(f"/people/{server.person_id(ann['id'])}")
    assert response.status_code == 200
    person = response.json()
    boss_id = ann[ENTERPRISE]["manager"]["value"]
    assert person == {
        "id": server.person_id(ann["id"]),
        "emails": ["ann@example.com"],
        "displayName": "Ann Lee",
        "firstName": "Ann",
        "lastName": "Lee",
        "title": "Engineer",
        "department": "R&D",
        "manager": "The Boss",
        "managerId": server.person_id(boss_id),
        "phoneNumbers": [{"value": "+1 408 555 0100", "type": "work", "primary": True}],
        "avatar": PHOTO,
        "orgId": server.webex_org_id,
        "roles": [],
        "licenses": [meetings],
        "created": ann["meta"]["created"],
        "lastModified": ann["meta"]["lastModified"],
        "status": "pending",
        "invitePending": "false",
        "loginEnabled": "true",
        "type": "person",
    }


def test_ids_decode_to_the_scim_ids(server: EmulatorServer, ann: dict[str, Any]) -> None:
    """personId and orgId are unpadded standard base64 of ciscospark://us/PEOPLE|ORGANIZATION/<uuid>."""
    assert (
        base64.b64decode(server.person_id(ann["id"]) + "==").decode() == f"ciscospark://us/PEOPLE/{ann['id']}"
    )
    assert base64.b64decode(server.webex_org_id + "==").decode() == f"ciscospark://us/ORGANIZATION/{ORG}"
    assert "=" not in server.person_id(ann["id"])


def test_lookup_by_email(v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]) -> None:
    """?email= finds the person whatever the case; an unknown address gives an empty list."""
    found = v1.get("/people", params={"email": "ANN@example.com"}).json()
    assert [p["id"] for p in found["items"]] == [server.person_id(ann["id"])]
    assert v1.get("/people", params={"email": "ghost@example.com"}).json()["items"] == []


def test_inactive_users_are_listed(
    v1: httpx.Client, scim: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
) -> None:
    """A deactivated user is still found, with loginEnabled "false"."""
    scim.patch(f"/Users/{ann['id']}", json=patch_body({"op": "replace", "path": "active", "value": False}))
    (person,) = v1.get("/people", params={"email": "ann@example.com"}).json()["items"]
    assert person["loginEnabled"] == "false"


def test_unknown_person(v1: httpx.Client, server: EmulatorServer) -> None:
    """An unknown or malformed personId is 404 in Webex's error shape."""
    webex_error(v1.get(f"/people/{server.person_id('nobody')}"), 404)
    webex_error(v1.get("/people/not-an-id"), 404)


def test_lookup_by_ids(v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]) -> None:
    """?id= takes several comma-separated ids and reports those not found."""
    missing = server.person_id("nobody")
    body = v1.get("/people", params={"id": f"{server.person_id(ann['id'])},{missing}"}).json()
    assert [p["emails"] for p in body["items"]] == [["ann@example.com"]] and body["notFoundIds"] == [missing]
    webex_error(v1.get("/people", params={"id": ",".join([missing] * 86)}), 400)


def test_display_name_and_paging(v1: httpx.Client, server: EmulatorServer) -> None:
    """displayName matches the start of names; max pages the list and Link leads to the next page."""
    for n in range(5):
        server.add_user({"userName": f"p{n}@example.com", "displayName": f"Person {n}"})
    server.add_user({"userName": "other@example.com", "displayName": "Someone"})
    assert len(v1.get("/people", params={"displayName": "person"}).json()["items"]) == 5
    first = v1.get("/people", params={"max": 4})
    assert len(first.json()["items"]) == 4 and first.headers["Link"].endswith('rel="next"')
    next_url = first.headers["Link"].removeprefix("<").split(">;")[0]
    second = httpx.get(next_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert [p["emails"][0] for p in second.json()["items"]] == ["p4@example.com", "other@example.com"]
    assert "Link" not in second.headers
    webex_error(v1.get("/people", params={"max": "0"}), 400)


def test_calling_data(v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]) -> None:
    """With callingData=true a Calling user's extension and locationId are shown."""
    calling = next(lic["id"] for lic in server.licenses() if "Calling" in lic["name"])
    properties = {"locationId": "LOC-1", "extension": "133"}
    v1.patch(
        "/licenses/users",
        json={"email": "ann@example.com", "licenses": [{"id": calling, "properties": properties}]},
    )
    person = v1.get(f"/people/{server.person_id(ann['id'])}", params={"callingData": "true"}).json()
    assert (person["extension"], person["locationId"]) == ("133", "LOC-1")
    assert "extension" not in v1.get(f"/people/{server.person_id(ann['id'])}").json()


def test_people_need_a_token(server: EmulatorServer) -> None:
    """The People API answers 401 without a valid bearer token."""
    assert httpx.get(f"{server.v1_url}/people").status_code == 401
    assert httpx.get(f"{server.v1_url}/people", headers={"Authorization": "Bearer wrong"}).status_code == 401
