"""ScimWebexClient round trips against real SCIM servers: the bundled Webex emulator over HTTP,
and scim2-server (an independent RFC 7643/7644 implementation, in-process over WSGI).

The emulator runs are skipped while ``webex_provisioner.emulator.EmulatorServer`` does not exist.
scim2-server does not know Webex's Cisco extension schema, so for it the extension URN is
dropped from create bodies and extensionAttributeN keys are left out of the scenarios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.webex.webex_fakes import ORG, TOKEN, make_config, scim2_client
from webex_provisioner.errors import WebexConflictError, WebexNotFoundError
from webex_provisioner.model import Change
from webex_provisioner.model.attributes import WEBEX_ATTRIBUTES
from webex_provisioner.webex import ScimWebexClient, client


@dataclass
class Server:
    name: str
    make_client: Callable[[], ScimWebexClient]
    cisco_extension: bool


def _scim2_server() -> Iterator[Server]:
    yield Server("scim2-server", scim2_client, False)


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[Any]:
    """One emulator for the module; each test starts from it reset (an empty organization)."""
    emulator = pytest.importorskip("webex_provisioner.emulator")
    if not hasattr(emulator, "EmulatorServer"):
        pytest.skip("webex_provisioner.emulator.EmulatorServer is not available yet")
    with emulator.EmulatorServer(org_id=ORG, token=TOKEN) as running:
        yield running


def _emulator(running: Any) -> Iterator[Server]:
    running.reset()
    config = make_config(url=running.url)
    yield Server("emulator", lambda: ScimWebexClient(config), True)


@pytest.fixture(params=["emulator", "scim2-server"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == "emulator":
        yield from _emulator(request.getfixturevalue("module_emulator"))
    else:
        yield from _scim2_server()


@pytest.fixture
def webex(server: Server) -> Iterator[ScimWebexClient]:
    with server.make_client() as made:
        yield made


def everything(server: Server, email: str) -> dict[str, str]:
    """A value for every mapping key the server can hold (manager: a Webex id, set later)."""
    keys = [k for k in WEBEX_ATTRIBUTES if k != "manager"]
    if not server.cisco_extension:
        keys = [k for k in keys if not k.startswith("extensionAttribute")]
    values = {k: f"{k} value" for k in keys}
    values.update(
        email=email,
        preferredLanguage="en_US",
        locale="en_US",
        timezone="Europe/Paris",
        country="FR",
        avatar=f"https://photos.example.com/{email}.jpg",
    )
    return values


def test_create_find_get_list_count_round_trip(server: Server, webex: ScimWebexClient) -> None:
    """A user created with every attribute kind reads back identically through get, find
    (case-insensitive) and list, and is counted."""
    attributes = everything(server, "alice@example.com")
    manager = webex.create_user({"email": "boss@example.com"})
    attributes["manager"] = manager.id
    created = webex.create_user(attributes)
    assert created.attributes == attributes and created.active
    fetched = webex.get_user(created.id)
    assert fetched is not None and fetched.attributes == attributes
    found = webex.find_by_email("ALICE@example.com")
    assert found is not None and found.id == created.id
    assert webex.find_by_email("nobody@example.com") is None
    assert {u.id for u in webex.list_users()} >= {created.id, manager.id}
    assert webex.count_users() >= 2


def test_update_every_kind_and_remove_values(server: Server, webex: ScimWebexClient) -> None:
    """PATCH replaces, adds and removes each attribute kind (simple, name, enterprise, manager,
    phones, address fields, extension attributes), changes the e-mail and deactivates; what
    Webex then holds is exactly the desired attributes."""
    before = everything(server, "carol@example.com")
    for key in ("mobilePhone", "street", "city", "nickName", "division"):
        before.pop(key)
    created = webex.create_user(before)
    manager = webex.create_user({"email": "carolsboss@example.com"})
    after = dict(before)
    after.update(
        email="carol.new@example.com",
        title="changed",
        firstName="Caroline",
        department="changed dept",
        manager=manager.id,
        workPhone="+33 1 00 00 00 00",
        mobilePhone="+33 6 00 00 00 00",
        street="1 Main St",
        nickName="Caro",
        avatar="https://photos.example.com/caroline.jpg",
    )
    for key in ("extension", "postalCode", "lastName", "costCenter", "externalId"):
        after.pop(key)
    if server.cisco_extension:
        after["extensionAttribute1"] = "changed ext"
        after.pop("extensionAttribute2")
    changes = [Change(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))]
    updated = webex.update_user(created.id, changes, active=False)
    assert updated.attributes == after and updated.email == "carol.new@example.com" and not updated.active
    again = webex.get_user(created.id)
    assert again is not None and again.attributes == after
    assert webex.find_by_email("carol@example.com") is None
    found = webex.find_by_email("carol.new@example.com")
    assert found is not None and found.id == created.id


def test_address_fields_added_to_a_user_without_address_make_one_entry(webex: ScimWebexClient) -> None:
    """Adding several address fields at once creates one work address holding them all."""
    created = webex.create_user({"email": "dave@example.com"})
    changes = [
        Change("city", None, "Paris"),
        Change("street", None, "1 Main St"),
        Change("country", None, "FR"),
    ]
    updated = webex.update_user(created.id, changes)
    assert {k: updated.attributes.get(k) for k in ("city", "street", "country")} == {
        "city": "Paris",
        "street": "1 Main St",
        "country": "FR",
    }


def test_reactivate_only(webex: ScimWebexClient) -> None:
    """update_user with no changes and active=True only flips active."""
    created = webex.create_user({"email": "erin@example.com", "title": "kept"}, active=False)
    assert not created.active
    updated = webex.update_user(created.id, [], active=True)
    assert updated.active and updated.attributes["title"] == "kept"


def test_duplicate_create_conflicts_case_insensitively(webex: ScimWebexClient) -> None:
    """A second user with the same e-mail in another case is a WebexConflictError."""
    webex.create_user({"email": "frank@example.com"})
    with pytest.raises(WebexConflictError, match=r"FRANK@example\.com"):
        webex.create_user({"email": "FRANK@example.com"})


def test_delete_then_gone(webex: ScimWebexClient) -> None:
    """A deleted user is gone for get; deleting it again is done; updating it is not found."""
    created = webex.create_user({"email": "gina@example.com"})
    webex.delete_user(created.id)
    assert webex.get_user(created.id) is None
    webex.delete_user(created.id)
    with pytest.raises(WebexNotFoundError):
        webex.update_user(created.id, [Change("title", None, "x")])


def test_list_pages_through_everyone(webex: ScimWebexClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """list_users walks all pages of the real server (page size lowered to 2 here)."""
    monkeypatch.setattr(client, "PAGE_SIZE", 2)
    ids = {webex.create_user({"email": f"page{i}@example.com"}).id for i in range(5)}
    listed = [u.id for u in webex.list_users()]
    assert len(listed) == len(set(listed)) == webex.count_users()
    assert ids <= set(listed)
