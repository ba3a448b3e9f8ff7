"""The Users endpoints over HTTP: Webex's shapes, rules and errors."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer, ScimError

from .helpers import CISCO, CISCO_ERROR, CORE, ENTERPRISE, ERROR, ORG, TOKEN, patch_body, user_body

pytestmark = pytest.mark.server


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def create(scim: httpx.Client, user_name: str = "alice@example.com", **attributes: Any) -> dict[str, Any]:
    response = scim.post("/Users", json=user_body(user_name, **attributes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_error(response: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """The response is a Webex SCIM error with that status and scimType, tracked by the TrackingID header."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    cisco = body[CISCO_ERROR]
    assert cisco["trackingId"] == response.headers["TrackingID"]
    assert cisco["errorCode"].startswith(str(status))
    assert cisco["details"] == body["detail"]
    return body


class TestCreate:
    def test_created_user_has_webex_shape(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """POST answers 201 with a UUID4 id, meta, schemas, defaults, the Cisco block, a Location."""
        response = scim.post("/Users", json=user_body("Alice@Example.com", name={"givenName": "Alice"}))
        assert response.status_code == 201
        user = response.json()
        assert uuid.UUID(user["id"]).version == 4
        assert user["schemas"] == [CORE, ENTERPRISE, CISCO]
        assert (user["userName"], user["active"], user["userType"]) == ("Alice@Example.com", True, "user")
        assert user["emails"] == [{"value": "Alice@Example.com", "type": "work", "primary": True}]
        assert user[CISCO] == {"accountStatus": ["active"], "meta": {"organizationId": ORG}}
        meta = user["meta"]
        assert meta["resourceType"] == "User"
        assert meta["location"] == f"{server.scim_url}/Users/{user['id']}"
        assert response.headers["Location"] == meta["location"]
        assert meta["version"] == 'W/"1"'
        assert TIMESTAMP.fullmatch(meta["created"]) and meta["lastModified"] == meta["created"]

    def test_location_uses_the_host_the_client_used(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """meta.location is built from the request's own scheme and host."""
        user = scim.post("/Users", json=user_body(), headers={"Host": "webexapis.example"}).json()
        assert (
            user["meta"]["location"] == f"http://webexapis.example/identity/scim/{ORG}/v2/Users/{user['id']}"
        )

    def test_core_schema_is_required(self, scim: httpx.Client) -> None:
        """A body without the core User schema URN is 400 invalidSyntax."""
        assert_error(scim.post("/Users", json={"userName": "a@example.com"}), 400, "invalidSyntax")

    @pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b""])
    def test_body_must_be_a_json_object(self, scim: httpx.Client, content: bytes) -> None:
        """A body that is not a JSON object is 400 invalidSyntax."""
        response = scim.post("/Users", content=content, headers={"Content-Type": "application/json"})
        assert_error(response, 400, "invalidSyntax")

    def test_user_name_must_be_an_email(self, scim: httpx.Client) -> None:
        """A userName that is not an e-mail address is 400 invalidValue."""
        body = assert_error(scim.post("/Users", json=user_body("alice")), 400, "invalidValue")
        assert "e-mail" in body["detail"]

    def test_limit_names_the_attribute(self, scim: httpx.Client) -> None:
        """A value over Webex's length limit is 400 invalidValue naming the attribute."""
        body = assert_error(scim.post("/Users", json=user_body(title="x" * 513)), 400, "invalidValue")
        assert "title" in body["detail"]

    def test_user_name_unique_ignoring_case(self, scim: httpx.Client) -> None:
        """A second user with the same userName in another case is 409 uniqueness."""
        create(scim, "alice@example.com")
        assert_error(scim.post("/Users", json=user_body("ALICE@EXAMPLE.COM")), 409, "uniqueness")
        assert len(scim.get("/Users").json()["Resources"]) == 1

    def test_user_name_owned_by_another_organization(
        self, scim: httpx.Client, server: EmulatorServer
    ) -> None:
        """A userName reserved for another organization answers 409 and is not visible in search."""
        server.reserve_user_name("elsewhere@example.com")
        assert_error(scim.post("/Users", json=user_body("elsewhere@example.com")), 409, "uniqueness")
        assert (
            scim.get("/Users", params={"filter": 'userName eq "elsewhere@example.com"'}).json()[
                "totalResults"
            ]
            == 0
        )

    def test_read_only_input_is_ignored(self, scim: httpx.Client) -> None:
        """id, meta and groups sent by the client are ignored."""
        user = create(scim, id="mine", meta={"version": 'W/"99"'}, groups=[{"value": "g"}])
        assert user["id"] != "mine" and user["meta"]["version"] == 'W/"1"' and "groups" not in user


