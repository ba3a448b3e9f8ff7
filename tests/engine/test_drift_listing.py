"""A drift check's Webex listing is bounded: the real SCIM client behind ``httpx.MockTransport``
(a precise fault sequence) serves a listing that cannot be trusted, and the cycle concludes no
drift from it (nobody counts as deleted) and says why. Also: the listing asks for Webex's
largest page and sends one request per page."""

from __future__ import annotations

from typing import Any

from tests.engine.fakes_world import FakeWorld, person
from tests.webex.webex_fakes import FakeWebex, client_for, page, reply, user_resource
from webex_provisioner.engine.report import EXIT_OK
from webex_provisioner.webex.client import PAGE_SIZE


def provisioned(*uids: str) -> FakeWorld:
    w = FakeWorld(*[person(uid) for uid in uids], drift={})
    assert w.sync().exit_code == EXIT_OK
    return w


def resources(w: FakeWorld) -> list[dict[str, Any]]:
    """What Webex holds now, as SCIM resources."""
    return [
        user_resource(
            u.id,
            u.email,
            name={"givenName": u.attributes["firstName"], "familyName": u.attributes["lastName"]},
            displayName=u.attributes["displayName"],
            externalId=u.attributes["externalId"],
        )
        for u in w.webex.users()
    ]


def test_a_listing_is_paged_with_the_largest_page_and_one_request_per_page() -> None:
    """Three users over two pages: two GETs with count=PAGE_SIZE, no drift, nothing else sent."""
    w = provisioned("ann", "bob", "cy")
    users = resources(w)
    fake = FakeWebex(reply(200, page(users[:2], total=3)), reply(200, page(users[2:], total=3, start=3)))
    w.webex = client_for(fake)  # type: ignore[assignment]
    report = w.sync()
    assert report.plan.all_actions == () and report.drift is not None and report.drift.error is None
    assert [(r.method, r.url.params["count"]) for r in fake.requests] == [("GET", str(PAGE_SIZE))] * 2


def test_a_page_without_its_resources_fails_the_check_and_concludes_nothing() -> None:
    """The second page comes without Resources: the check fails with a clear error, the users
    not listed are not taken for deleted, nothing is planned."""
    w = provisioned("ann", "bob", "cy")
    users = resources(w)
    broken = page(users[2:], total=3, start=3)
    del broken["Resources"]
    fake = FakeWebex(reply(200, page(users[:2], total=3)), reply(200, broken))
    w.webex = client_for(fake)  # type: ignore[assignment]
    report = w.sync()
    assert report.error is None and report.plan.all_actions == () and report.plan.problems == ()
    assert report.drift is not None and report.drift.users == {}
    assert report.drift.error is not None and "without a Resources list" in report.drift.error
    assert "no drift is concluded" in report.drift.error


def test_a_listing_that_does_not_advance_fails_the_check() -> None:
    """A server that answers the first page again (ignoring startIndex) fails the check instead
    of looping; nothing is concluded."""
    w = provisioned("ann", "bob", "cy")
    first = page(resources(w)[:2], total=3)
    fake = FakeWebex(reply(200, first), reply(200, first))
    w.webex = client_for(fake)  # type: ignore[assignment]
    report = w.sync()
    assert report.plan.all_actions == () and report.drift is not None
    assert report.drift.error is not None and "again" in report.drift.error
    assert len(fake.requests) == 2
