"""RFC 7644 conformance: the same checks against the emulator and the independent scim2-server.

Only behaviour RFC 7644 requires of both is checked here, for Users and for Groups (the base
paths differ: scim2-server serves ``/v2``, the emulator ``/identity/scim/{orgId}/v2``).
Webex-specific behaviour has its own test files. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import CORE, ERROR, GROUP, TOKEN, group_body, patch_body, user_body

pytestmark = pytest.mark.server


scim2_server = pytest.importorskip("scim2_server")


@dataclass(frozen=True)
class Target:
    """A SCIM service under test: its name and the base URL of its endpoints."""

    name: str
    base_url: str


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def scim2_server_url() -> Iterator[str]:
    """scim2-server (in-memory storage, bearer token) in a thread on a free loopback port."""
    from scim2_models import ScimProvider
    from scim2_server.memory import InMemoryStorage
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME, BearerTokenApplication
    from scim2_server.testserver.cli import ThreadingWSGIServer
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    app = BearerTokenApplication(
        InMemoryStorage(), provider, service=ScimService(provider, secret="s" * 32), bearer_tokens=[TOKEN]
    )
    server = make_server("127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v2"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(params=["webex-emulator", "scim2-server"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "webex-emulator":
        server: EmulatorServer = request.getfixturevalue("server")
        return Target(request.param, server.scim_url)
    return Target(request.param, request.getfixturevalue("scim2_server_url"))


@pytest.fixture
def client(target: Target) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target.base_url, headers={"Authorization": f"Bearer {TOKEN}"}) as made:
        yield made


@pytest.fixture
def email() -> str:
    """A userName no other test uses (scim2-server keeps its users for the module)."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def create(client: httpx.Client, email: str, **attributes: Any) -> dict[str, Any]:
    response = client.post("/Users", json=user_body(email, **attributes))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create(client: httpx.Client, target: Target, email: str) -> None:
    """POST /Users answers 201 with an id, the userName, meta, and a Location header = meta.location."""
    response = client.post("/Users", json=user_body(email, displayName="Conformance"))
    assert response.status_code == 201
    user = response.json()
    assert CORE in user["schemas"]
    assert user["id"] and user["userName"] == email and user["displayName"] == "Conformance"
    assert user["meta"]["resourceType"] == "User"
    assert user["meta"]["location"] == f"{target.base_url}/Users/{user['id']}"
    assert response.headers["Location"] == user["meta"]["location"]
    assert user["meta"]["created"] and user["meta"]["lastModified"] and user["meta"]["version"]


def test_get(client: httpx.Client, email: str) -> None:
    """GET /Users/{id} returns the created user."""
    user = create(client, email)
    response = client.get(f"/Users/{user['id']}")
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["userName"]) == (user["id"], email)


def test_search_by_user_name(client: httpx.Client, email: str) -> None:
    """A userName eq filter returns a ListResponse with exactly that user."""
    user = create(client, email)
    response = client.get("/Users", params={"filter": f'userName eq "{email}"'})
    assert response.status_code == 200
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["itemsPerPage"], body["startIndex"]) == (1, 1, 1)
    assert [r["id"] for r in body["Resources"]] == [user["id"]]


def test_search_without_match(client: httpx.Client, email: str) -> None:
    """A filter matching nobody answers 200 with totalResults 0."""
    response = client.get("/Users", params={"filter": f'userName eq "{email}"'})
    assert response.status_code == 200 and response.json()["totalResults"] == 0


def test_patch_active_false(client: httpx.Client, email: str) -> None:
    """PATCH replace active=false succeeds (200 or 204) and the user reads back inactive."""
    user = create(client, email)
    response = client.patch(
        f"/Users/{user['id']}", json=patch_body({"op": "replace", "path": "active", "value": False})
    )
    assert response.status_code in (200, 204)
    assert client.get(f"/Users/{user['id']}").json()["active"] is False


def test_put(client: httpx.Client, email: str) -> None:
    """PUT replaces the user, keeping its id and creation date, moving its version."""
    user = create(client, email, title="Before")
    response = client.put(f"/Users/{user['id']}", json=user_body(email, displayName="After"))
    assert response.status_code == 200
    new = response.json()
    assert new["id"] == user["id"] and new["displayName"] == "After" and "title" not in new
    assert new["meta"]["created"] == user["meta"]["created"]
    assert new["meta"]["version"] != user["meta"]["version"]


def test_delete(client: httpx.Client, email: str) -> None:
    """DELETE answers 204; the user then answers 404 with a SCIM error."""
    user = create(client, email)
    assert client.delete(f"/Users/{user['id']}").status_code == 204
    response = client.get(f"/Users/{user['id']}")
    assert response.status_code == 404
    assert response.json()["schemas"] == [ERROR] and response.json()["status"] == "404"