class TestRead:
    def test_get_by_id(self, scim: httpx.Client) -> None:
        """GET /Users/{id} returns what POST returned."""
        user = create(scim)
        response = scim.get(f"/Users/{user['id']}")
        assert response.status_code == 200 and response.json() == user

    def test_get_unknown_id(self, scim: httpx.Client) -> None:
        """GET of an unknown id is 404."""
        assert_error(scim.get(f"/Users/{uuid.uuid4()}"), 404)

    def test_get_with_attributes(self, scim: httpx.Client) -> None:
        """GET /Users/{id} honours attributes and excludedAttributes."""
        user = create(scim, displayName="Alice")
        only = scim.get(f"/Users/{user['id']}", params={"attributes": "userName, displayName"}).json()
        assert set(only) == {"schemas", "id", "userName", "displayName"}
        without = scim.get(f"/Users/{user['id']}", params={"excludedAttributes": f"emails,{CISCO}"}).json()
        assert "emails" not in without and CISCO not in without and "userName" in without

    def test_manager_details_are_filled_in(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """An enterprise manager is returned with the manager's displayName and $ref."""
        boss = create(scim, "boss@example.com", displayName="The Boss")
        user = create(scim, "alice@example.com", **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
        assert user[ENTERPRISE]["manager"] == {
            "value": boss["id"],
            "displayName": "The Boss",
            "$ref": f"{server.scim_url}/Users/{boss['id']}",
        }


class TestSearch:
    @pytest.fixture
    def people(self, server: EmulatorServer) -> list[dict[str, Any]]:
        names = ["carol", "alice", "eve", "bob", "dave"]
        return [
            server.add_user(
                {"userName": f"{n}@example.com", "displayName": n.title(), ENTERPRISE: {"department": d}}
            )
            for n, d in zip(names, ["Sales", "R&D", "Sales", "R&D", "Ops"], strict=True)
        ]

    def search(self, scim: httpx.Client, **params: Any) -> dict[str, Any]:
        response = scim.get("/Users", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def test_list_response_shape(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """Without parameters: every user, creation order, startIndex 1, itemsPerPage = users returned."""
        body = self.search(scim)
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (5, 5, 1)
        assert [u["id"] for u in body["Resources"]] == [p["id"] for p in people]

    def test_filter_user_name_eq_ignores_case(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """``userName eq`` finds the user whatever the case."""
        body = self.search(scim, filter='userName eq "ALICE@example.com"')
        assert body["totalResults"] == 1 and body["Resources"][0]["id"] == people[1]["id"]

    def test_user_name_and_id_lookups_do_not_scan(
        self,
        scim: httpx.Client,
        server: EmulatorServer,
        people: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """``userName eq`` and ``id eq`` filters are served from the index, never by listing all users."""

        def no_scan() -> None:
            raise AssertionError("the search scanned every user")

        monkeypatch.setattr(server.emulator.store, "users", no_scan)
        body = self.search(scim, filter='userName eq "EVE@example.com"')
        assert [u["id"] for u in body["Resources"]] == [people[2]["id"]]
        body = self.search(scim, filter=f'id eq "{people[0]["id"]}" and displayName sw "car"')
        assert [u["id"] for u in body["Resources"]] == [people[0]["id"]]
        assert self.search(scim, filter='userName eq "nobody@example.com"')["totalResults"] == 0

    def test_filter_without_match(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """A filter matching nobody gives an empty ListResponse, not an error."""
        body = self.search(scim, filter='userName eq "nobody@example.com"')
        assert (body["totalResults"], body["itemsPerPage"], body["Resources"]) == (0, 0, [])

    def test_filter_or_and_extension(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """``or``, ``and``, parentheses and enterprise attributes combine."""
        body = self.search(
            scim, filter='(department eq "sales" and userName sw "c") or userName Eq "bob@example.com"'
        )
        assert [u["userName"] for u in body["Resources"]] == ["carol@example.com", "bob@example.com"]

    def test_filter_by_organization(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """The documented ``...:meta.organizationId eq`` filter returns the organization's users."""
        assert self.search(scim, filter=f'{CISCO}:meta.organizationId eq "{ORG}"')["totalResults"] == 5

    @pytest.mark.parametrize("text", ["externalId pr", 'userName co "a"', 'userName gt "a"', "userName eq"])
    def test_unsupported_filter(self, scim: httpx.Client, text: str) -> None:
        """Unsupported or malformed filters are 400 invalidFilter, never an empty list."""
        assert_error(scim.get("/Users", params={"filter": text}), 400, "invalidFilter")

    def test_paging(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """startIndex (1-based) and count page through the results; itemsPerPage is what was returned."""
        body = self.search(scim, startIndex=2, count=2)
        assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (5, 2, 2)
        assert [u["id"] for u in body["Resources"]] == [people[1]["id"], people[2]["id"]]
        last = self.search(scim, startIndex=5, count=2)
        assert last["itemsPerPage"] == 1
        beyond = self.search(scim, startIndex=9)
        assert (beyond["totalResults"], beyond["itemsPerPage"], beyond["Resources"]) == (5, 0, [])

    def test_odd_paging_values(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """startIndex below 1 counts as 1; a negative count as 0; count 0 gives just the total."""
        assert self.search(scim, startIndex=0)["startIndex"] == 1
        empty = self.search(scim, count=-3)
        assert (empty["totalResults"], empty["itemsPerPage"]) == (5, 0)

    def test_paging_values_must_be_integers(self, scim: httpx.Client) -> None:
        """A non-integer startIndex or count is 400 invalidValue."""
        assert_error(scim.get("/Users", params={"count": "ten"}), 400, "invalidValue")
        assert_error(scim.get("/Users", params={"startIndex": "1.5"}), 400, "invalidValue")

    def test_default_count_is_100(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """Without count a page holds at most 100 users."""
        for n in range(101):
            server.add_user({"userName": f"u{n}@example.com"})
        body = self.search(scim)
        assert (body["totalResults"], body["itemsPerPage"]) == (101, 100)

    def test_count_is_capped(self) -> None:
        """count above the configured maximum is capped to it."""
        with EmulatorServer(org_id=ORG, token=TOKEN, max_count=3) as small:
            for n in range(5):
                small.add_user({"userName": f"u{n}@example.com"})
            body = httpx.get(
                f"{small.scim_url}/Users?count=50", headers={"Authorization": f"Bearer {TOKEN}"}
            ).json()
        assert (body["totalResults"], body["itemsPerPage"]) == (5, 3)

    @pytest.mark.parametrize("sort_by", ["userName", "USERNAME"])
    def test_sort_by_user_name(self, scim: httpx.Client, people: list[dict[str, Any]], sort_by: str) -> None:
        """sortBy=userName sorts ascending by default and descending on request."""
        names = [u["userName"][0] for u in self.search(scim, sortBy=sort_by)["Resources"]]
        assert names == ["a", "b", "c", "d", "e"]
        names = [
            u["userName"][0] for u in self.search(scim, sortBy=sort_by, sortOrder="descending")["Resources"]
        ]
        assert names == ["e", "d", "c", "b", "a"]

    def test_sort_by_id_and_last_modified(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """sortBy=id and sortBy=meta.lastModified are supported."""
        ids = [u["id"] for u in self.search(scim, sortBy="id")["Resources"]]
        assert ids == sorted(ids)
        scim.patch(
            f"/Users/{people[0]['id']}", json=patch_body({"op": "replace", "path": "title", "value": "x"})
        )
        latest = self.search(scim, sortBy="meta.lastModified", sortOrder="descending")["Resources"][0]
        assert latest["id"] == people[0]["id"]

    def test_unsupported_sort(self, scim: httpx.Client) -> None:
        """Sorting by another attribute, or in another order, is 400 invalidValue."""
        assert_error(scim.get("/Users", params={"sortBy": "displayName"}), 400, "invalidValue")
        assert_error(scim.get("/Users", params={"sortBy": "id", "sortOrder": "up"}), 400, "invalidValue")

    def test_attributes_in_search(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """attributes=id,userName,displayName returns only those plus schemas."""
        body = self.search(scim, attributes="id,userName,displayName", count=1)
        assert set(body["Resources"][0]) == {"schemas", "id", "userName", "displayName"}

    def test_excluded_attributes_in_search(self, scim: httpx.Client, people: list[dict[str, Any]]) -> None:
        """excludedAttributes drops the named attributes from every resource."""
        body = self.search(scim, excludedAttributes=f"meta,emails,{ENTERPRISE}", count=1)
        assert not {"meta", "emails", ENTERPRISE} & set(body["Resources"][0])


class TestReplace:
    def test_put_replaces_everything(self, scim: httpx.Client) -> None:
        """PUT replaces the user: omitted attributes go, id/created stay, version/lastModified move."""
        user = create(scim, title="Engineer", nickName="Al")
        response = scim.put(
            f"/Users/{user['id']}", json=user_body("alice@example.com", title="Manager", id="ignored")
        )
        assert response.status_code == 200
        new = response.json()
        assert new["title"] == "Manager" and "nickName" not in new
        assert new["id"] == user["id"]
        assert new["meta"]["created"] == user["meta"]["created"]
        assert new["meta"]["version"] == 'W/"2"'
        assert new["meta"]["lastModified"] > user["meta"]["lastModified"]
        assert scim.get(f"/Users/{user['id']}").json() == new

    def test_get_modify_put_round_trip(self, scim: httpx.Client) -> None:
        """A GET → modify → PUT round trip changes only the modified attribute and meta."""
        extension: dict[str, Any] = {ENTERPRISE: {"department": "Sales"}}
        user = create(scim, displayName="Alice", **extension)
        body = scim.get(f"/Users/{user['id']}").json()
        body["displayName"] = "Alice L."
        new = scim.put(f"/Users/{user['id']}", json=body).json()
        assert {k: v for k, v in new.items() if k not in ("meta", "displayName")} == {
            k: v for k, v in user.items() if k not in ("meta", "displayName")
        }

    def test_put_rename_keeps_email_in_step(self, scim: httpx.Client) -> None:
        """A PUT changing userName moves the primary work e-mail along."""
        user = create(scim)
        body = {**user, "userName": "alice.l@example.com"}
        new = scim.put(f"/Users/{user['id']}", json=body).json()
        assert new["emails"] == [{"value": "alice.l@example.com", "type": "work", "primary": True}]

    def test_put_to_taken_user_name(self, scim: httpx.Client) -> None:
        """PUT to another user's userName is 409 uniqueness."""
        create(scim, "bob@example.com")
        user = create(scim)
        assert_error(scim.put(f"/Users/{user['id']}", json=user_body("BOB@example.com")), 409, "uniqueness")

    def test_put_needs_core_schema_and_known_user(self, scim: httpx.Client) -> None:
        """PUT without the core schema is 400; PUT of an unknown id is 404."""
        user = create(scim)
        assert_error(
            scim.put(f"/Users/{user['id']}", json={"userName": "a@example.com"}), 400, "invalidSyntax"
        )
        assert_error(scim.put(f"/Users/{uuid.uuid4()}", json=user_body()), 404)


class TestMetaAndPhotos:
    def test_every_write_moves_version_and_last_modified(self, scim: httpx.Client) -> None:
        """PATCH, PUT and flips of active each move meta.version and meta.lastModified, even when
        they follow each other within one millisecond."""
        user = create(scim)
        url = f"/Users/{user['id']}"
        writes = [
            lambda: scim.patch(url, json=patch_body({"op": "replace", "path": "title", "value": "Engineer"})),
            lambda: scim.patch(url, json=patch_body({"op": "replace", "path": "active", "value": False})),
            lambda: scim.patch(url, json=patch_body({"op": "replace", "path": "active", "value": True})),
            lambda: scim.put(url, json=user_body("alice@example.com", active=False)),
            lambda: scim.put(url, json=user_body("alice@example.com", active=True)),
        ]
        metas = [user["meta"]]
        for write in writes:
            response = write()
            assert response.status_code == 200, response.text
            metas.append(response.json()["meta"])
        assert [m["version"] for m in metas] == [f'W/"{n}"' for n in range(1, 7)]
        modified = [m["lastModified"] for m in metas]
        assert modified == sorted(set(modified))
        assert scim.get(url).json()["meta"] == metas[-1]

    def test_photos_are_kept_as_sent(self, scim: httpx.Client) -> None:
        """photos (type photo, an https URL) come back exactly as sent, and PATCH replaces them."""
        photos = [
            {
                "value": "https://photos.example.com/alice.png",
                "type": "photo",
                "primary": True,
                "display": "Alice",
            },
            {"value": "http://photos.example.com/alice-small.png", "type": "thumbnail"},
        ]
        user = create(scim, photos=photos)
        assert user["photos"] == photos and scim.get(f"/Users/{user['id']}").json()["photos"] == photos
        new = [{"value": "https://photos.example.com/alice-2024.png", "type": "photo"}]
        patched = scim.patch(
            f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": "photos", "value": new})
        ).json()
        assert patched["photos"] == new
        removed = scim.patch(
            f"/Users/{user['id']}", json=patch_body({"op": "remove", "path": "photos"})
        ).json()
        assert "photos" not in removed


class TestPatch:
    def test_deactivate(self, scim: httpx.Client) -> None:
        """PATCH active false answers 200 with the full user, accountStatus disabled, version bumped."""
        user = create(scim)
        response = scim.patch(
            f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": "active", "value": False})
        )
        assert response.status_code == 200
        new = response.json()
        assert new["active"] is False and new[CISCO]["accountStatus"] == ["disabled"]
        assert new["meta"]["version"] == 'W/"2"' and new["userName"] == user["userName"]
        assert new["meta"]["location"] == user["meta"]["location"]

    def test_documented_paths(self, scim: httpx.Client) -> None:
        """Value paths, sub-attributes and extension paths from Webex's docs and SDK work end to end."""
        boss = create(scim, "boss@example.com")
        user = create(scim, phoneNumbers=[{"value": "1", "type": "work"}], addresses=[{"type": "work"}])
        response = scim.patch(
            f"/Users/{user['id']}",
            json=patch_body(
                {"op": "replace", "path": "title", "value": "Manager"},
                {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+14085550123"},
                {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "San Jose"},
                {"op": "replace", "path": "name.givenName", "value": "Alice"},
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Sales"},
                {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": boss["id"]}},
                {"op": "add", "path": f"{CISCO}:extensionAttribute1", "value": ["a", "b"]},
            ),
        )
        new = response.json()
        assert response.status_code == 200, new
        assert new["title"] == "Manager" and new["name"] == {"givenName": "Alice"}
        assert new["phoneNumbers"] == [{"value": "+14085550123", "type": "work"}]
        assert new["addresses"] == [{"type": "work", "locality": "San Jose"}]
        assert new[ENTERPRISE]["department"] == "Sales" and new[ENTERPRISE]["manager"]["value"] == boss["id"]
        assert new[CISCO]["extensionAttribute1"] == ["a", "b"]

    def test_rename_keeps_email_in_step(self, scim: httpx.Client) -> None:
        """Changing userName by PATCH changes the primary work e-mail, keeping Webex's rule."""
        user = create(scim, emails=[{"value": "a@home.example", "type": "home"}])
        new = scim.patch(
            f"/Users/{user['id']}",
            json=patch_body({"op": "replace", "path": "userName", "value": "alice2@example.com"}),
        ).json()
        assert new["userName"] == "alice2@example.com"
        assert new["emails"] == [
            {"value": "a@home.example", "type": "home"},
            {"value": "alice2@example.com", "type": "work", "primary": True},
        ]
        found = scim.get("/Users", params={"filter": 'userName eq "alice2@example.com"'}).json()
        assert found["totalResults"] == 1

    def test_rename_to_taken_user_name(self, scim: httpx.Client) -> None:
        """PATCH of userName to a taken one is 409 and changes nothing."""
        create(scim, "bob@example.com")
        user = create(scim)
        body = patch_body({"op": "replace", "path": "userName", "value": "Bob@Example.com"})
        assert_error(scim.patch(f"/Users/{user['id']}", json=body), 409, "uniqueness")
        assert scim.get(f"/Users/{user['id']}").json() == user

    def test_failed_patch_changes_nothing(self, scim: httpx.Client) -> None:
        """A PATCH whose later operation fails applies none of its operations."""
        user = create(scim)
        body = patch_body(
            {"op": "replace", "path": "title", "value": "x"},
            {"op": "replace", "path": 'phoneNumbers[type eq "fax"].value', "value": "1"},
        )
        assert_error(scim.patch(f"/Users/{user['id']}", json=body), 400, "noTarget")
        assert scim.get(f"/Users/{user['id']}").json() == user

    def test_patch_results_are_validated(self, scim: httpx.Client) -> None:
        """A PATCH producing an invalid user (too long, wrong type, no userName) is 400 invalidValue."""
        user = create(scim)
        for operation in (
            {"op": "replace", "path": "displayName", "value": "x" * 513},
            {"op": "replace", "path": "active", "value": "maybe"},
            {"op": "remove", "path": "userName"},
        ):
            assert_error(scim.patch(f"/Users/{user['id']}", json=patch_body(operation)), 400, "invalidValue")

    def test_patch_needs_patch_op_schema_and_known_user(self, scim: httpx.Client) -> None:
        """A PATCH without the PatchOp schema is 400 invalidSyntax; of an unknown id 404."""
        user = create(scim)
        body = {"Operations": [{"op": "replace", "path": "title", "value": "x"}]}
        assert_error(scim.patch(f"/Users/{user['id']}", json=body), 400, "invalidSyntax")
        operation = {"op": "replace", "path": "title", "value": "x"}
        assert_error(scim.patch(f"/Users/{uuid.uuid4()}", json=patch_body(operation)), 404)


class TestDelete:
    def test_delete_then_get(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """DELETE answers 204 without body; the user is then 404 and kept in the archive."""
        user = create(scim)
        response = scim.delete(f"/Users/{user['id']}")
        assert response.status_code == 204 and response.content == b""
        assert_error(scim.get(f"/Users/{user['id']}"), 404)
        assert_error(scim.delete(f"/Users/{user['id']}"), 404)
        (archived,) = server.archived_users()
        assert archived["id"] == user["id"] and TIMESTAMP.fullmatch(archived["meta"]["deleted"])

    def test_deleted_user_name_can_be_reused(self, scim: httpx.Client) -> None:
        """After a delete the userName is free again."""
        user = create(scim)
        scim.delete(f"/Users/{user['id']}")
        assert create(scim)["id"] != user["id"]


class TestGateway:
    def test_tracking_id_is_echoed(self, scim: httpx.Client) -> None:
        """A client's TrackingID header comes back on the response and in error bodies."""
        response = scim.get("/Users", headers={"TrackingID": "SIMPLE_123"})
        assert response.headers["TrackingID"] == "SIMPLE_123"
        error = scim.get(f"/Users/{uuid.uuid4()}", headers={"trackingid": "SIMPLE_456"})
        assert error.json()[CISCO_ERROR]["trackingId"] == "SIMPLE_456"

    def test_tracking_id_is_generated(self, scim: httpx.Client) -> None:
        """Without one, every response carries a fresh ``EMULATOR_<uuid>`` TrackingID."""
        response = scim.get("/Users")
        first, second = response.headers["TrackingID"], scim.get("/Users").headers["TrackingID"]
        assert first != second
        assert b"TrackingID" in [name for name, _ in response.headers.raw]  # Webex's spelling
        assert first.startswith("EMULATOR_") and uuid.UUID(first.removeprefix("EMULATOR_"))

    def test_wrong_organization_is_404(self, server: EmulatorServer) -> None:
        """An organization id that is not the emulator's answers 404."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = httpx.get(f"{server.url}/identity/scim/another-org/v2/Users", headers=headers)
        assert "another-org" in assert_error(response, 404)["detail"]

    def test_wrong_organization_status_is_a_switch(self) -> None:
        """``wrong_org_status=403`` makes a wrong organization answer 403 instead."""
        with EmulatorServer(org_id=ORG, token=TOKEN, wrong_org_status=403) as strict:
            response = httpx.get(
                f"{strict.url}/identity/scim/x/v2/Users", headers={"Authorization": f"Bearer {TOKEN}"}
            )
        assert_error(response, 403)

    def test_unknown_route_and_method(self, scim: httpx.Client) -> None:
        """Unknown paths are 404 and unsupported methods 405, both as SCIM errors with a TrackingID."""
        assert_error(scim.get("/Devices"), 404)
        assert_error(scim.delete("/Users"), 405)

    def test_internal_error_is_a_scim_500(
        self, scim: httpx.Client, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An emulator bug answers a SCIM 500 with a TrackingID instead of a bare error page."""

        def broken(params: object) -> None:
            raise RuntimeError("bug")

        monkeypatch.setattr(server.emulator.service, "search", broken)
        assert_error(scim.get("/Users"), 500)

    def test_helpers(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """users(), user(), add_user() and request_log show what the emulator holds and served."""
        seeded = server.add_user({"id": "fixed-id", "userName": "seed@example.com"})
        assert seeded["id"] == "fixed-id" and seeded["meta"]["location"].endswith("/Users/fixed-id")
        with pytest.raises(ScimError, match="fixed-id"):
            server.add_user({"id": "fixed-id", "userName": "other@example.com"})
        created = create(scim)
        assert [u["id"] for u in server.users()] == ["fixed-id", created["id"]]
        assert server.user(created["id"]) == created and server.user("nope") is None
        assert server.request_log == [("POST", f"/identity/scim/{ORG}/v2/Users", 201)]
        server.reset()
        assert server.users() == [] and server.request_log == []
