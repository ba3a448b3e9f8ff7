"""Incremental cycles on the in-memory fakes (InMemoryChangeFeed): what makes the next cycle full,
held deprovisions across incremental cycles, open problems in them. What the LDAP feeds add
(content sync, its session log, a restart, a new process, the users sharing a changed user's
e-mail) is proven end to end in tests/daemon/test_incremental_sync.py."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.operations import reset
from webex_provisioner.engine.report import EXIT_HELD, EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.model import CycleKind

USERS = [person(f"u{i}", title=f"Title {i}") for i in range(6)]


def test_configuration_change_makes_the_next_sync_full() -> None:
    """A changed mapping invalidates the watermark: the next sync reads (and updates) everyone."""
    world = FakeWorld(*USERS)
    assert world.sync(feed=True).kind is CycleKind.FULL
    assert world.sync(feed=True).kind is CycleKind.INCREMENTAL
    world.configure(mapping={"email": "mail", "firstName": "givenName", "lastName": "sn", "title": "title"})
    report = world.sync(feed=True)
    assert report.kind is CycleKind.FULL
    assert sorted(world.actions(report)) == [
        ("update", "attributes_changed", f"u{i}@example.com") for i in range(6)
    ]
    assert world.sync(feed=True).kind is CycleKind.INCREMENTAL


def test_held_deprovisions_stay_held_then_apply_on_approval() -> None:
    """Deletes beyond the guard are held by an incremental sync, stay held, and apply on approval."""
    world = FakeWorld(*USERS, safety={"max_deprovisions": {"count": 1, "percent": None}})
    world.sync(feed=True)
    for anchor in ("u1", "u2"):
        world.directory.remove(anchor)
    held = world.sync(feed=True)
    assert held.kind is CycleKind.INCREMENTAL and held.exit_code == EXIT_HELD
    again = world.sync(feed=True)
    assert again.kind is CycleKind.INCREMENTAL and len(again.plan.held) == 2
    assert all(u.active for u in world.webex.users())
    approved = world.sync(feed=True, approve_held=True)
    assert sorted(a.kind.value for a in approved.plan.actions) == ["disable", "disable"]
    assert not any(world.webex.user(f"u{i}@example.com").active for i in (1, 2))  # type: ignore[union-attr]
    assert world.store.held() == []


def test_reset_makes_the_next_sync_full() -> None:
    """After 'reset' drops the links, the next sync reads everyone and links them again."""
    world = FakeWorld(*USERS)
    world.sync(feed=True)
    assert reset(world.store, list(world.store.links()), datetime.now(UTC)) == 6
    report = world.sync(feed=True)
    assert report.kind is CycleKind.FULL
    assert sorted(world.actions(report)) == [
        ("link", "matched_existing", f"u{i}@example.com") for i in range(6)
    ]
    assert len(world.webex.users()) == 6 and world.store.count_links() == 6


def test_users_left_alone_stay_reported_by_incremental_cycles() -> None:
    """A user reported by a full cycle (no e-mail) stays reported, exit 3, by the incremental
    cycles after it until it is fixed; then it is provisioned and the report is clean."""
    world = FakeWorld(*USERS, person("nomail", email=None))
    first = world.sync(feed=True)
    assert first.exit_code == EXIT_USERS_FAILED
    again = world.sync(feed=True)
    assert again.kind is CycleKind.INCREMENTAL and again.exit_code == EXIT_USERS_FAILED
    assert [p.anchor for p in again.plan.problems] == ["nomail"]
    world.directory.change("nomail", mail="nomail@example.com")
    fixed = world.sync(feed=True)
    assert fixed.kind is CycleKind.INCREMENTAL and fixed.exit_code == EXIT_OK
    assert fixed.plan.problems == ()
    assert world.webex.user("nomail@example.com") is not None