@pytest.mark.parametrize("same", [str.lower, str.upper], ids=["same-case", "other-case"])
def test_user_name_uniqueness(client: httpx.Client, email: str, same: Any) -> None:
    """A second user with the same userName (caseExact false, RFC 7643) answers 409 uniqueness."""
    create(client, email)
    response = client.post("/Users", json=user_body(same(email)))
    assert response.status_code == 409
    body = response.json()
    assert body["schemas"] == [ERROR] and body["status"] == "409" and body["scimType"] == "uniqueness"


def test_bearer_token_required(target: Target) -> None:
    """Without a bearer token the service answers 401."""
    assert httpx.get(f"{target.base_url}/Users").status_code == 401


# --------------------------------------------------------------------------- Groups
#
# Only what RFC 7643/7644 require of both. Left to the emulator's own tests because scim2-server
# does otherwise (RFC 7644 lets it): refusing unknown members (scim2-server stores any value),
# unique displayNames (RFC 7643: uniqueness none; Webex's rule is unknown), 400 noTarget for a
# remove whose value filter matches nothing (scim2-server answers 204), and dropping deleted users
# from their groups (a SHOULD that scim2-server does not do).


def member_values(client: httpx.Client, group_id: str) -> set[str]:
    response = client.get(f"/Groups/{group_id}")
    assert response.status_code == 200
    return {m["value"] for m in response.json().get("members", [])}


@pytest.fixture
def group_name() -> str:
    """A displayName no other test uses (scim2-server keeps its groups for the module)."""
    return f"group-{uuid.uuid4().hex[:12]}"


def test_group_create_and_get(client: httpx.Client, target: Target, email: str, group_name: str) -> None:
    """POST /Groups answers 201 with id, displayName, members, meta.resourceType Group and a Location
    equal to meta.location; GET /Groups/{id} returns the members."""
    user = create(client, email)
    response = client.post("/Groups", json=group_body(group_name, user["id"]))
    assert response.status_code == 201, response.text
    group = response.json()
    assert GROUP in group["schemas"] and group["id"] and group["displayName"] == group_name
    assert [m["value"] for m in group["members"]] == [user["id"]]
    assert group["meta"]["resourceType"] == "Group"
    assert (
        group["meta"]["location"] == f"{target.base_url}/Groups/{group['id']}" == response.headers["Location"]
    )
    assert member_values(client, group["id"]) == {user["id"]}


def test_group_display_name_required(client: httpx.Client) -> None:
    """A group without displayName is 400 with a SCIM error."""
    response = client.post("/Groups", json={"schemas": [GROUP]})
    assert response.status_code == 400 and response.json()["schemas"] == [ERROR]


def test_group_search_by_display_name(client: httpx.Client, group_name: str) -> None:
    """displayName eq finds the group in a ListResponse."""
    group = client.post("/Groups", json=group_body(group_name)).json()
    body = client.get("/Groups", params={"filter": f'displayName eq "{group_name}"'}).json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert [g["id"] for g in body["Resources"]] == [group["id"]]


def test_group_patch_members(client: httpx.Client, email: str, group_name: str) -> None:
    """PATCH add members and remove members[value eq "…"] succeed (200 or 204) and show in a GET."""
    first = create(client, email)
    second = create(client, f"second-{email}")
    group = client.post("/Groups", json=group_body(group_name, first["id"])).json()
    add = patch_body({"op": "add", "path": "members", "value": [{"value": second["id"]}]})
    assert client.patch(f"/Groups/{group['id']}", json=add).status_code in (200, 204)
    assert member_values(client, group["id"]) == {first["id"], second["id"]}
    remove = patch_body({"op": "remove", "path": f'members[value eq "{first["id"]}"]'})
    assert client.patch(f"/Groups/{group['id']}", json=remove).status_code in (200, 204)
    assert member_values(client, group["id"]) == {second["id"]}


def test_group_put(client: httpx.Client, email: str, group_name: str) -> None:
    """PUT replaces the group: same id, new displayName, no members when none are sent, new version."""
    user = create(client, email)
    group = client.post("/Groups", json=group_body(group_name, user["id"])).json()
    response = client.put(f"/Groups/{group['id']}", json=group_body(f"{group_name}-renamed"))
    assert response.status_code == 200
    new = response.json()
    assert new["id"] == group["id"] and new["displayName"] == f"{group_name}-renamed"
    assert not new.get("members") and new["meta"]["version"] != group["meta"]["version"]


def test_group_delete(client: httpx.Client, group_name: str) -> None:
    """DELETE /Groups/{id} answers 204; the group then answers 404 with a SCIM error."""
    group = client.post("/Groups", json=group_body(group_name)).json()
    assert client.delete(f"/Groups/{group['id']}").status_code == 204
    response = client.get(f"/Groups/{group['id']}")
    assert response.status_code == 404 and response.json()["schemas"] == [ERROR]
