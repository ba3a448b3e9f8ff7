"""The cycle on the in-memory fakes of every port: the lifecycle, the no-duplicate rules, the
guards and the bookkeeping between cycles, each in milliseconds. The other modules of
tests/engine/ take each group further; one test of each group runs end to end against slapd and
the emulator in tests/test_lifecycle.py, tests/test_no_duplicates.py, tests/test_safety.py and
tests/daemon/test_incremental_sync.py."""

from __future__ import annotations

import pytest

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_HELD, EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.errors import (
    DirectoryIncompleteError,
    WebexAuthError,
)
from webex_provisioner.model import CycleKind, LinkState, Outcome, WebexUser
from webex_provisioner.testing.webex import InMemoryWebex

ANN, BOB, CY = person("ann"), person("bob"), person("cy")


def test_first_cycle_creates_everyone_and_the_next_has_nothing_to_do() -> None:
    """Every enabled user in scope is created and linked; a second cycle plans nothing."""
    world = FakeWorld(ANN, BOB, person("out", in_scope=False), person("off", disabled=True))
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert world.emails() == {"ann@example.com", "bob@example.com"}
    assert set(world.links()) == {"ann", "bob"}
    assert world.sync().plan.all_actions == ()


def test_every_create_is_preceded_by_a_lookup_of_its_email() -> None:
    """No create is sent before Webex was asked for a user with that e-mail."""
    world = FakeWorld(ANN, BOB, CY)
    world.sync()
    calls = world.webex.calls
    for email in ("ann@example.com", "bob@example.com", "cy@example.com"):
        assert calls.index(("find_by_email", email)) < calls.index(("create_user", email))


def test_plan_writes_nothing() -> None:
    """A dry run only reads: no link, no cycle record, no write to Webex."""
    world = FakeWorld(ANN, BOB)
    report = world.plan()
    assert [a for a, _, _ in world.actions(report)] == ["create", "create"]
    assert world.store.count_links() == 0 and world.store.cycles() == []
    assert world.webex.users() == [] and not world.webex.calls_of("create_user")


def test_an_existing_webex_user_is_linked_and_updated() -> None:
    """A Webex user with the same e-mail (any case) is linked, then updated where it differs."""
    world = FakeWorld(ANN)
    world.webex.add_user("ANN@example.com", firstName="Old")
    report = world.sync()
    assert [(a, r) for a, r, _ in world.actions(report)] == [
        ("link", "matched_existing"),
        ("update", "matched_existing"),
    ]
    assert len(world.webex.users()) == 1 and world.webex.users()[0].attributes["firstName"] == "Ann"


def test_a_409_on_create_links_the_user_that_appeared_meanwhile() -> None:
    """The user is created in Webex by someone else between the lookup and the create: Webex
    answers 409, the user is looked up again and linked, never duplicated."""
    world = FakeWorld(ANN)
    world.webex = Racing()
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert len(world.webex.users()) == 1 and world.links()["ann"].webex_id == world.webex.users()[0].id
    [entry] = [e for e in world.store.audit() if e.action == "create"]
    assert entry.detail == "409 on create: linked the existing user"


class Racing(InMemoryWebex):
    """A Webex where each user appears right after its first lookup (created by someone else)."""

    def find_by_email(self, email: str) -> WebexUser | None:
        found = super().find_by_email(email)
        if found is None and self.user(email) is None and not self.calls_of("create_user"):
            self.add_user(email)
        return found


def test_a_lost_create_answer_is_resolved_by_lookup_not_by_sending_again() -> None:
    """The create was applied but its answer lost: the lookup finds it and links it."""
    world = FakeWorld(ANN)
    world.webex.lose_answer_next("create_user", key="ann@example.com")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert len(world.webex.users()) == 1
    [entry] = [e for e in world.store.audit() if e.action == "create"]
    assert entry.detail == "create outcome unknown: found and linked"


def test_bulk_creates_go_in_one_request_and_a_lost_one_is_looked_up() -> None:
    """With webex.bulk, lone creates go in Bulk requests; a lost outcome is looked up and linked."""
    from webex_provisioner.testing.webex import LOST

    world = FakeWorld(ANN, BOB, CY, webex={"bulk": True})
    world.webex.answer_bulk({"bob@example.com": LOST})
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert len(world.webex.calls_of("create_users")) == 3 and not world.webex.calls_of("create_user")
    assert world.emails() == {"ann@example.com", "bob@example.com", "cy@example.com"}
    details = {e.email: e.detail for e in world.store.audit() if e.action == "create"}
    assert details["bob@example.com"] == "create outcome unknown (Bulk): found and linked"


