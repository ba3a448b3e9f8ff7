"""No duplicates, ever: races, lost answers and conflicts on create resolve to one Webex user,
through real HTTP to the emulator (the module's slapd: these tests only read it). The same rules
on the in-memory fakes: tests/engine/test_cycle_on_fakes.py."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import World
from webex_provisioner.engine.wiring import open_engine
from webex_provisioner.model import Link, WebexUser
from webex_provisioner.service.lease import cycle_lock
from webex_provisioner.state import open_state_store
from webex_provisioner.webex import ScimWebexClient

pytestmark = pytest.mark.timeout(120)


def user_names(world: World) -> Counter[str]:
    return Counter(u["userName"].lower() for u in world.emulator.users())


class BlindLookups(ScimWebexClient):
    """A client whose planning lookups miss users that appear in Webex meanwhile (a race)."""

    blind = True

    def find_by_email(self, email: str) -> WebexUser | None:
        if self.blind:
            return None
        return super().find_by_email(email)


def test_409_on_create_becomes_a_link(shared_world: World) -> None:
    world = shared_world
    """A user created in Webex by someone else between the lookup and the create is linked, not duplicated."""
    existing = world.emulator.add_user(
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Eva.Novak@example.com"}
    )
    with open_engine(world.config) as engine, cycle_lock(engine.store, "test"):
        client = BlindLookups(world.config.webex)
        engine.webex = client
        planned = engine.cycle().run(apply=False)
        assert ("create", "eva.novak@example.com") in {(a.kind.value, a.email) for a in planned.plan.actions}
        client.blind = False
        report = engine.cycle()._apply(planned.plan.actions, {}, planned.cycle_id)
        client.close()
    assert report.failed == 0
    assert max(user_names(world).values()) == 1
    store_links = {link.email.lower(): link for link in _links(world)}
    assert store_links["eva.novak@example.com"].webex_id == existing["id"]


def test_lost_answers_on_create_are_resolved_by_lookup(shared_world: World) -> None:
    world = shared_world
    """Creates applied by Webex whose answers are lost are found by e-mail and linked: no duplicate."""
    world.configure(webex={"concurrency": 2, "max_retries": 5})
    world.emulator.faults.lose_response_next(6)
    report = world.sync()
    assert report.applied is not None and report.applied.failed == 0
    names = user_names(world)
    assert max(names.values()) == 1
    assert len(names) == len(
        {
            world.person_mail(u).lower()
            for u in world.corp.in_scope - world.corp.disabled
            if world.corp.person(u).mail
        }
    )
    assert len(_links(world)) == len(names)
    assert world.sync().plan.actions == ()


def _links(world: World) -> list[Link]:
    store = open_state_store(world.config.state)
    try:
        return list(store.links())
    finally:
        store.close()
