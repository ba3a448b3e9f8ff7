"""Creates in SCIM Bulk requests (``webex.bulk: true``): the same outcomes and records as single
creates, and the no-duplicate rules inside a Bulk request, against slapd and the emulator over
HTTP (the module's slapd: these tests only read it), or Webex's per-operation answers scripted
through httpx.MockTransport. The executor's batches and a refused create inside a Bulk request
run on the in-memory fakes: tests/engine/test_bulk_creates.py."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import World
from tests.engine.fakes_world import create_action
from tests.webex.webex_fakes import BASE, make_config, page, user_resource
from webex_provisioner.engine.executor import Executor, user_sender
from webex_provisioner.engine.wiring import open_engine
from webex_provisioner.model import Outcome, WebexUser
from webex_provisioner.service.lease import cycle_lock
from webex_provisioner.state import SqliteStateStore
from webex_provisioner.webex import ScimWebexClient

pytestmark = pytest.mark.timeout(120)


def user_names(world: World) -> Counter[str]:
    return Counter(u["userName"].lower() for u in world.emulator.users())


def requests_to(world: World, method: str, path_end: str) -> int:
    return sum(1 for m, path, _ in world.emulator.request_log if m == method and path.endswith(path_end))


class BlindLookups(ScimWebexClient):
    """A client whose planning lookups miss users that appear in Webex meanwhile (a race)."""

    blind = True

    def find_by_email(self, email: str) -> WebexUser | None:
        return None if self.blind else super().find_by_email(email)


def test_bulk_sync_creates_every_user_in_bulk_requests(shared_world: World) -> None:
    world = shared_world
    """With webex.bulk, a first sync creates every enabled user in scope through /Bulk (no single
    POST), links each one, and the next sync has nothing to do."""
    world.configure(webex={"bulk": True})
    report = world.sync()
    expected = {
        world.person_mail(u).lower()
        for u in world.corp.in_scope - world.corp.disabled
        if world.corp.person(u).mail
    }
    assert report.applied is not None and report.applied.failed == 0
    assert report.applied.counts[("create", "applied")] == len(expected)
    assert set(user_names(world)) == expected and max(user_names(world).values()) == 1
    assert requests_to(world, "POST", "/Bulk") == 1
    assert requests_to(world, "POST", "/Users") == 0
    assert world.sync().plan.actions == ()


def test_a_409_inside_a_bulk_links_the_existing_user(shared_world: World) -> None:
    world = shared_world
    """A user created in Webex by someone else after planning answers 409 inside the Bulk request:
    it is looked up and linked, the others are created, nothing is duplicated."""
    world.configure(webex={"bulk": True})
    existing = world.emulator.add_user(
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Eva.Novak@example.com"}
    )
    with open_engine(world.config) as engine, cycle_lock(engine.store, "test"):
        client = BlindLookups(world.config.webex)
        engine.webex = client
        planned = engine.cycle().run(apply=False)
        client.blind = False
        result = engine.cycle()._apply(planned.plan.actions, {}, planned.cycle_id)
        store_links = {link.email.lower(): link for link in engine.store.links()}
        history = engine.store.audit(anchor=store_links["eva.novak@example.com"].anchor)
        client.close()
    assert result.failed == 0
    assert max(user_names(world).values()) == 1
    assert store_links["eva.novak@example.com"].webex_id == existing["id"]
    assert history[0].detail == "409 on create: linked the existing user"
    assert requests_to(world, "POST", "/Users") == 0


def test_a_lost_bulk_answer_is_resolved_by_lookup(shared_world: World) -> None:
    world = shared_world
    """A Bulk request applied by Webex whose answer is lost: each of its creates is looked up by
    e-mail and linked, none is sent again, nothing is duplicated."""
    world.configure(webex={"bulk": True})
    world.emulator.faults.lose_response_next(1)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    names = user_names(world)
    assert max(names.values()) == 1
    assert report.applied.counts[("create", "applied")] == len(names)
    assert requests_to(world, "POST", "/Users") == 0
    with open_engine(world.config) as engine:
        details = {entry.detail for entry in engine.store.audit(limit=500) if entry.action == "create"}
    assert details == {"create outcome unknown (Bulk): found and linked"}
    assert world.sync().plan.actions == ()


def _scripted_webex(calls: list[tuple[str, str]]) -> httpx.MockTransport:
    """A Webex that answers one Bulk request with five different per-operation results, then the
    lookups and the single create they lead to."""
    found = {
        "user0001@bulk.example.com": user_resource("id-existing-1", "user0001@bulk.example.com"),
        "user0004@bulk.example.com": user_resource("id-existing-4", "user0004@bulk.example.com"),
    }

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(httpx.URL(BASE).path)
        calls.append((request.method, path))
        if request.method == "POST" and path == "/Bulk":
            ops = json.loads(request.content)["Operations"]
            assert [op["bulkId"] for op in ops] == ["0", "1", "2", "3", "4"]
            results = [
                {"method": "POST", "bulkId": "0", "status": "201", "location": f"{BASE}/Users/id-new-0"},
                {"method": "POST", "bulkId": "1", "status": "409", "response": {"detail": "userName taken"}},
                {"method": "POST", "bulkId": "2", "status": "400", "response": {"detail": "bad title"}},
                {"method": "POST", "bulkId": "3", "status": "500", "response": {"detail": "oops"}},
            ]  # no result for bulkId 4
            return httpx.Response(200, json={"Operations": results}, headers={"TrackingID": "T-1"})
        if request.method == "GET" and path == "/Users":
            email = request.url.params["filter"].split('"')[1]
            return httpx.Response(200, json=page([found[email]] if email in found else []))
        if request.method == "PATCH":
            user_id = path.rsplit("/", 1)[1]
            email = next(e for e, r in found.items() if r["id"] == user_id)
            return httpx.Response(200, json=found[email])
        if request.method == "POST" and path == "/Users":
            return httpx.Response(201, json=user_resource("id-single-3", "user0003@bulk.example.com"))
        raise AssertionError(f"unexpected {request.method} {path}")

    return httpx.MockTransport(handle)


def test_bulk_results_map_to_the_outcomes_of_single_creates(tmp_path: Any) -> None:
    """Per operation: 201 links the new id; 409 and a missing result are looked up and linked; a
    400 fails that user with Webex's reason; a 500 is looked up, not found, then created singly."""
    calls: list[tuple[str, str]] = []
    store = SqliteStateStore(tmp_path / "state.db")
    client = ScimWebexClient(
        make_config(concurrency=1), transport=_scripted_webex(calls), sleep=lambda _: None
    )
    sender = user_sender(client, {}, cycle_id="c1", clock=lambda: datetime.now(UTC), bulk=True, managed=None)
    executor = Executor(sender, store, cycle_id="c1", concurrency=1)
    result = executor.apply([create_action(i) for i in range(5)])
    links = {link.anchor: link.webex_id for link in store.links()}
    audit = {entry.anchor: entry for entry in store.audit(limit=10)}
    store.close()
    client.close()
    assert links == {
        "anchor-0000": "id-new-0",
        "anchor-0001": "id-existing-1",
        "anchor-0003": "id-single-3",
        "anchor-0004": "id-existing-4",
    }
    assert audit["anchor-0002"].outcome is Outcome.FAILED and "bad title" in audit["anchor-0002"].detail
    assert audit["anchor-0001"].detail == "409 on create: linked the existing user"
    assert audit["anchor-0003"].detail == "create outcome unknown (Bulk): not found, created again"
    assert audit["anchor-0004"].detail == "create outcome unknown (Bulk): found and linked"
    assert result.counts == Counter({("create", "applied"): 4, ("create", "failed"): 1})
    assert calls.count(("POST", "/Users")) == 1 and calls.count(("POST", "/Bulk")) == 1