def test_an_attribute_change_updates_only_that_attribute() -> None:
    """A changed mapped attribute is the only thing sent."""
    world = FakeWorld(ANN)
    world.sync()
    world.directory.change("ann", givenName="Annie")
    report = world.sync()
    [update] = report.plan.actions
    assert [(c.attribute, c.old, c.new) for c in update.changes] == [("firstName", "Ann", "Annie")]
    assert world.webex.user("ann@example.com").attributes["firstName"] == "Annie"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("disable", "disabled_in_directory"),
        ("out_of_scope", "left_scope"),
        ("remove", "deleted_in_directory"),
    ],
)
def test_a_user_leaving_service_is_disabled_with_its_reason(change: str, reason: str) -> None:
    """Disabled, out of scope or deleted in the directory: the Webex user is deactivated."""
    world = FakeWorld(ANN, BOB, CY)
    world.sync()
    if change == "disable":
        world.directory.disable("ann")
    elif change == "out_of_scope":
        world.directory.set_scope("ann", False, "left the group")
    else:
        world.directory.remove("ann")
    report = world.sync()
    assert world.actions(report) == [("disable", reason, "ann@example.com")]
    assert world.webex.user("ann@example.com").active is False  # type: ignore[union-attr]
    assert world.links()["ann"].state is LinkState.DISABLED


def test_a_re_enabled_user_is_reactivated() -> None:
    """Disabled then enabled again in the directory: reactivated (re_enabled)."""
    world = FakeWorld(ANN)
    world.sync()
    world.directory.disable("ann")
    world.sync()
    world.directory.enable("ann")
    report = world.sync()
    assert world.actions(report) == [("reactivate", "re_enabled", "ann@example.com")]
    assert world.webex.user("ann@example.com").active is True  # type: ignore[union-attr]


def test_the_guard_holds_mass_deprovisions_until_approved() -> None:
    """Beyond safety.max_deprovisions every deprovision is held (exit 4); --approve-held applies them."""
    users = [person(f"u{i}") for i in range(10)]
    world = FakeWorld(*users, safety={"max_deprovisions": {"count": 2, "percent": None}})
    world.sync()
    for user in users[:5]:
        world.directory.disable(user.anchor)
    held = world.sync()
    assert held.exit_code == EXIT_HELD and len(held.plan.held) == 5 and held.plan.actions == ()
    assert all(u.active for u in world.webex.users())
    approved = world.sync(approve_held=True)
    assert approved.exit_code == EXIT_OK and sum(1 for u in world.webex.users() if not u.active) == 5


def test_an_empty_directory_read_deprovisions_nobody() -> None:
    """A read that returns nobody while links exist fails the cycle; nobody is deprovisioned."""
    world = FakeWorld(ANN, BOB)
    world.sync()
    world.directory.remove("ann")
    world.directory.remove("bob")
    report = world.sync()
    assert report.exit_code == EXIT_FAILED and "returned 0 user(s)" in (report.error or "")
    assert all(u.active for u in world.webex.users())


def test_a_read_that_stops_early_deprovisions_nobody() -> None:
    """The directory read fails half-way: the cycle fails and nobody unseen is deprovisioned."""
    world = FakeWorld(ANN, BOB, CY)
    world.sync()
    world.directory.fail_read(after=1, error=DirectoryIncompleteError("size limit exceeded"))
    report = world.sync()
    assert report.exit_code == EXIT_FAILED and report.applied is None
    assert all(u.active for u in world.webex.users())


def test_a_webex_user_deleted_by_someone_else_is_re_created_on_its_next_update() -> None:
    """Drift: the linked Webex user is gone (404) when updated: re-created and linked anew."""
    world = FakeWorld(ANN)
    world.sync()
    old = world.links()["ann"].webex_id
    world.webex.delete_user(old)
    world.directory.change("ann", sn="Other")
    report = world.sync()
    assert report.exit_code == EXIT_OK
    assert world.links()["ann"].webex_id != old and len(world.webex.users()) == 1
    [entry] = [e for e in world.store.audit() if e.action == "update"]
    assert entry.detail.startswith(f"the Webex user {old} was deleted outside webex-provisioner; re-created")


def test_a_refused_token_stops_the_apply_and_keeps_what_was_done() -> None:
    """A 401 stops the apply: every further request would fail; what was applied is recorded."""
    world = FakeWorld(*[person(f"u{i}") for i in range(6)], webex={"concurrency": 1})
    world.webex.fail_next("create_user", WebexAuthError("token refused", status=401), key="u3@example.com")
    report = world.sync()
    assert report.exit_code == EXIT_FAILED and "token refused" in (report.error or "")
    assert world.store.count_links() == len(world.webex.users()) == 3


def test_a_per_user_failure_fails_that_user_only_and_is_retried() -> None:
    """One user's create fails (Webex unreachable for it): the others are created (exit 3)."""
    from webex_provisioner.errors import WebexRejectedError

    world = FakeWorld(ANN, BOB)
    world.webex.fail_next("create_user", WebexRejectedError("bad title", status=400), key="bob@example.com")
    report = world.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    assert world.emails() == {"ann@example.com"}
    assert world.sync().exit_code == EXIT_OK and len(world.emails()) == 2


