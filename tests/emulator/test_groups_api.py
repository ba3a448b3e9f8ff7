"""The SCIM Groups endpoints over HTTP: Webex's shapes, rules, errors and the emulator's switches."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer, group_patch

from .helpers import CISCO_GROUP, GROUP, LIST, ORG, TOKEN, group_body, patch_body
from .test_users_api import TIMESTAMP, assert_error

pytestmark = pytest.mark.server


MEMBERS_URN = "urn:scim:schemas:extension:cisco:webexidentity:2.0:GroupMembers"


def users(server: EmulatorServer, n: int, prefix: str = "user") -> list[str]:
    """Seed ``n`` users; their ids."""
    return [server.add_user({"userName": f"{prefix}{i}@example.com"})["id"] for i in range(n)]


def create(scim: httpx.Client, name: str = "Sales", *member_ids: str, **attributes: Any) -> dict[str, Any]:
    response = scim.post("/Groups", json=group_body(name, *member_ids, **attributes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(scim: httpx.Client, group_id: str, *operations: dict[str, Any]) -> httpx.Response:
    return scim.patch(f"/Groups/{group_id}", json=patch_body(*operations))


def member_ids(group: dict[str, Any]) -> list[str]:
    return [m["value"] for m in group.get("members", [])]


@pytest.fixture
def own_server() -> Iterator[Any]:
    """Start a dedicated emulator with some settings changed; yields a factory."""
    started: list[EmulatorServer] = []

    def start(**settings: Any) -> tuple[EmulatorServer, httpx.Client]:
        server = EmulatorServer(org_id=ORG, token=TOKEN, **settings).start()
        started.append(server)
        client = httpx.Client(base_url=server.scim_url, headers={"Authorization": f"Bearer {TOKEN}"})
        return server, client

    yield start
    for server in started:
        server.stop()


class TestCreate:
    def test_created_group_has_webex_shape(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """POST answers 201 with id, meta (resourceType Group, version, dates, location = Location
        header), the members with type, display and $ref, and the Cisco block."""
        (alice,) = users(server, 1)
        body = group_body("Sales", alice, externalId="ext-1")
        body[CISCO_GROUP] = {"usage": "Policy", "groupType": "flat_static", "provisionSource": "AD"}
        response = scim.post("/Groups", json=body)
        assert response.status_code == 201, response.text
        group = response.json()
        assert uuid.UUID(group["id"]).version == 4
        assert group["schemas"] == [GROUP, CISCO_GROUP]
        assert (group["displayName"], group["externalId"]) == ("Sales", "ext-1")
        assert group["members"] == [
            {
                "value": alice,
                "type": "user",
                "display": "user0@example.com",
                "$ref": f"{server.scim_url}/Users/{alice}",
            }
        ]
        meta = group["meta"]
        assert meta["resourceType"] == "Group" and meta["version"] == 'W/"1"'
        assert TIMESTAMP.fullmatch(meta["created"]) and meta["lastModified"] == meta["created"]
        assert meta["location"] == f"{server.scim_url}/Groups/{group['id']}" == response.headers["Location"]
        assert group[CISCO_GROUP] == {
            "usage": "policy",
            "groupType": "flat_static",
            "provisionSource": "SCIM",
            "meta": {"organizationID": ORG},
        }

    def test_display_name_is_required(self, scim: httpx.Client) -> None:
        """A group without displayName is 400 invalidValue."""
        body = assert_error(scim.post("/Groups", json={"schemas": [GROUP]}), 400, "invalidValue")
        assert "displayName" in body["detail"]

    def test_group_schema_is_required(self, scim: httpx.Client) -> None:
        """A body listing neither Group schema is 400 invalidSyntax."""
        assert_error(scim.post("/Groups", json={"displayName": "Sales"}), 400, "invalidSyntax")

    def test_unknown_member_is_refused(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """A member id that is no user or group of the organization is 400 naming it; nothing is created."""
        (alice,) = users(server, 1)
        body = assert_error(
            scim.post("/Groups", json=group_body("Sales", alice, "nobody")), 400, "invalidValue"
        )
        assert "'nobody'" in body["detail"]
        assert server.groups() == []

    def test_member_types(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """A group can hold groups (type group); a declared type must match; machines do not exist."""
        (alice,) = users(server, 1)
        inner = create(scim, "Inner")
        outer = create(scim, "Outer", members=[{"value": inner["id"], "type": "Group"}, {"value": alice}])
        assert [(m["value"], m["type"], m["display"]) for m in outer["members"]] == [
            (inner["id"], "group", "Inner"),
            (alice, "user", "user0@example.com"),
        ]
        assert outer["members"][0]["$ref"].endswith(f"/Groups/{inner['id']}")
        mistyped = group_body("Bad", members=[{"value": alice, "type": "group"}])
        assert_error(scim.post("/Groups", json=mistyped), 400, "invalidValue")
        machine = group_body("Machines", members=[{"value": alice, "type": "machine"}])
        assert_error(scim.post("/Groups", json=machine), 400, "invalidValue")
        assert_error(
            scim.post("/Groups", json=group_body("Odd", members=[{"value": alice, "type": "x"}])),
            400,
            "invalidValue",
        )

    @pytest.mark.parametrize(
        "extension",
        [{"usage": "team"}, {"groupType": "static"}, {"colour": "red"}, {"owners": "not a list"}],
    )
    def test_cisco_extension_is_checked(self, scim: httpx.Client, extension: dict[str, Any]) -> None:
        """usage and groupType take Webex's values only; unknown extension attributes are refused."""
        assert_error(
            scim.post("/Groups", json=group_body("Sales", **{CISCO_GROUP: extension})), 400, "invalidValue"
        )

    def test_display_name_unique_ignoring_case(self, scim: httpx.Client) -> None:
        """A second group with the same displayName in another case is 409 uniqueness."""
        create(scim, "Sales")
        assert_error(scim.post("/Groups", json=group_body("SALES")), 409, "uniqueness")

    def test_duplicate_names_when_allowed(self, own_server: Any) -> None:
        """With unique_group_names=False two groups may share a displayName."""
        _, scim = own_server(unique_group_names=False)
        assert scim.post("/Groups", json=group_body("Sales")).status_code == 201
        assert scim.post("/Groups", json=group_body("sales")).status_code == 201

    def test_read_only_input_is_ignored(self, scim: httpx.Client) -> None:
        """id and meta sent by the client are ignored, as are other schemas' sections."""
        group = create(scim, id="mine", meta={"version": 'W/"9"'}, **{"urn:example:other": {"x": 1}})
        assert (
            group["id"] != "mine" and group["meta"]["version"] == 'W/"1"' and "urn:example:other" not in group
        )


