"""Creates in SCIM Bulk requests (``webex.bulk: true``) on the in-memory fakes: the executor's
batches, and a create refused inside a Bulk request. tests/test_bulk_executor.py proves Bulk
creates end to end against the emulator (and Webex's per-operation answers through
httpx.MockTransport)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from tests.engine.fakes_world import FakeWorld, create_action, person
from webex_provisioner.engine.executor import Executor, user_sender
from webex_provisioner.errors import WebexConflictError
from webex_provisioner.testing.state import InMemoryStateStore
from webex_provisioner.testing.webex import InMemoryWebex


def test_bulk_requests_hold_at_most_100_creates() -> None:
    """250 creates go out as Bulk requests of at most 100 operations (the fake refuses a larger
    one, as ScimWebexClient does); each create is recorded with the Webex id Webex gave it."""
    webex, store = InMemoryWebex(max_batch=100), InMemoryStateStore()
    sender = user_sender(webex, {}, cycle_id="c1", clock=lambda: datetime.now(UTC), bulk=True, managed=None)
    executor = Executor(sender, store, cycle_id="c1", concurrency=2)
    result = executor.apply([create_action(i) for i in range(250)])
    assert result.counts == Counter({("create", "applied"): 250})
    assert webex.request_stats().requests == {("POST", "200"): 3}  # three Bulk requests, no single POST
    assert len(webex.calls_of("create_users")) == 250 and not webex.calls_of("create_user")
    ids = {u.email: u.id for u in webex.users()}
    links = {link.anchor: link for link in store.links()}
    assert len(ids) == 250
    assert all(links[f"anchor-{i:04d}"].webex_id == ids[f"user{i:04d}@bulk.example.com"] for i in range(250))


def test_a_mixed_bulk_fails_only_the_refused_user() -> None:
    """One create of a Bulk request is refused (its e-mail belongs to another organization: 409,
    and no such user here): that user fails with the reason, the others are created."""
    world = FakeWorld(person("ann"), person("bob"), person("cy"), webex={"bulk": True})
    taken = WebexConflictError(
        "creating Webex user bob@example.com: 409 userName bob@example.com is taken", status=409
    )
    world.webex.answer_bulk({"bob@example.com": taken})
    report = world.sync()
    assert report.applied is not None
    assert [(a.email, a.kind.value) for a, _ in report.applied.failures] == [("bob@example.com", "create")]
    assert "409" in report.applied.failures[0][1]
    assert report.exit_code == 3
    assert world.emails() == {"ann@example.com", "cy@example.com"}
    assert report.applied.counts[("create", "applied")] == 2
    assert world.webex.calls_of("find_by_email").count("bob@example.com") == 2  # planned, then after the 409


def test_bulk_auto_sends_many_creates_in_bulk_and_a_few_singly() -> None:
    """webex.bulk: auto (the default) uses Bulk requests from 100 creates in a cycle, single
    requests below."""
    few = FakeWorld(*[person(f"f{i}") for i in range(5)])
    few.sync()
    assert len(few.webex.calls_of("create_user")) == 5 and not few.webex.calls_of("create_users")
    many = FakeWorld(*[person(f"m{i:03d}") for i in range(120)])
    many.sync()
    assert len(many.webex.calls_of("create_users")) == 120 and not many.webex.calls_of("create_user")
