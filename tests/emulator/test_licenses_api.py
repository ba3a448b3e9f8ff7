"""The licence endpoints over HTTP: listing, reading, assigning, and what deleting a user frees."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import CALLING, MEETINGS, MESSAGING, ORG, TOKEN, webex_error

CALLING_PROPERTIES = {"locationId": "Y2lzY29zcGFyazovL3VzL0xPQ0FUSU9OLzYzNzE1", "extension": "133"}


def licence(server: EmulatorServer, name: str) -> dict[str, Any]:
    return next(lic for lic in server.licenses() if lic["name"] == name)


def assign(v1: httpx.Client, **body: Any) -> httpx.Response:
    return v1.patch("/licenses/users", json=body)


def add(license_id: str, **properties: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": license_id, "operation": "add"}
    if properties:
        item["properties"] = properties
    return item


@pytest.fixture
def ann(server: EmulatorServer) -> dict[str, Any]:
    return server.add_user({"userName": "ann@example.com", "displayName": "Ann Lee"})


class TestList:
    def test_list_shape(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """GET /v1/licenses lists every licence with its units, in the order they were configured."""
        response = v1.get("/licenses")
        assert response.status_code == 200
        items = response.json()["items"]
        assert [i["name"] for i in items] == [MEETINGS, CALLING, MESSAGING]
        assert items[0] == {
            "id": items[0]["id"],
            "name": MEETINGS,
            "totalUnits": 3,
            "consumedUnits": 0,
            "consumedByUsers": 0,
            "consumedByWorkspaces": 0,
        }

    def test_ids_look_like_webex_ids_and_are_stable(self, server: EmulatorServer) -> None:
        """A licence id is unpadded base64 of ciscospark://us/LICENSE/<org>:<code>_<uuid>, the same
        in every emulator of the organization."""
        license_id = licence(server, MEETINGS)["id"]
        assert "=" not in license_id
        decoded = base64.b64decode(license_id + "==").decode()
        assert decoded.startswith(f"ciscospark://us/LICENSE/{ORG}:EMU_")
        with EmulatorServer(org_id=ORG, token=TOKEN, licenses={MEETINGS: 1}) as other:
            assert [lic["id"] for lic in other.licenses()] == [license_id]

    def test_optional_fields_and_added_licences(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """add_license adds a licence (or changes the units of one with that name); optional fields
        appear only when set."""
        server.add_license("Webex Meetings - Site", 10, subscription_id="Sub-1", site_url="acme.webex.com")
        server.add_license(MEETINGS.upper(), 7)
        items = {i["name"]: i for i in v1.get("/licenses").json()["items"]}
        assert items["Webex Meetings - Site"]["subscriptionId"] == "Sub-1"
        assert items["Webex Meetings - Site"]["siteUrl"] == "acme.webex.com"
        assert items[MEETINGS.upper()]["totalUnits"] == 7 and MEETINGS not in items

    def test_org_id_parameter(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """orgId may be the organization's Webex id or UUID; another organization is 404."""
        assert v1.get("/licenses", params={"orgId": server.webex_org_id}).status_code == 200
        assert v1.get("/licenses", params={"orgId": ORG}).status_code == 200
        webex_error(v1.get("/licenses", params={"orgId": "other"}), 404)


