"""One e-mail, however it is spelt: ``Ann@Example.com`` with a trailing blank is ``ann@example.com``
in matching, conflict detection, link lookups, the Webex fake and the SCIM client (all through
``model.keys.fold_email``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.engine.fakes_world import FakeWorld, person
from tests.webex.webex_fakes import FakeWebex, client_for, page, reply, user_resource
from webex_provisioner.engine.matching import match_in_webex
from webex_provisioner.model import AuditEntry, Link, Outcome, ProblemKind
from webex_provisioner.model.keys import fold_email
from webex_provisioner.ports import Record
from webex_provisioner.state import SqliteStateStore
from webex_provisioner.testing.state import InMemoryStateStore
from webex_provisioner.testing.webex import InMemoryWebex

SPELT = "Ann@Example.com "
FOLDED = "ann@example.com"


def test_the_fold_drops_surrounding_blanks_and_case() -> None:
    """The one fold: surrounding blanks dropped, lower case."""
    assert fold_email(SPELT) == fold_email(f"  {FOLDED}") == FOLDED


def test_matching_finds_the_webex_user_by_the_folded_email() -> None:
    """A candidate spelt ``Ann@Example.com `` is matched to the Webex user ``ann@example.com``,
    by single lookups and by the listing used when many users are new."""
    webex = InMemoryWebex()
    ann = webex.add_user(FOLDED)
    matches, failures = match_in_webex(webex, [SPELT], concurrency=2)
    assert failures == {} and matches == {FOLDED: ann}
    many = [SPELT, *(f"user{i}@example.com" for i in range(250))]
    matches, _ = match_in_webex(webex, many, concurrency=2)
    assert matches == {FOLDED: ann}


def test_two_spellings_of_one_email_are_a_conflict() -> None:
    """Two directory users whose e-mails differ only in case and blanks share one e-mail: both
    are conflicts and neither is provisioned."""
    world = FakeWorld(person("ann", email=SPELT), person("ann2", email=FOLDED))
    report = world.sync()
    conflicts = {p.anchor for p in report.plan.problems if p.kind is ProblemKind.CONFLICT}
    assert conflicts == {"ann", "ann2"}
    assert world.webex.users() == []


def test_find_links_folds_the_email(tmp_path: Path) -> None:
    """A link stored for ``ann@example.com`` is found by ``Ann@Example.com `` in the SQLite store
    and in the in-memory fake."""
    link = Link("a-1", "w-1", FOLDED, "uid=ann,dc=example,dc=com")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    entry = AuditEntry("c-1", now, "a-1", FOLDED, "create", "", Outcome.APPLIED, "w-1", "")
    sqlite = SqliteStateStore.from_url(f"sqlite:///{tmp_path / 'state.db'}")
    for store in (sqlite, InMemoryStateStore()):
        store.record([Record(entry, save_link=link)])
        assert [found.anchor for found in store.find_links(SPELT)] == ["a-1"]
    sqlite.close()


def test_the_webex_fake_and_the_scim_client_find_the_user_by_the_folded_email() -> None:
    """``find_by_email(" Ann@Example.com ")`` finds ``ann@example.com`` in the fake, and the SCIM
    client sends the trimmed address and picks the user whatever the case Webex answers in."""
    webex = InMemoryWebex()
    ann = webex.add_user(FOLDED)
    assert webex.find_by_email(SPELT) == ann
    fake = FakeWebex(reply(200, page([user_resource("w-1", "ANN@example.COM")])))
    found = client_for(fake).find_by_email(SPELT)
    assert found is not None and found.id == "w-1"
    assert fake.requests[0].url.params["filter"] == 'userName eq "Ann@Example.com"'
