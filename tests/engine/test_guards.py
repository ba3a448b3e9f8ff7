"""The deprovision guard and the grace period on the in-memory fakes: held deprovisions are
discarded, re-checked on approval, counted against a percentage, and delete_after deletes
only once the period is over. tests/test_safety.py proves the guard end to end through the
command line (exit 4, status, plan, --approve-held) against slapd and the emulator."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_HELD, EXIT_OK

LIMIT_TWO = {"max_deprovisions": {"count": 2, "percent": None}}


def active(world: FakeWorld) -> int:
    return sum(1 for u in world.webex.users() if u.active)


def test_discard_held_drops_them() -> None:
    """sync --discard-held forgets held deprovisions without applying them (those still wanted
    are held again by the same cycle)."""
    users = [person(f"u{i}") for i in range(10)]
    world = FakeWorld(*users, safety=LIMIT_TWO)
    world.sync()
    for user in users[:5]:
        world.directory.set_scope(user.anchor, False, "left the group")
    assert world.sync().exit_code == EXIT_HELD
    world.directory.set_scope("u0", True, "back in the group")
    discarded = world.sync(discard_held=True)
    assert discarded.exit_code == EXIT_HELD  # still out of scope: held again, nothing applied
    assert discarded.applied is not None and discarded.applied.counts == {}
    assert sorted(a.anchor for a in world.store.held()) == ["u1", "u2", "u3", "u4"]
    assert active(world) == 10


def test_held_deprovision_no_longer_wanted_is_not_applied() -> None:
    """Approving re-checks each held deprovision: a user back in scope is not disabled."""
    users = [person(f"u{i}") for i in range(10)]
    world = FakeWorld(*users, safety=LIMIT_TWO)
    world.sync()
    for user in users[1:]:
        world.directory.set_scope(user.anchor, False, "left the group")
    assert world.sync().exit_code == EXIT_HELD
    for user in users[1:]:
        world.directory.set_scope(user.anchor, True, "back in the group")
    report = world.sync(approve_held=True)
    assert report.exit_code == EXIT_OK and report.plan.actions == ()
    assert active(world) == len(world.webex.users()) == 10
    assert world.store.held() == []


def test_thirty_percent_removed_with_ten_percent_guard_is_held() -> None:
    """Removing 30 of 100 users from the group with a 10 % guard holds all 30 deprovisions."""
    users = [person(f"user{i:06d}") for i in range(100)]
    world = FakeWorld(*users, safety={"max_deprovisions": {"count": 1000, "percent": 10}})
    assert world.sync().exit_code == EXIT_OK
    for user in users[:30]:
        world.directory.set_scope(user.anchor, False, "no longer a member of cn=webex-users")
    report = world.sync()
    assert report.exit_code == EXIT_HELD
    assert len(report.plan.held) == 30
    assert all(u.active for u in world.webex.users())


def test_delete_after_deletes_after_the_period_and_reactivates_before() -> None:
    """With delete_after 30d: a leaver re-entering before 30 days is reactivated; one still out
    after 30 days is deleted (grace_period_elapsed)."""
    others = [person(f"p{i:02d}") for i in range(20)]  # two deprovisions stay within 10 % of links
    world = FakeWorld(person("ann"), person("bob"), *others, provisioning={"delete_after": "30d"})
    start = world.clock.now
    world.sync()
    world.directory.set_scope("bob", False, "left the group")
    world.directory.disable("ann")
    world.clock.now = start + timedelta(days=1)
    left = world.sync()
    assert {(a.email, a.kind.value) for a in left.plan.actions} == {
        ("ann@example.com", "disable"),
        ("bob@example.com", "disable"),
    }
    world.directory.set_scope("bob", True, "back in the group")
    world.clock.now = start + timedelta(days=20)
    report = world.sync()
    assert {(a.email, a.kind.value) for a in report.plan.actions} == {("bob@example.com", "reactivate")}
    world.clock.now = start + timedelta(days=30)
    assert world.sync().plan.actions == ()
    world.clock.now = start + timedelta(days=31, hours=1)
    report = world.sync()
    assert world.actions(report) == [("delete", "grace_period_elapsed", "ann@example.com")]
    assert world.webex.user("ann@example.com") is None
    assert world.webex.user("bob@example.com").active is True  # type: ignore[union-attr]