class TestGet:
    def test_get_and_unknown(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """GET /v1/licenses/{id} returns one licence; an unknown id is 404."""
        meetings = licence(server, MEETINGS)
        assert v1.get(f"/licenses/{meetings['id']}").json() == meetings
        webex_error(v1.get("/licenses/unknown"), 404)

    def test_assigned_users_are_paged(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """includeAssignedTo=user lists the holders; limit pages them and Link points to the next page."""
        meetings = licence(server, MEETINGS)["id"]
        users = [
            server.add_user({"userName": f"u{i}@example.com", "displayName": f"U {i}"}) for i in range(3)
        ]
        for user in users:
            assert assign(v1, email=user["userName"], licenses=[add(meetings)]).status_code == 200
        first = v1.get(f"/licenses/{meetings}", params={"includeAssignedTo": "user", "limit": 2})
        assert first.json()["users"] == [
            {
                "id": server.person_id(u["id"]),
                "type": "INTERNAL",
                "displayName": u["displayName"],
                "email": u["userName"],
            }
            for u in users[:2]
        ]
        next_url = first.headers["Link"].removeprefix("<").split(">;")[0]
        assert first.headers["Link"].endswith('rel="next"')
        second = httpx.get(next_url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert [u["email"] for u in second.json()["users"]] == [
            "u2@example.com"
        ] and "Link" not in second.headers
        webex_error(v1.get(f"/licenses/{meetings}", params={"includeAssignedTo": "user", "limit": 301}), 400)


class TestAssign:
    def test_add_by_email_and_by_person_id(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """The user is named by email or personId; the answer lists the licences now held."""
        meetings, messaging = licence(server, MEETINGS)["id"], licence(server, MESSAGING)["id"]
        response = assign(v1, email="ANN@example.com", licenses=[add(meetings)])
        assert response.status_code == 200
        assert response.json() == {
            "orgId": server.webex_org_id,
            "personId": server.person_id(ann["id"]),
            "email": "ann@example.com",
            "licenses": [meetings],
            "siteUrls": [],
            "pendingLicenses": [],
            "pendingSiteUrls": [],
        }
        by_id = assign(
            v1, personId=server.person_id(ann["id"]), orgId=server.webex_org_id, licenses=[{"id": messaging}]
        )
        assert by_id.status_code == 200 and by_id.json()["licenses"] == [meetings, messaging]
        assert licence(server, MEETINGS)["consumedUnits"] == 1 and server.user_licenses(ann["id"]) == [
            meetings,
            messaging,
        ]

    def test_add_held_and_remove_not_held_change_nothing(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """Adding a licence held already uses no second unit; removing one not held is no error."""
        meetings, messaging = licence(server, MEETINGS)["id"], licence(server, MESSAGING)["id"]
        assign(v1, email="ann@example.com", licenses=[add(meetings)])
        again = assign(
            v1, email="ann@example.com", licenses=[add(meetings), {"id": messaging, "operation": "remove"}]
        )
        assert again.status_code == 200 and again.json()["licenses"] == [meetings]
        assert licence(server, MEETINGS)["consumedUnits"] == 1

    def test_remove_frees_the_unit(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """Removing a licence frees its unit."""
        meetings = licence(server, MEETINGS)["id"]
        assign(v1, email="ann@example.com", licenses=[add(meetings)])
        removed = assign(v1, email="ann@example.com", licenses=[{"id": meetings, "operation": "remove"}])
        assert removed.json()["licenses"] == [] and licence(server, MEETINGS)["consumedUnits"] == 0

    def test_unknown_licence_is_400000(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """An unknown licence id is 400 with Webex's errorCode 400000, and nothing is assigned."""
        meetings = licence(server, MEETINGS)["id"]
        body = webex_error(
            assign(v1, email="ann@example.com", licenses=[add(meetings), add("nope")]), 400, 400000
        )
        assert body["message"] == "License not recognized" and "nope" in body["errors"][0]["description"]
        assert server.user_licenses(ann["id"]) == []

    def test_unknown_user(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """A user that does not exist is 404; naming nobody is 400."""
        meetings = licence(server, MEETINGS)["id"]
        webex_error(assign(v1, email="ghost@example.com", licenses=[add(meetings)]), 404)
        webex_error(assign(v1, personId=server.person_id("nobody"), licenses=[add(meetings)]), 404)
        webex_error(assign(v1, licenses=[add(meetings)]), 400)

    def test_mismatched_person_and_email(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """personId and email naming two different people is 400."""
        bob = server.add_user({"userName": "bob@example.com"})
        meetings = licence(server, MEETINGS)["id"]
        webex_error(
            assign(
                v1, email="ann@example.com", personId=server.person_id(bob["id"]), licenses=[add(meetings)]
            ),
            400,
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"licenses": "not a list"},
            {"licenses": [{"operation": "add"}]},
            {"licenses": [{"id": "x", "operation": "upgrade"}]},
            {"licenses": []},
            {"licenses": [{"id": "x", "properties": {"extension": 133}}]},
        ],
    )
    def test_malformed_bodies(self, v1: httpx.Client, ann: dict[str, Any], body: dict[str, Any]) -> None:
        """Malformed licence lists are 400."""
        webex_error(assign(v1, email="ann@example.com", **body), 400)

    def test_calling_licence_needs_properties(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """A Calling licence without phoneNumber or extension is 400411 'License properties
        missing' (Webex's message); without phoneNumber nor locationId 400 'Unable to find
        location'; with them it is assigned."""
        calling = licence(server, CALLING)["id"]
        bare = webex_error(assign(v1, email="ann@example.com", licenses=[add(calling)]), 400, 400411)
        assert bare["message"] == "License properties missing"
        assert bare["errors"][0]["description"].endswith(f"do not have properties: {calling}")
        webex_error(assign(v1, email="ann@example.com", licenses=[add(calling, locationId="L")]), 400, 400411)
        body = webex_error(
            assign(v1, email="ann@example.com", licenses=[add(calling, extension="133")]), 400, 400
        )
        assert body["message"] == "Unable to find location"
        assert (
            assign(
                v1, email="ann@example.com", licenses=[add(calling, phoneNumber="+14085267209")]
            ).status_code
            == 200
        )
        assert server.user_licenses(ann["id"]) == [calling]

    def test_calling_flag_can_be_set(
        self, v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
    ) -> None:
        """add_license(calling=True) makes a licence need Calling properties whatever its name."""
        odd = server.add_license("Telephony Plus", 5, calling=True)["id"]
        webex_error(assign(v1, email="ann@example.com", licenses=[add(odd)]), 400, 400411)
        assert (
            assign(v1, email="ann@example.com", licenses=[add(odd, **CALLING_PROPERTIES)]).status_code == 200
        )

    def test_no_free_units_is_206(self, v1: httpx.Client, server: EmulatorServer) -> None:
        """When no unit is left an add is skipped: 206 with the licences actually held, the rest applied."""
        meetings, messaging = licence(server, MEETINGS)["id"], licence(server, MESSAGING)["id"]
        for n in range(3):
            user = server.add_user({"userName": f"u{n}@example.com"})
            assert assign(v1, email=user["userName"], licenses=[add(meetings)]).status_code == 200
        late = server.add_user({"userName": "late@example.com"})
        response = assign(v1, email="late@example.com", licenses=[add(meetings), add(messaging)])
        assert response.status_code == 206 and response.json()["licenses"] == [messaging]
        assert licence(server, MEETINGS)["consumedUnits"] == 3 and server.user_licenses(late["id"]) == [
            messaging
        ]

    def test_no_free_units_as_an_error(self, ann: dict[str, Any]) -> None:
        """With license_overflow='error' such a request is 400 and changes nothing."""
        with EmulatorServer(
            org_id=ORG, token=TOKEN, licenses={MEETINGS: 0, MESSAGING: 5}, license_overflow="error"
        ) as own:
            user = own.add_user({"userName": "ann@example.com"})
            meetings, messaging = (licence(own, n)["id"] for n in (MEETINGS, MESSAGING))
            with httpx.Client(base_url=own.v1_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
                response = assign(client, email="ann@example.com", licenses=[add(messaging), add(meetings)])
            body = webex_error(response, 400)
            assert meetings in body["errors"][0]["description"]
            assert own.user_licenses(user["id"]) == []

    def test_attendee_sites(self, v1: httpx.Client, ann: dict[str, Any]) -> None:
        """Attendee siteUrls are added and removed; another account type is 400216."""
        site = {"siteUrl": "acme.webex.com", "accountType": "attendee"}
        added = assign(v1, email="ann@example.com", siteUrls=[site])
        assert added.status_code == 200 and added.json()["siteUrls"] == [site]
        removed = assign(v1, email="ann@example.com", siteUrls=[{**site, "operation": "remove"}])
        assert removed.json()["siteUrls"] == []
        host = {"siteUrl": "acme.webex.com", "accountType": "host"}
        webex_error(assign(v1, email="ann@example.com", siteUrls=[host]), 400, 400216)

    def test_deleting_a_user_frees_its_units(
        self, v1: httpx.Client, scim: httpx.Client, server: EmulatorServer
    ) -> None:
        """A deleted user's licences are free again."""
        meetings = licence(server, MEETINGS)["id"]
        user = server.add_user({"userName": "ann@example.com"})
        assign(v1, email="ann@example.com", licenses=[add(meetings)])
        assert scim.delete(f"/Users/{user['id']}").status_code == 204
        assert licence(server, MEETINGS)["consumedUnits"] == 0 and server.user_licenses(user["id"]) == []
        holders = v1.get(f"/licenses/{meetings}", params={"includeAssignedTo": "user"}).json()["users"]
        assert holders == []


def test_reset_keeps_configured_licences_free(
    v1: httpx.Client, server: EmulatorServer, ann: dict[str, Any]
) -> None:
    """reset() drops assignments and added licences; configured licences stay, all units free."""
    assign(v1, email="ann@example.com", licenses=[add(licence(server, MEETINGS)["id"])])
    server.add_license("Extra", 1)
    server.reset()
    assert [(lic["name"], lic["consumedUnits"]) for lic in server.licenses()] == [
        (MEETINGS, 0),
        (CALLING, 0),
        (MESSAGING, 0),
    ]
