"""Safety guards and operator tools end to end against slapd and the emulator: no mass lock-out
(a directory dying mid-read, an emptied group held through the command line), every decision
explainable (users explain), reset relinking by e-mail. The guard's rules in all their variants
(discard, re-check on approval, percentages, incremental windows, the grace period) run on the
in-memory fakes: tests/engine/test_guards.py and tests/engine/test_cycle_on_fakes.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.conftest import World
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_HELD, EXIT_OK
from webex_provisioner.model import DirectoryUser, Plan
from webex_provisioner.rules.safety import DeprovisionLimits, guard_deprovisions

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


def test_emptied_group_is_held_then_approved(world: World) -> None:
    """Emptying the targeted group holds every deprovision (exit 4); plan and status show them;
    --full --discard-held applies none of them (still wanted, the full read holds them again);
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
    result = world.cli("sync", "--full", "--discard-held")
    assert result.exit_code == EXIT_HELD, result.output
    assert active_count(world) == before
    result = world.cli("sync", "--approve-held")
    assert result.exit_code == EXIT_OK, result.output
    assert active_count(world) == 1
    assert json.loads(world.cli("status", "--json").stdout)["held"] == []


def test_guard_limits_are_count_and_percent() -> None:
    """The guard allows up to min(count, percent of links), never fewer than one by percent."""
    assert DeprovisionLimits(50, 10).allowed(1000) == 50
    assert DeprovisionLimits(50, 10).allowed(200) == 20
    assert DeprovisionLimits(50, 10).allowed(5) == 1
    assert DeprovisionLimits(None, None).allowed(5) is None
    assert guard_deprovisions(Plan(), 10, DeprovisionLimits(0, None)) == Plan()


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


def test_reset_relinks_without_duplicates(shared_world: World) -> None:
    world = shared_world
    """reset drops every link; the next sync links every user by e-mail again, creating nobody."""
    world.sync()
    count = len(world.emulator.users())
    result = world.cli("reset", "--yes")
    assert result.exit_code == 0 and f"dropped {count}" in result.output
    report = world.sync()
    kinds = {a.kind.value for a in report.plan.actions}
    assert "create" not in kinds and "link" in kinds
    assert len(world.emulator.users()) == count
