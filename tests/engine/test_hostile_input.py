"""Hostile directory values through a whole cycle on the fakes: each bad user is reported and
skipped, everyone else is provisioned."""

from __future__ import annotations

import time

import httpx

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USERS_FAILED
from webex_provisioner.model import ProblemKind
from webex_provisioner.webex import ScimWebexClient


def test_an_email_with_a_hidden_character_is_reported_and_skipped() -> None:
    """A zero-width space or a right-to-left override in an e-mail makes that user an invalid
    one (exit 3), never a Webex user; the other users are provisioned."""
    world = FakeWorld(
        person("ann"),
        person("zw", email="zw\u200b@example.com"),
        person("rlo", email="rlo@example.com\u202egro"),
    )
    report = world.sync()
    invalid = {p.anchor: p.detail for p in report.plan.problems if p.kind is ProblemKind.INVALID}
    assert set(invalid) == {"zw", "rlo"}
    assert "U+200B" in invalid["zw"] and "U+202E" in invalid["rlo"]
    assert world.emails() == {"ann@example.com"}
    assert report.exit_code == EXIT_USERS_FAILED


PER_USER_BOUND = 0.05
"""Seconds a hostile user may cost a cycle (a normal one costs well under a millisecond): a
guard against quadratic work on hostile values, not a benchmark."""
BLANK_RDN = "uid=a" + " " * 20_000 + "b,ou=people,dc=example,dc=com"
HOSTILE = {
    "long-mail": {"email": "a" * 100_000 + "@example.com"},
    "dotted-mail": {"email": "a@" + "." * 100_000},
    "at-mail": {"email": "@" * 10_000},
    "nul-mail": {"email": "nul\x00@example.com"},
    "long-name": {"displayName": "n" * 100_000},
    "many-titles": {"title": tuple(f"title {i}" for i in range(5_000))},
    "many-departments": {"departmentNumber": tuple(str(i) for i in range(10_000))},
    "blank-manager": {"manager": BLANK_RDN},
    "space-dn": {"dn": " " * 10_000},
    "blank-dn": {"dn": BLANK_RDN},
    "escaped-dn": {"dn": "cn=" + "\\," * 8_000 + ",ou=people,dc=example,dc=com"},
    "long-anchor-dn": {"dn": "cn=" + "x" * 100_000 + ",ou=people,dc=example,dc=com"},
}


def test_hostile_users_cost_a_cycle_a_bounded_time_each() -> None:
    """Users with 100 KB values, e-mails of 100,000 dots, thousands of values, DNs of 10,000
    spaces or 20,000 blanks inside an RDN: a full cycle reports or provisions each in well under
    PER_USER_BOUND (best of three cycles), and the ordinary users are provisioned."""
    users = [person(f"ok{i}") for i in range(5)]
    users += [person(anchor, **values) for anchor, values in HOSTILE.items()]
    best = float("inf")
    for _ in range(3):
        world = FakeWorld(*users)
        world.configure(
            mapping={
                "email": "mail",
                "displayName": "{{ displayName or givenName ~ ' ' ~ sn }}",
                "title": {"from": "title", "multi": "join"},
                "department": "departmentNumber",
                "manager": {"from": "manager", "unresolved": "omit"},
            }
        )
        started = time.perf_counter()
        report = world.sync()
        best = min(best, time.perf_counter() - started)
    skipped = {p.anchor for p in report.plan.problems}
    assert {f"ok{i}@example.com" for i in range(5)} <= world.emails()
    assert skipped >= {"long-mail", "dotted-mail", "at-mail", "nul-mail", "long-name", "many-titles"}
    assert best / len(users) < PER_USER_BOUND, f"{best / len(users) * 1000:.1f} ms per user"


class _StartIndexIgnored:
    """A Webex SCIM endpoint that answers every listing with its first page and a large total,
    whatever startIndex says; it would accept creates, and counts every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.method != "GET":
            return httpx.Response(201, json={"id": f"w-{len(self.requests)}", "userName": "x@example.com"})
        first = [{"id": "w-1", "userName": "ok0@example.com"}, {"id": "w-2", "userName": "ok1@example.com"}]
        return httpx.Response(200, json={"totalResults": 100_000, "itemsPerPage": 2, "Resources": first})


def test_a_listing_that_cannot_be_trusted_fails_the_cycle_and_creates_nobody() -> None:
    """250 new users make the cycle list the organization; Webex ignores startIndex. The cycle
    fails (exit 1) saying the listing cannot be trusted, after two listing requests, and sends
    no create, link or anything else."""
    world = FakeWorld(*(person(f"ok{i}") for i in range(250)))
    server = _StartIndexIgnored()
    world.webex = ScimWebexClient(world.config.webex, transport=httpx.MockTransport(server))  # type: ignore[assignment]
    report = world.sync()
    assert report.exit_code == EXIT_FAILED
    assert report.error is not None and "cannot be trusted" in report.error
    assert [(r.method, r.url.params.get("startIndex")) for r in server.requests] == [
        ("GET", "1"),
        ("GET", "3"),
    ]
    assert world.store.count_links() == 0