def test_stopping_leaves_the_rest_to_the_next_cycle() -> None:
    """Asked to stop, the cycle applies what is in flight and reports the rest not applied."""
    world = FakeWorld(*[person(f"u{i:02d}") for i in range(40)], webex={"concurrency": 1})
    report = world.cycle().run(apply=True, should_stop=lambda: True)
    assert report.interrupted and report.applied is None and world.webex.users() == []
    assert world.sync().exit_code == EXIT_OK and len(world.webex.users()) == 40


def test_a_manager_created_in_the_same_cycle_is_set_by_a_planned_follow_up() -> None:
    """plan shows the follow-up that sets the manager; sync applies it with the manager's id."""
    boss = person("boss")
    report_to = person("rita", manager=boss.dn)
    world = FakeWorld(
        report_to, boss, mapping={"email": "mail", "firstName": "givenName", "manager": "manager"}
    )
    planned = world.plan()
    assert [f.anchor for f in planned.plan.followups] == ["rita"]
    done = world.sync()
    assert done.exit_code == EXIT_OK and done.passes == 2
    rita, chief = world.webex.user("rita@example.com"), world.webex.user("boss@example.com")
    assert rita is not None and chief is not None and rita.attributes["manager"] == chief.id


def test_incremental_cycles_read_only_what_changed() -> None:
    """With a change feed, the cycle after the first is incremental and plans only the change."""
    world = FakeWorld(ANN, BOB)
    assert world.sync(feed=True).kind is CycleKind.FULL
    world.directory.change("bob", sn="Builder")
    report = world.sync(feed=True)
    assert report.kind is CycleKind.INCREMENTAL and report.plan.users_read == 1
    assert world.actions(report) == [("update", "attributes_changed", "bob@example.com")]


def test_a_failed_user_is_retried_by_the_next_incremental_cycle() -> None:
    """An incremental cycle reads again the users whose last action failed."""
    from webex_provisioner.errors import WebexRejectedError

    world = FakeWorld(ANN)
    world.sync(feed=True)
    world.directory.change("ann", sn="New")
    world.webex.fail_next("update_user", WebexRejectedError("busy", status=400))
    assert world.sync(feed=True).exit_code == EXIT_USERS_FAILED
    report = world.sync(feed=True)
    assert report.kind is CycleKind.INCREMENTAL and report.exit_code == EXIT_OK
    assert world.webex.user("ann@example.com").attributes["lastName"] == "New"  # type: ignore[union-attr]


def test_an_incremental_cycle_deprovisions_a_deleted_user() -> None:
    """A deletion the feed reports is deprovisioned by the incremental cycle."""
    world = FakeWorld(ANN, BOB)
    world.sync(feed=True)
    world.directory.remove("ann")
    report = world.sync(feed=True)
    assert report.kind is CycleKind.INCREMENTAL
    assert world.actions(report) == [("disable", "deleted_in_directory", "ann@example.com")]


def test_incremental_cycles_share_the_deprovision_limit_over_an_hour() -> None:
    """Many small incremental cycles cannot pass safety.max_deprovisions a few at a time."""
    users = [person(f"u{i}") for i in range(6)]
    world = FakeWorld(*users, safety={"max_deprovisions": {"count": 2, "percent": None}})
    cycle = world.cycle()
    cycle.run(apply=True, feed=world.feed)
    outcomes = []
    for user in users[:3]:
        world.directory.disable(user.anchor)
        outcomes.append(cycle.run(apply=True, feed=world.feed).exit_code)
        world.clock.advance(minutes=5)
    assert outcomes == [EXIT_OK, EXIT_OK, EXIT_HELD]


def test_open_problems_are_reported_again_by_incremental_cycles() -> None:
    """A user left alone (no e-mail) keeps being reported by incremental cycles that do not read it."""
    world = FakeWorld(ANN, person("nomail", email=None))
    first = world.sync(feed=True)
    assert [p.anchor for p in first.plan.problems] == ["nomail"]
    world.directory.change("ann", sn="Other")
    again = world.sync(feed=True)
    assert again.kind is CycleKind.INCREMENTAL and [p.anchor for p in again.plan.problems] == ["nomail"]
    assert again.exit_code == EXIT_USERS_FAILED


def test_held_actions_are_audited_as_held() -> None:
    """Held deprovisions leave an audit entry with outcome held."""
    users = [person(f"u{i}") for i in range(4)]
    world = FakeWorld(*users, safety={"max_deprovisions": {"count": 1, "percent": None}})
    world.sync()
    world.directory.disable("u0")
    world.directory.disable("u1")
    world.sync()
    assert sorted(e.anchor for e in world.store.audit() if e.outcome is Outcome.HELD) == ["u0", "u1"]
