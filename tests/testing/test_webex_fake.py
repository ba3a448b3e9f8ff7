"""InMemoryWebex beyond the contract: scripted faults, lost answers, Bulk outcomes, the call
log, request counts, seeding, and sharing between threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from webex_provisioner.errors import (
    WebexConflictError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.model import Change
from webex_provisioner.ports import NO_ANSWER
from webex_provisioner.testing.webex import LOST, InMemoryWebex


def test_fail_next_fails_that_many_calls_then_works(webex: InMemoryWebex) -> None:
    """``fail_next(op, error, times=2)``: the next two calls raise a copy of the error and change
    nothing; the third works."""
    webex.fail_next("create_user", WebexUnavailableError("Webex is down", status=503), times=2)
    for _ in range(2):
        with pytest.raises(WebexUnavailableError, match="Webex is down") as raised:
            webex.create_user({"email": "ann@example.com"})
        assert raised.value.status == 503
    assert webex.users() == [] and webex.pending_faults() == 0
    assert webex.create_user({"email": "ann@example.com"}).email == "ann@example.com"


def test_fail_next_with_a_key_hits_only_that_user(webex: InMemoryWebex) -> None:
    """A fault with a key (an e-mail in any case, or an id) hits only calls about that key."""
    webex.fail_next("create_user", WebexRejectedError("bad", status=400), key="BOB@example.com")
    webex.create_user({"email": "ann@example.com"})
    with pytest.raises(WebexRejectedError):
        webex.create_user({"email": "bob@example.com"})
    ann = webex.user("ann@example.com")
    assert ann is not None
    webex.fail_next("update_user", WebexUnavailableError("down"), key=ann.id)
    with pytest.raises(WebexUnavailableError):
        webex.update_user(ann.id, [Change("title", None, "x")])
    assert webex.pending_faults() == 0


def test_fail_next_refuses_an_unknown_operation(webex: InMemoryWebex) -> None:
    """Scripting a fault of an operation the port does not have is a mistake, said at once."""
    with pytest.raises(ValueError, match="no operation 'create'"):
        webex.fail_next("create", WebexUnavailableError("down"))
    with pytest.raises(ValueError, match="only a write"):
        webex.lose_answer_next("get_user")


def test_a_lost_answer_is_applied_and_outcome_unknown(webex: InMemoryWebex) -> None:
    """``lose_answer_next``: the create is applied, then ``WebexOutcomeUnknownError`` is raised;
    the lookup by e-mail finds the user, and it is counted as a request without answer."""
    webex.lose_answer_next("create_user")
    with pytest.raises(WebexOutcomeUnknownError, match="applied"):
        webex.create_user({"email": "ann@example.com", "title": "T"})
    found = webex.find_by_email("ANN@example.com")
    assert found is not None and found.attributes["title"] == "T"
    assert webex.request_stats().requests == {("POST", NO_ANSWER): 1, ("GET", "200"): 1}


def test_lost_update_and_delete_are_applied(webex: InMemoryWebex) -> None:
    """A lost update or delete was applied all the same."""
    user = webex.add_user("ann@example.com", title="before")
    webex.lose_answer_next("update_user")
    with pytest.raises(WebexOutcomeUnknownError):
        webex.update_user(user.id, [Change("title", "before", "after")])
    assert webex.users()[0].attributes["title"] == "after"
    webex.lose_answer_next("delete_user")
    with pytest.raises(WebexOutcomeUnknownError):
        webex.delete_user(user.id)
    assert webex.users() == []


def test_bulk_answers_per_user(webex: InMemoryWebex) -> None:
    """``answer_bulk``: a scripted error is that user's outcome (not created), ``LOST`` creates
    the user and answers outcome unknown, the others are created; each script is used once."""
    webex.answer_bulk(
        {"Ann@example.com": LOST, "bob@example.com": WebexRejectedError("bad phone", status=400)}
    )
    users = [({"email": e}, True) for e in ("ann@example.com", "bob@example.com", "cy@example.com")]
    ann, bob, cy = webex.create_users(users)
    assert isinstance(ann, WebexOutcomeUnknownError) and isinstance(bob, WebexRejectedError)
    assert isinstance(cy, str)
    assert sorted(u.email for u in webex.users()) == ["ann@example.com", "cy@example.com"]
    assert webex.pending_faults() == 0
    (again,) = webex.create_users([({"email": "bob@example.com"}, True)])
    assert isinstance(again, str)


def test_bulk_request_faults_and_limits(webex: InMemoryWebex) -> None:
    """A Bulk request refused as a whole creates nobody; one whose answer is lost creates
    everyone; more than ``max_batch`` creates is refused before anything."""
    users = [({"email": f"u{i}@example.com"}, True) for i in range(3)]
    webex.fail_next("create_users", WebexUnavailableError("down", status=503))
    with pytest.raises(WebexUnavailableError):
        webex.create_users(users)
    assert webex.users() == []
    webex.lose_answer_next("create_users")
    with pytest.raises(WebexOutcomeUnknownError):
        webex.create_users(users)
    assert len(webex.users()) == 3
    with pytest.raises(ValueError, match="at most 2"):
        InMemoryWebex(max_batch=2).create_users(users)


def test_calls_log_operation_and_key(webex: InMemoryWebex) -> None:
    """Every call is logged with its key: e-mails folded, ids, one entry per user of a batch,
    failed calls too."""
    webex.find_by_email(" Ann@Example.com")
    created = webex.create_user({"email": "Ann@Example.com"})
    webex.get_user(created.id)
    webex.update_user(created.id, [], active=False)
    webex.delete_user(created.id)
    webex.create_users([({"email": "B@example.com"}, True), ({"email": "c@example.com"}, True)])
    webex.count_users()
    list(webex.list_users())
    with pytest.raises(WebexConflictError):
        webex.create_user({"email": "b@EXAMPLE.com"})
    assert webex.calls == [
        ("find_by_email", "ann@example.com"),
        ("create_user", "ann@example.com"),
        ("get_user", created.id),
        ("update_user", created.id),
        ("delete_user", created.id),
        ("create_users", "b@example.com"),
        ("create_users", "c@example.com"),
        ("count_users", ""),
        ("list_users", ""),
        ("create_user", "b@example.com"),
    ]
    assert webex.calls_of("create_user") == ["ann@example.com", "b@example.com"]


def test_request_stats_count_methods_and_statuses(webex: InMemoryWebex) -> None:
    """``request_stats`` counts calls as Webex requests: method and status, errors included."""
    created = webex.create_user({"email": "ann@example.com"})
    webex.get_user("missing")
    webex.delete_user("missing")
    with pytest.raises(WebexConflictError):
        webex.create_user({"email": "ANN@example.com"})
    webex.update_user(created.id, [Change("title", None, "x")])
    stats = webex.request_stats()
    assert stats.requests == {
        ("POST", "201"): 1,
        ("GET", "404"): 1,
        ("DELETE", "404"): 1,
        ("POST", "409"): 1,
        ("PATCH", "200"): 1,
    }
    assert stats.total == 5 and stats.by_method() == {"POST": 2, "GET": 1, "DELETE": 1, "PATCH": 1}


def test_seeded_users_are_not_calls(webex: InMemoryWebex) -> None:
    """``add_user`` seeds a user (with an id of the test's choice) without logging a call;
    a taken e-mail or id is refused."""
    seeded = webex.add_user("ann@example.com", active=False, webex_id="w-1", firstName="Ann")
    assert seeded.attributes == {"email": "ann@example.com", "firstName": "Ann"} and not seeded.active
    assert webex.calls == [] and webex.request_stats().total == 0
    assert webex.get_user("w-1") == seeded
    with pytest.raises(WebexConflictError, match="taken"):
        webex.add_user("ANN@example.com")
    with pytest.raises(ValueError, match="w-1 is taken"):
        webex.add_user("bob@example.com", webex_id="w-1")


def test_an_email_change_to_a_taken_address_conflicts(webex: InMemoryWebex) -> None:
    """userName stays unique on update: changing an e-mail to a taken one is a 409, and
    removing the e-mail is refused."""
    ann = webex.add_user("ann@example.com")
    webex.add_user("bob@example.com")
    with pytest.raises(WebexConflictError) as raised:
        webex.update_user(ann.id, [Change("email", "ann@example.com", "BOB@example.com")])
    assert raised.value.status == 409
    with pytest.raises(WebexRejectedError, match="cannot be removed"):
        webex.update_user(ann.id, [Change("email", "ann@example.com", None)])
    assert webex.user("ann@example.com") == ann


def test_returned_users_are_copies(webex: InMemoryWebex) -> None:
    """Changing the attributes of a user handed out does not change the organization."""
    created = webex.create_user({"email": "ann@example.com", "title": "T"})
    created.attributes["title"] = "changed"  # type: ignore[index]
    assert webex.users()[0].attributes["title"] == "T"


def test_shared_by_threads(webex: InMemoryWebex) -> None:
    """Eight threads looking up and creating 400 users at once: each user created once with
    an id of its own, every call logged and counted."""
    emails = [f"t{i}@example.com" for i in range(400)]

    def create(email: str) -> str:
        assert webex.find_by_email(email) is None
        return webex.create_user({"email": email}).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, emails))
    assert len(set(ids)) == 400 == webex.count_users()
    assert sorted(u.email for u in webex.users()) == sorted(emails)
    assert len(webex.calls) == 801 == webex.request_stats().total
    assert all(
        webex.calls.index(("find_by_email", e)) < webex.calls.index(("create_user", e)) for e in emails
    )