class TestRead:
    def test_get_by_id(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """GET /Groups/{id} returns what POST returned; an unknown id is 404."""
        group = create(scim, "Sales", *users(server, 2))
        assert scim.get(f"/Groups/{group['id']}").json() == group
        assert_error(scim.get(f"/Groups/{uuid.uuid4()}"), 404)

    def test_excluded_members(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """excludedAttributes=members leaves the members out; attributes=displayName keeps only it."""
        group = create(scim, "Sales", *users(server, 2))
        without = scim.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
        assert "members" not in without and without["displayName"] == "Sales"
        only = scim.get(f"/Groups/{group['id']}", params={"attributes": "displayName"}).json()
        assert set(only) == {"schemas", "id", "displayName"}

    def test_resource_lists_at_most_the_configured_members(self, own_server: Any) -> None:
        """A group resource lists at most members_in_group_resource members; /Members has them all."""
        server, scim = own_server(members_in_group_resource=2)
        ids = users(server, 3)
        group = create(scim, "Sales", *ids)
        assert member_ids(group) == ids[:2]
        assert [m["value"] for m in scim.get(f"/Groups/{group['id']}/Members").json()["members"]] == ids


class TestSearch:
    @pytest.fixture
    def groups(self, scim: httpx.Client, server: EmulatorServer) -> list[dict[str, Any]]:
        ids = users(server, 2)
        return [
            create(scim, "Sales", ids[0], externalId="ext-s"),
            create(scim, "Engineering", *ids, externalId="ext-e"),
            create(scim, "Admins", externalId="EXT-S"),
        ]

    def search(self, scim: httpx.Client, **params: Any) -> dict[str, Any]:
        response = scim.get("/Groups", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def test_list_without_members_by_default(self, scim: httpx.Client, groups: list[dict[str, Any]]) -> None:
        """GET /Groups is a ListResponse in creation order whose groups carry no members."""
        body = self.search(scim)
        assert body["schemas"] == [LIST]
        assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (3, 3, 1)
        assert [g["id"] for g in body["Resources"]] == [g["id"] for g in groups]
        assert all("members" not in g for g in body["Resources"])

    def test_include_members(self, scim: httpx.Client, groups: list[dict[str, Any]]) -> None:
        """includeMembers=true lists each group's members."""
        body = self.search(scim, includeMembers="true")
        assert [member_ids(g) for g in body["Resources"]] == [member_ids(g) for g in groups]
        assert_error(scim.get("/Groups", params={"includeMembers": "yes"}), 400, "invalidValue")

    def test_filter_display_name_ignores_case(self, scim: httpx.Client, groups: list[dict[str, Any]]) -> None:
        """displayName eq matches whatever the case; Webex's documented 'or' example works."""
        body = self.search(scim, filter='displayName eq "SALES"')
        assert [g["id"] for g in body["Resources"]] == [groups[0]["id"]]
        both = self.search(scim, filter='displayName Eq "sales" or displayName Eq "admins"')
        assert {g["id"] for g in both["Resources"]} == {groups[0]["id"], groups[2]["id"]}

    def test_filter_external_id_and_id(self, scim: httpx.Client, groups: list[dict[str, Any]]) -> None:
        """externalId eq compares exactly; id eq finds one group; and narrows."""
        assert [g["id"] for g in self.search(scim, filter='externalId eq "ext-s"')["Resources"]] == [
            groups[0]["id"]
        ]
        assert self.search(scim, filter=f'id eq "{groups[1]["id"]}"')["totalResults"] == 1
        narrowed = self.search(scim, filter='externalId eq "ext-e" and displayName eq "Sales"')
        assert narrowed["totalResults"] == 0

    @pytest.mark.parametrize(
        "text",
        [
            'displayName sw "Sa"',
            'members eq "x"',
            "displayName pr",
            'displayName eq "x" and',
            "displayName eq 1",
        ],
    )
    def test_unsupported_filters(self, scim: httpx.Client, text: str) -> None:
        """Other attributes, operators or syntax errors are 400 invalidFilter, never an empty list."""
        assert_error(scim.get("/Groups", params={"filter": text}), 400, "invalidFilter")

    def test_paging_and_sorting(self, scim: httpx.Client, groups: list[dict[str, Any]]) -> None:
        """startIndex/count page the results; sortBy displayName orders them; a bad sortBy is 400."""
        page = self.search(scim, startIndex=2, count=1)
        assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (3, 1, 2)
        assert page["Resources"][0]["id"] == groups[1]["id"]
        names = self.search(scim, sortBy="displayName", sortOrder="descending")["Resources"]
        assert [g["displayName"] for g in names] == ["Sales", "Engineering", "Admins"]
        assert_error(scim.get("/Groups", params={"sortBy": "externalId"}), 400, "invalidValue")

    def test_listing_does_not_read_members(
        self,
        scim: httpx.Client,
        server: EmulatorServer,
        groups: list[dict[str, Any]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Without includeMembers a search never touches the member lists."""

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("member list read")

        monkeypatch.setattr(server.emulator.group_store, "page", refuse)
        monkeypatch.setattr(server.emulator.group_store, "member_ids", refuse)
        assert self.search(scim)["totalResults"] == 3


class TestReplace:
    def test_put_replaces_everything(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """PUT keeps id and created, moves version and lastModified, clears what it does not send."""
        a, b = users(server, 2)
        body = group_body("Sales", a, externalId="ext", **{CISCO_GROUP: {"usage": "policy"}})
        group = scim.post("/Groups", json=body).json()
        response = scim.put(f"/Groups/{group['id']}", json=group_body("Sales EMEA", b))
        assert response.status_code == 200, response.text
        new = response.json()
        assert (new["id"], new["displayName"], member_ids(new)) == (group["id"], "Sales EMEA", [b])
        assert "externalId" not in new and "usage" not in new[CISCO_GROUP]
        assert new["meta"]["created"] == group["meta"]["created"]
        assert (
            new["meta"]["version"] == 'W/"2"' and new["meta"]["lastModified"] > group["meta"]["lastModified"]
        )
        cleared = scim.put(f"/Groups/{group['id']}", json=group_body("Sales EMEA")).json()
        assert "members" not in cleared and server.groups_of(b) == set()

    def test_put_errors(self, scim: httpx.Client) -> None:
        """PUT of an unknown group is 404; renaming to a taken name is 409."""
        create(scim, "Sales")
        other = create(scim, "Engineering")
        assert_error(scim.put(f"/Groups/{uuid.uuid4()}", json=group_body("X")), 404)
        assert_error(scim.put(f"/Groups/{other['id']}", json=group_body("sales")), 409, "uniqueness")


class TestPatch:
    def test_add_members(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """add members appends them; adding a member again changes nothing; each PATCH moves the version."""
        a, b, c = users(server, 3)
        group = create(scim, "Sales", a)
        response = patch(
            scim, group["id"], {"op": "add", "path": "members", "value": [{"value": b}, {"value": a}]}
        )
        assert response.status_code == 200, response.text
        assert member_ids(response.json()) == [a, b] and response.json()["meta"]["version"] == 'W/"2"'
        again = patch(
            scim, group["id"], {"op": "Add", "path": "members", "value": [{"value": c}, {"value": b}]}
        )
        assert member_ids(again.json()) == [a, b, c] and again.json()["meta"]["version"] == 'W/"3"'

    def test_remove_by_value_filter(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """remove members[value eq "…"] drops that member; a filter matching nobody is 400 noTarget."""
        a, b = users(server, 2)
        group = create(scim, "Sales", a, b)
        response = patch(scim, group["id"], {"op": "remove", "path": f'members[value eq "{a}"]'})
        assert member_ids(response.json()) == [b]
        missing = patch(scim, group["id"], {"op": "remove", "path": f'members[value eq "{a}"]'})
        assert_error(missing, 400, "noTarget")

    def test_remove_by_other_filters(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """Filters on type (and 'or' of values) work too."""
        a, b = users(server, 2)
        inner = create(scim, "Inner")
        group = create(scim, "Sales", members=[{"value": a}, {"value": b}, {"value": inner["id"]}])
        response = patch(scim, group["id"], {"op": "remove", "path": 'members[type eq "group"]'})
        assert member_ids(response.json()) == [a, b]
        both = patch(
            scim, group["id"], {"op": "remove", "path": f'members[value eq "{a}" or value eq "{b}"]'}
        )
        assert "members" not in both.json()

    def test_remove_all_and_listed_members(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """remove members with a value list drops those (others ignored); without a value, all."""
        a, b, c = users(server, 3)
        group = create(scim, "Sales", a, b, c)
        listed = patch(
            scim, group["id"], {"op": "remove", "path": "members", "value": [{"value": a}, {"value": "x"}]}
        )
        assert member_ids(listed.json()) == [b, c]
        emptied = patch(scim, group["id"], {"op": "remove", "path": "members"})
        assert "members" not in emptied.json() and server.groups_of(b) == set()

    def test_replace_members_and_attributes(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """replace members sets them; a path-less replace sets several attributes at once."""
        a, b = users(server, 2)
        group = create(scim, "Sales", a)
        response = patch(
            scim,
            group["id"],
            {"op": "replace", "path": "members", "value": [{"value": b}]},
            {"op": "replace", "value": {"displayName": "Sales EMEA", "externalId": "ext-9"}},
        )
        new = response.json()
        assert (member_ids(new), new["displayName"], new["externalId"]) == ([b], "Sales EMEA", "ext-9")

    def test_operations_apply_in_order(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """remove all, then add: the result holds only what was added after."""
        a, b = users(server, 2)
        group = create(scim, "Sales", a)
        response = patch(
            scim,
            group["id"],
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": b}, {"value": a}]},
            {"op": "remove", "path": f'members[value eq "{b}"]'},
        )
        assert member_ids(response.json()) == [a]

    def test_cisco_extension_paths(self, scim: httpx.Client) -> None:
        """Extension attributes are set through 'urn:…:Group:name' or Webex's 'urn:…:Group.name'."""
        group = create(scim, "Sales")
        inheritance = {"type": "role", "value": "id_user_admin", "nested": False, "scope": ["user"]}
        response = patch(
            scim,
            group["id"],
            {"op": "add", "path": f"{CISCO_GROUP}:usage", "value": "policy"},
            {"op": "add", "path": f"{CISCO_GROUP}.inheritances", "value": [inheritance]},
            {"op": "add", "path": f"{CISCO_GROUP}.inheritances", "value": [inheritance]},
        )
        extension = response.json()[CISCO_GROUP]
        assert extension["usage"] == "policy" and extension["inheritances"] == [inheritance]
        removed = patch(scim, group["id"], {"op": "remove", "path": f"{CISCO_GROUP}:usage"}).json()
        assert "usage" not in removed[CISCO_GROUP]
        assert_error(
            patch(scim, group["id"], {"op": "replace", "path": f"{CISCO_GROUP}:usage", "value": "x"}),
            400,
            "invalidValue",
        )

    def test_failed_patch_changes_nothing(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """An unknown member in a later operation fails the whole PATCH: nothing changes."""
        a, b = users(server, 2)
        group = create(scim, "Sales", a)
        response = patch(
            scim,
            group["id"],
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": b}, {"value": "nobody"}]},
        )
        assert "'nobody'" in assert_error(response, 400, "invalidValue")["detail"]
        assert scim.get(f"/Groups/{group['id']}").json() == group

    @pytest.mark.parametrize(
        ("operation", "scim_type"),
        [
            ({"op": "remove", "path": "displayName"}, "invalidValue"),
            ({"op": "remove"}, "noTarget"),
            ({"op": "move", "path": "members"}, "invalidSyntax"),
            ({"op": "add", "path": 'members[value eq "x"]', "value": "x"}, "invalidPath"),
            ({"op": "remove", "path": 'members[value eq "x"].display'}, "invalidPath"),
            ({"op": "add", "path": "colour", "value": "red"}, "invalidPath"),
            ({"op": "replace", "path": "meta.version", "value": "x"}, "mutability"),
            ({"op": "add", "path": "members", "value": ["just-an-id"]}, "invalidValue"),
        ],
    )
    def test_invalid_operations(self, scim: httpx.Client, operation: dict[str, Any], scim_type: str) -> None:
        """Invalid operations are 400 with the matching scimType."""
        group = create(scim, "Sales")
        assert_error(patch(scim, group["id"], operation), 400, scim_type)

    def test_patch_needs_patch_op_schema_and_known_group(self, scim: httpx.Client) -> None:
        """A body without the PatchOp schema is 400; an unknown group 404."""
        group = create(scim, "Sales")
        assert_error(scim.patch(f"/Groups/{group['id']}", json={"Operations": []}), 400, "invalidSyntax")
        assert_error(patch(scim, str(uuid.uuid4()), {"op": "remove", "path": "members"}), 404)

    def test_max_members_per_patch(self, own_server: Any) -> None:
        """A PATCH naming more members than max_members_per_patch is 400; as many is fine."""
        server, scim = own_server(max_members_per_patch=3)
        ids = users(server, 4)
        group = create(scim, "Sales")
        four = [{"value": i} for i in ids]
        body = assert_error(
            patch(scim, group["id"], {"op": "add", "path": "members", "value": four}), 400, "invalidValue"
        )
        assert "at most 3 members" in body["detail"]
        assert (
            patch(scim, group["id"], {"op": "add", "path": "members", "value": four[:3]}).status_code == 200
        )
        assert create(scim, "Big", *ids)["displayName"] == "Big"  # POST and PUT are not limited

    def test_max_group_members(self, own_server: Any) -> None:
        """A write leaving a group with more than max_group_members members is 400."""
        server, scim = own_server(max_group_members=2)
        ids = users(server, 3)
        assert_error(scim.post("/Groups", json=group_body("Sales", *ids)), 400, "invalidValue")
        group = create(scim, "Sales", *ids[:2])
        assert_error(
            patch(scim, group["id"], {"op": "add", "path": "members", "value": [{"value": ids[2]}]}),
            400,
            "invalidValue",
        )

    def test_member_changes_do_not_scan_the_group(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """Adding members and removing them by id works without listing the group's members."""
        ids = users(server, 120)
        group = create(scim, "Sales", *ids[:20])
        original = group_patch.MemberOverlay.items

        def refuse(self: object) -> list[tuple[str, str]]:
            raise AssertionError("member list scanned")

        group_patch.MemberOverlay.items = refuse  # type: ignore[method-assign]
        try:
            added = patch(
                scim, group["id"], {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}
            )
            assert added.status_code == 200 and server.group_members(group["id"]) == ids
            removed = patch(scim, group["id"], {"op": "remove", "path": f'members[value eq "{ids[5]}"]'})
            assert removed.status_code == 200 and ids[5] not in server.group_members(group["id"])
        finally:
            group_patch.MemberOverlay.items = original  # type: ignore[method-assign]


class TestDelete:
    def test_delete(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """DELETE answers 204 without a body; the group is then 404, and so is a second DELETE."""
        (a,) = users(server, 1)
        group = create(scim, "Sales", a)
        response = scim.delete(f"/Groups/{group['id']}")
        assert (response.status_code, response.content) == (204, b"")
        assert_error(scim.get(f"/Groups/{group['id']}"), 404)
        assert_error(scim.delete(f"/Groups/{group['id']}"), 404)
        assert server.groups_of(a) == set()

    def test_deleted_group_leaves_its_parent(self, scim: httpx.Client) -> None:
        """A deleted group is no longer a member of the groups that held it, whose version moves."""
        inner = create(scim, "Inner")
        outer = create(scim, "Outer", members=[{"value": inner["id"], "type": "group"}])
        assert scim.delete(f"/Groups/{inner['id']}").status_code == 204
        after = scim.get(f"/Groups/{outer['id']}").json()
        assert "members" not in after and after["meta"]["version"] == 'W/"2"'


class TestMembers:
    def test_members_pages(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """/Members pages 500 at most (the default too), in the order the members were added."""
        ids = users(server, 600)
        group = server.add_group({"displayName": "Everyone", "members": [{"value": i} for i in ids]})
        first = scim.get(f"/Groups/{group['id']}/Members").json()
        assert first["schemas"] == [MEMBERS_URN] and first["displayName"] == "Everyone"
        assert (first["totalResults"], first["memberSize"], first["itemsPerPage"], first["startIndex"]) == (
            600,
            600,
            500,
            1,
        )
        assert [m["value"] for m in first["members"]] == ids[:500]
        assert first["members"][0] == {"value": ids[0], "type": "user", "display": "user0@example.com"}
        second = scim.get(f"/Groups/{group['id']}/Members", params={"startIndex": 501, "count": 1000}).json()
        assert [m["value"] for m in second["members"]] == ids[500:] and second["itemsPerPage"] == 100
        capped = scim.get(f"/Groups/{group['id']}/Members", params={"count": 600}).json()
        assert capped["itemsPerPage"] == 500 and len(capped["members"]) == 500
        small = scim.get(f"/Groups/{group['id']}/Members", params={"startIndex": 3, "count": 2}).json()
        assert [m["value"] for m in small["members"]] == ids[2:4]

    def test_member_type_and_unknown_group(self, scim: httpx.Client, server: EmulatorServer) -> None:
        """memberType keeps one kind of member; an unknown group is 404."""
        (a,) = users(server, 1)
        inner = create(scim, "Inner")
        group = create(scim, "Outer", members=[{"value": a}, {"value": inner["id"]}])
        only = scim.get(f"/Groups/{group['id']}/Members", params={"memberType": "group"}).json()
        assert [m["value"] for m in only["members"]] == [inner["id"]] and only["totalResults"] == 1
        assert_error(scim.get(f"/Groups/{uuid.uuid4()}/Members"), 404)


class TestDeletedUsers:
    def test_deleting_a_user_removes_it_from_its_groups(
        self, scim: httpx.Client, server: EmulatorServer
    ) -> None:
        """A deleted user leaves every group it was in; those groups' versions move, others do not."""
        a, b = users(server, 2)
        one, two = create(scim, "One", a, b), create(scim, "Two", a)
        untouched = create(scim, "Three", b)
        assert scim.delete(f"/Users/{a}").status_code == 204
        assert member_ids(scim.get(f"/Groups/{one['id']}").json()) == [b]
        after_two = scim.get(f"/Groups/{two['id']}").json()
        assert "members" not in after_two and after_two["meta"]["version"] == 'W/"2"'
        assert after_two["meta"]["lastModified"] > two["meta"]["lastModified"]
        assert scim.get(f"/Groups/{untouched['id']}").json()["meta"]["version"] == 'W/"1"'
        assert server.groups_of(a) == set()

    def test_user_deletion_does_not_scan_groups(
        self, scim: httpx.Client, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Removing a deleted user from its groups uses the user → groups index, not a scan."""
        (a,) = users(server, 1)
        group = create(scim, "One", a)
        for n in range(20):
            create(scim, f"Other {n}")

        def refuse() -> None:
            raise AssertionError("groups scanned")

        monkeypatch.setattr(server.emulator.group_store, "groups", refuse)
        assert scim.delete(f"/Users/{a}").status_code == 204
        assert server.group_members(group["id"]) == []


def test_wrong_organization(server: EmulatorServer) -> None:
    """The Groups endpoints of another organization id answer 404."""
    url = re.sub(ORG, str(uuid.uuid4()), server.scim_url)
    response = httpx.get(f"{url}/Groups", headers={"Authorization": f"Bearer {TOKEN}"})
    assert_error(response, 404)
