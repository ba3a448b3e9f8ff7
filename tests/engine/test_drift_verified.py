"""What a drift check verified, on the in-memory fakes (docs/drift.md): a user found as applied
is not compared again until what Webex sends for it, what was applied, or what is compared
changes; an edit in Webex is still found; ``plan`` keeps nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_OK, CycleReport
from webex_provisioner.errors import StateError
from webex_provisioner.model.drift import DriftFindings

MAPPING = {"email": "mail", "firstName": "givenName", "lastName": "sn", "title": "title"}


def world(*uids: str, **config: Any) -> FakeWorld:
    """Provisioned users (one cycle done, before any of them was linked: nothing compared)."""
    w = FakeWorld(*(person(uid, title="Engineer") for uid in uids), mapping=MAPPING, drift={}, **config)
    assert w.sync().exit_code == EXIT_OK
    return w


def checked(report: CycleReport) -> DriftFindings:
    assert report.exit_code == EXIT_OK and report.drift is not None and report.drift.error is None
    return report.drift


def webex_id(w: FakeWorld, uid: str) -> str:
    found = w.webex.user(f"{uid}@example.com")
    assert found is not None
    return found.id


def test_users_found_as_applied_are_not_compared_again() -> None:
    """The first check compares every linked user and keeps what it verified; the next one,
    nothing having changed, reads none of them, finds nothing, and keeps the same."""
    w = world("ann", "bob", "cy")
    first = checked(w.sync())
    assert first.compared == 3 and len(first.verified) == 3
    kept = w.store.verified()
    assert kept == frozenset(first.verified) and len(kept) == 3
    w.webex.reads = 0
    again = checked(w.sync())
    assert (again.compared, again.unchanged, again.webex_users, w.webex.reads) == (0, 3, 3, 0)
    assert not again.found() and w.store.verified() == kept


def test_an_edit_in_webex_after_a_verified_check_is_found_and_repaired() -> None:
    """A user verified before and edited in Webex since is compared again and its drift
    repaired; the others stay skipped. The check after the repair compares it once more (the
    last check did not verify it), then it is skipped again."""
    w = world("ann", "bob")
    checked(w.sync())
    w.webex.edit_user(webex_id(w, "ann"), title="Boss")
    report = w.sync()
    found = checked(report)
    assert found.compared == 1 and set(found.users) == {"ann"}
    assert [(a.kind.value, a.reason.value) for a in report.plan.all_actions] == [("update", "drift_in_webex")]
    after = checked(w.sync())
    assert after.compared == 1 and not after.found()
    assert checked(w.sync()).compared == 0


def test_a_deactivation_in_webex_after_a_verified_check_is_found() -> None:
    """A verified user deactivated in Webex since is compared again and reported."""
    w = world("ann", "bob")
    checked(w.sync())
    w.webex.edit_user(webex_id(w, "bob"), active=False)
    found = w.sync().drift
    assert found is not None and found.compared == 1 and found.users["bob"].deactivated


def test_a_directory_change_makes_its_user_compared_again() -> None:
    """A user whose applied attributes changed (a directory change written to Webex) is compared
    at the next check, then skipped again."""
    w = world("ann", "bob")
    checked(w.sync())
    w.directory.put(person("ann", title="Manager"))
    assert checked(w.sync()).compared == 0  # the update is planned from the directory, not drift
    assert checked(w.sync()).compared == 1
    assert checked(w.sync()).compared == 0


def test_another_mapping_compares_everyone_again() -> None:
    """Comparing other attributes (a new mapping) makes every verified user compared again."""
    w = world("ann", "bob")
    checked(w.sync())
    w.configure(mapping={**MAPPING, "department": "departmentNumber"})
    assert checked(w.sync()).compared == 2


def test_plan_keeps_nothing_verified() -> None:
    """``plan`` compares every user and writes nothing: no verified fingerprint is kept."""
    w = world("ann", "bob")
    found = checked(w.plan())
    assert found.compared == 2 and w.store.verified() == frozenset()


def test_verified_fingerprints_that_cannot_be_read_mean_comparing_everyone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state that fails to give what was verified costs the check its shortcut, not its
    result: every user is compared, and the check goes on."""
    w = world("ann", "bob")
    checked(w.sync())
    w.webex.edit_user(webex_id(w, "ann"), title="Boss")

    def unreadable() -> frozenset[bytes]:
        raise StateError("the state database is locked")

    monkeypatch.setattr(w.store, "verified", unreadable)
    found = checked(w.sync())
    assert found.compared == 2 and set(found.users) == {"ann"}


def test_a_check_that_verifies_what_the_last_one_kept_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changed since the last check: the same fingerprints are not written again; once a
    user drifts, the check keeps the others' without it."""
    w = world("ann", "bob")
    checked(w.sync())
    saved: list[frozenset[bytes]] = []
    save = w.store.save_verified
    monkeypatch.setattr(w.store, "save_verified", lambda kept: (saved.append(frozenset(kept)), save(kept)))
    assert checked(w.sync()).compared == 0 and saved == []
    w.webex.edit_user(webex_id(w, "ann"), title="Boss")
    found = checked(w.sync())
    assert len(saved) == 1 and saved[0] == frozenset(found.verified) and len(saved[0]) == 1
