"""Safety guards and operator tools: no mass lock-out, every decision explainable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ORG_ID, World
from webex_provisioner.config import parse_config
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_HELD, EXIT_OK
from webex_provisioner.engine.wiring import open_engine
from webex_provisioner.model import DirectoryUser, Plan
from webex_provisioner.rules.safety import DeprovisionLimits, guard_deprovisions
from webex_provisioner.sandbox.company import LOCKED, synthetic_ldif
from webex_provisioner.sandbox.slapd import ThrowawaySlapd
from webex_provisioner.service.lease import cycle_lock

pytestmark = pytest.mark.timeout(120)


def active_count(world: World) -> int:
    return sum(1 for u in world.emulator.users() if u["active"])


def test_directory_dying_mid_read_deprovisions_nobody(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """slapd stopped in the middle of a paged read: the cycle fails (exit 1), nobody is deprovisioned.
    (The read runs in the engine process, so that it is still reading when slapd stops; a reader
    process dying is tested in tests/reliability/test_directory_faults.py.)"""
    world.configure(directory={"page_size": 5, "read_process": False})
    world.sync()
    before = active_count(world)
    original = LdapDirectory.read_users

    def dying(self: LdapDirectory) -> Iterator[DirectoryUser]:
        for n, user in enumerate(original(self)):
            if n == 12:
                world.slapd.kill()
            yield user

    monkeypatch.setattr(LdapDirectory, "read_users", dying)
    report = world.sync()
    assert report.exit_code == EXIT_FAILED
    assert report.error is not None and "127.0.0.1" in report.error
    assert report.applied is None
    assert active_count(world) == before


def test_empty_directory_answer_deprovisions_nobody(world: World) -> None:
    """A read that returns no users while links exist fails the cycle with a message saying why."""
    world.sync()
    world.configure(directory={"user_filter": "(objectClass=doesNotExist)"})
    report = world.sync()
    assert report.exit_code == EXIT_FAILED
    assert report.error is not None and "returned 0 user(s)" in report.error
    assert all(u["active"] for u in world.emulator.users())


def test_emptied_group_is_held_then_approved(world: World) -> None:
    """Emptying the targeted group holds every deprovision (exit 4); plan and status show them;
    --approve-held applies them; nothing else was blocked meanwhile."""
    world.sync()
    before = active_count(world)
    world.slapd.modify(world.corp.targeted_group, {"member": [world.corp.person("ahart").dn.encode()]})
    world.slapd.modify(world.corp.person("ahart").dn, {"title": [b"Chief Executive"]})
    result = world.cli("sync")
    assert result.exit_code == EXIT_HELD, result.output
    assert "--approve-held" in result.output
    assert active_count(world) == before
    assert world.webex_user("amelia.hart@example.com")["title"] == "Chief Executive"  # type: ignore[index]
    status = json.loads(world.cli("status", "--json").stdout)
    assert len(status["held"]) == before - 1
    plan = json.loads(world.cli("plan", "--json").stdout)
    assert len(plan["held_from_earlier_cycles"]) == before - 1
    result = world.cli("sync", "--approve-held")
    assert result.exit_code == EXIT_OK, result.output
    assert active_count(world) == 1
    assert json.loads(world.cli("status", "--json").stdout)["held"] == []


def test_discard_held_drops_them(world: World) -> None:
    """sync --discard-held forgets held deprovisions without applying them."""
    world.sync()
    world.slapd.modify(world.corp.targeted_group, {"member": [world.corp.person("ahart").dn.encode()]})
    assert world.sync().exit_code == EXIT_HELD
    report_code = world.cli("sync", "--discard-held").exit_code
    assert report_code == EXIT_HELD  # still out of scope: held again, nothing applied
    assert active_count(world) > 1


def test_held_deprovision_no_longer_wanted_is_not_applied(world: World) -> None:
    """Approving re-checks each held deprovision: a user back in scope is not disabled."""
    world.sync()
    members = [m for m in world.corp.group("webex-users").members]
    world.slapd.modify(world.corp.targeted_group, {"member": [world.corp.person("ahart").dn.encode()]})
    assert world.sync().exit_code == EXIT_HELD
    world.slapd.modify(world.corp.targeted_group, {"member": [m.encode() for m in members]})
    result = world.cli("sync", "--approve-held")
    assert result.exit_code in (EXIT_OK, 3), result.output
    assert active_count(world) == len(world.emulator.users())


@pytest.fixture
def hundred(tmp_path: Path) -> Iterator[tuple[ThrowawaySlapd, EmulatorServer]]:
    with ThrowawaySlapd() as slapd:
        slapd.load_ldif(synthetic_ldif(100))
        slapd.start()
        server = EmulatorServer(org_id=ORG_ID, token="t-100-users")
        server.start()
        try:
            yield slapd, server
        finally:
            server.stop()


@pytest.mark.server
def test_thirty_percent_removed_with_ten_percent_guard_is_held(
    hundred: tuple[ThrowawaySlapd, EmulatorServer], tmp_path: Path
) -> None:
    """Removing 30 of 100 users from the group with a 10 % guard holds all 30 deprovisions."""
    slapd, server = hundred
    raw = {
        "directory": {
            "url": slapd.uri,
            "bind_dn": slapd.root_dn,
            "bind_password": slapd.root_pw,
            "base_dn": f"ou=people,{slapd.suffix}",
            "scope": {"groups": [f"cn=webex-users,ou=groups,{slapd.suffix}"]},
        },
        "webex": {"org_id": ORG_ID, "url": server.url, "token": "t-100-users"},
        "safety": {"max_deprovisions": {"count": 1000, "percent": 10}},
        "logging": {"audit_log": None},
        "state": f"sqlite:///{tmp_path / 'state.db'}",
    }
    config = parse_config(raw, {})
    with open_engine(config) as engine, cycle_lock(engine.store, "t"):
        assert engine.cycle().run(apply=True).exit_code == EXIT_OK
        removed = [f"uid=user{i:06d},ou=people,{slapd.suffix}".encode() for i in range(30)]
        slapd.modify(f"cn=webex-users,ou=groups,{slapd.suffix}", [("delete", "member", removed)])
        report = engine.cycle().run(apply=True)
    assert report.exit_code == EXIT_HELD
    assert len(report.plan.held) == 30
    assert all(u["active"] for u in server.users())


def test_guard_limits_are_count_and_percent() -> None:
    """The guard allows up to min(count, percent of links), never fewer than one by percent."""
    assert DeprovisionLimits(50, 10).allowed(1000) == 50
    assert DeprovisionLimits(50, 10).allowed(200) == 20
    assert DeprovisionLimits(50, 10).allowed(5) == 1
    assert DeprovisionLimits(None, None).allowed(5) is None
    assert guard_deprovisions(Plan(), 10, DeprovisionLimits(0, None)) == Plan()


def test_delete_after_deletes_after_the_period_and_reactivates_before(world: World) -> None:
    """With delete_after 30d: a leaver re-entering before 30 days is reactivated; one still out
    after 30 days is deleted (grace_period_elapsed)."""
    world.configure(provisioning={"delete_after": "30d"})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    world.sync(clock=lambda: start)
    gmoore, enovak = world.corp.person("gmoore"), world.corp.person("enovak")
    world.slapd.modify(world.corp.targeted_group, [("delete", "member", [gmoore.dn.encode()])])
    world.slapd.modify(enovak.dn, [("add", "pwdAccountLockedTime", [LOCKED.encode()])])
    world.sync(clock=lambda: start + timedelta(days=1))
    world.slapd.modify(world.corp.targeted_group, [("add", "member", [gmoore.dn.encode()])])
    report = world.sync(clock=lambda: start + timedelta(days=20))
    assert {(a.email, a.kind.value) for a in report.plan.actions} == {
        ("grace.moore@example.com", "reactivate")
    }
    report = world.sync(clock=lambda: start + timedelta(days=30))
    assert report.plan.actions == ()
    report = world.sync(clock=lambda: start + timedelta(days=31, hours=1))
    assert [(a.email, a.kind.value, a.reason.value) for a in report.plan.actions] == [
        ("eva.novak@example.com", "delete", "grace_period_elapsed")
    ]
    assert world.webex_user("eva.novak@example.com") is None
    assert world.webex_user("grace.moore@example.com")["active"] is True  # type: ignore[index]


def explain(world: World, key: str) -> dict[str, object]:
    result = world.cli("users", "explain", key, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_explain_covers_each_situation(world: World) -> None:
    """users explain says, for each situation, the scope, the link and the next action with its reason."""
    new = explain(world, "eva.novak@example.com")
    assert new["directory"]["in_scope"] is True  # type: ignore[index]
    assert "engineering" in new["directory"]["scope_reason"]  # type: ignore[index]
    assert [(a["action"], a["reason"]) for a in new["next_cycle"]] == [("create", "entered_scope")]  # type: ignore[attr-defined]
    world.sync()
    linked = explain(world, "eva.novak@example.com")
    assert linked["next_cycle"] == [] and linked["links"][0]["state"] == "active"  # type: ignore[index]
    assert linked["history"][0]["action"] == "create"  # type: ignore[index]
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"CTO"]})
    changed = explain(world, "eva.novak@example.com")
    assert changed["next_cycle"][0]["changes"] == [  # type: ignore[index]
        {"attribute": "title", "old": world.corp.person("enovak").title, "new": "CTO"}
    ]
    disabled = explain(world, world.corp.person("lrossi").dn)
    assert disabled["directory"]["disabled"] is True and disabled["next_cycle"] == []  # type: ignore[index]
    outside = explain(world, "brian.white@example.com")
    assert outside["directory"]["in_scope"] is False  # type: ignore[index]
    world.slapd.delete(world.corp.person("gmoore").dn)
    gone = explain(world, world.corp.person("gmoore").entry_uuid)
    assert gone["directory"] is None
    assert [(a["action"], a["reason"]) for a in gone["next_cycle"]] == [("disable", "deleted_in_directory")]  # type: ignore[attr-defined]
    mailless = explain(world, world.corp.person("amensah").dn)
    assert mailless["problems"][0]["kind"] == "invalid"  # type: ignore[index]
    human = world.cli("users", "explain", "eva.novak@example.com")
    assert "Next cycle: update (attributes_changed)" in human.stdout
    assert world.cli("users", "explain", "nobody@example.com").exit_code == EXIT_FAILED


def test_reset_relinks_without_duplicates(world: World) -> None:
    """reset drops every link; the next sync links every user by e-mail again, creating nobody."""
    world.sync()
    count = len(world.emulator.users())
    result = world.cli("reset", "--yes")
    assert result.exit_code == 0 and f"dropped {count}" in result.output
    report = world.sync()
    kinds = {a.kind.value for a in report.plan.actions}
    assert "create" not in kinds and "link" in kinds
    assert len(world.emulator.users()) == count
