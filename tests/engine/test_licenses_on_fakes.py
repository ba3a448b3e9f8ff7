"""The licences phase of a cycle on the in-memory fakes: licences assigned by rule in the cycle
that creates the user, only this tool's licences reclaimed, capacity, Webex's 206 and 400
answers, the reclaim guard, and nothing sent when nothing changed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_HELD, EXIT_OK, EXIT_USERS_FAILED
from webex_provisioner.errors import WebexRejectedError
from webex_provisioner.model import DirectoryUser, License, ProblemKind
from webex_provisioner.model.licenses import group_label
from webex_provisioner.testing.webex import InMemoryWebex

MEETINGS, MESSAGING = "Webex Meetings - Enterprise", "Webex Messaging"
GROUP = "cn=messaging,ou=groups,dc=example,dc=com"
LABEL = group_label(GROUP)
RULES: dict[str, Any] = {
    "licenses": {
        "rules": [
            {"when": {"everyone": True}, "assign": [MEETINGS]},
            {"when": {"group": GROUP}, "assign": [MESSAGING]},
        ]
    }
}


def member(uid: str, *labels: str) -> DirectoryUser:
    return replace(person(uid), labels=frozenset(labels))


def world(*users: DirectoryUser, meetings: int = 100, messaging: int = 100, **config: Any) -> FakeWorld:
    w = FakeWorld(*users, **{**RULES, **config})
    w.webex.add_license(MEETINGS, meetings)
    w.webex.add_license(MESSAGING, messaging)
    return w


def lid(w: FakeWorld, name: str) -> str:
    return next(licence.id for licence in w.webex.licenses() if licence.name == name)


def held(w: FakeWorld, uid: str) -> set[str]:
    user = w.webex.user(f"{uid}@example.com")
    assert user is not None
    names = {licence.id: licence.name for licence in w.webex.licenses()}
    return {names[i] for i in w.webex.held_licenses(user.id)}


def licence_actions(report: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(a.kind.value, a.email, tuple(i.name for i in a.licenses)) for a in report.plan.licenses]


def licence_calls(w: FakeWorld) -> int:
    return sum(
        len(w.webex.calls_of(op))
        for op in ("list_licenses", "license_holders", "user_licenses", "change_licenses")
    )


def test_new_users_get_their_licences_in_the_cycle_that_creates_them() -> None:
    """Everyone gets Meetings, the group's members Messaging too, right after they are created;
    each licence is recorded as ours; the next cycle sends no licence request at all."""
    w = world(member("ann", LABEL), member("bob"))
    report = w.sync()
    assert report.exit_code == EXIT_OK
    assert held(w, "ann") == {MEETINGS, MESSAGING} and held(w, "bob") == {MEETINGS}
    assert {(g.anchor, g.ours) for g in w.store.grants()} == {("ann", True), ("bob", True)}
    before = licence_calls(w)
    again = w.sync()
    assert again.plan.licenses == () and licence_calls(w) == before


def test_plan_lists_licence_actions_with_their_rule_and_writes_nothing() -> None:
    """A dry run shows each assignment with the rule asking for it and the capacity, and
    assigns nothing."""
    w = world(member("ann", LABEL), messaging=5)
    report = w.plan()
    (action,) = report.plan.licenses
    assert action.kind.value == "assign_license" and action.email == "ann@example.com"
    whys = {i.name: i.why for i in action.licenses}
    assert whys == {MEETINGS: "rule 1 (everyone)", MESSAGING: f"rule 2 (member of {GROUP})"}
    assert {(r.name, r.total, r.assign) for r in report.plan.capacity} == {
        (MEETINGS, 100, 1),
        (MESSAGING, 5, 1),
    }
    assert w.webex.users() == [] and list(w.store.grants()) == []


def test_leaving_the_group_reclaims_only_what_this_tool_assigned() -> None:
    """A user leaving the group gives back Messaging (ours); a licence an administrator gave by
    hand before the user was linked is recorded as not ours and never reclaimed."""
    w = world(member("ann", LABEL), member("bob", LABEL))
    bob = w.webex.add_user("bob@example.com", firstName="Bob", lastName="Example")
    w.webex.set_user_licenses(bob.id, [lid(w, MESSAGING)])
    w.sync()
    assert {(g.anchor, g.license_id, g.ours) for g in w.store.grants_of("bob")} == {
        ("bob", lid(w, MEETINGS), True),
        ("bob", lid(w, MESSAGING), False),
    }
    w.directory.put(member("ann"))
    w.directory.put(member("bob"))
    report = w.sync()
    assert licence_actions(report) == [("reclaim_license", "ann@example.com", (MESSAGING,))]
    assert held(w, "ann") == {MEETINGS} and held(w, "bob") == {MEETINGS, MESSAGING}


def test_assignments_beyond_the_free_units_wait_for_a_reclaim() -> None:
    """With one unit, the first user by e-mail gets it and the other is reported (exit 3); when
    the first leaves the group, its unit is reclaimed and assigned to the other in one cycle."""
    w = world(member("ann", LABEL), member("bob", LABEL), messaging=1)
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    (problem,) = [p for p in report.plan.problems if p.kind is ProblemKind.SHORTFALL]
    assert problem.email == "bob@example.com" and "no free units of Webex Messaging" in problem.detail
    assert MESSAGING not in held(w, "bob")
    w.directory.put(member("ann"))
    report = w.sync()
    assert [a.kind.value for a in report.plan.licenses] == ["reclaim_license", "assign_license"]
    assert MESSAGING in held(w, "bob") and MESSAGING not in held(w, "ann")
    assert report.exit_code == EXIT_OK


class Overstating(InMemoryWebex):
    """A Webex whose licence listing says one more unit is free than there is."""

    def list_licenses(self) -> list[License]:
        return [replace(licence, total=licence.total + 1) for licence in super().list_licenses()]


def test_a_partial_answer_reports_each_licence_not_assigned() -> None:
    """When Webex assigns only some licences (206), the user gets those recorded and the missing
    one reported as failed; the next cycle asks for it again."""
    w = world(member("ann", LABEL), messaging=0)
    w.webex = Overstating()
    w.webex.add_license(MEETINGS, 10)
    w.webex.add_license(MESSAGING, 0)
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    ((action, error),) = report.applied.failures if report.applied else []
    assert action.kind.value == "assign_license" and "Webex Messaging" in error and "206" in error
    assert [g.license_id for g in w.store.grants_of("ann")] == [lid(w, MEETINGS)]
    assert licence_actions(w.plan()) == [("assign_license", "ann@example.com", (MESSAGING,))]


def test_a_lasting_refusal_is_found_per_licence_and_not_asked_again_until_the_rules_change() -> None:
    """A 400 with a documented code refusing two licences is retried one licence at a time; the
    refused one is reported with Webex's message and not asked again while the rules stand; a
    change of the rules asks again."""
    w = world(member("ann", LABEL))
    refused = WebexRejectedError("Standard and Professional cannot be combined", status=400, code=400404)
    w.webex.fail_next("change_licenses", refused, times=2)
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    assert [g.license_id for g in w.store.grants_of("ann")] == [lid(w, MESSAGING)]
    (refusal,) = w.store.license_refusals()
    assert (refusal.license_id, refusal.code) == (lid(w, MEETINGS), 400404)
    assert w.sync().plan.licenses == ()
    w.configure(licenses={"reclaim_on_disable": False})
    assert licence_actions(w.plan()) == [("assign_license", "ann@example.com", (MEETINGS,))]


def test_mass_reclaims_are_held_until_approved() -> None:
    """More reclaims than safety.max_deprovisions allows are held (exit 4) and applied with
    --approve-held."""
    users = [member(uid, LABEL) for uid in ("ann", "bob", "cy")]
    w = world(*users, safety={"max_deprovisions": {"count": 2, "percent": None}})
    w.sync()
    for uid in ("ann", "bob", "cy"):
        w.directory.put(member(uid))
    report = w.sync()
    assert report.exit_code == EXIT_HELD
    assert len(report.plan.held_licenses) == 3 and MESSAGING in held(w, "ann")
    assert len(w.store.held_licenses()) == 3
    approved = w.sync(approve_held=True)
    assert approved.exit_code == EXIT_OK
    assert all(MESSAGING not in held(w, uid) for uid in ("ann", "bob", "cy"))


def test_a_deprovisioned_user_gives_back_its_licences() -> None:
    """A user disabled in the directory is disabled in Webex and, with reclaim_on_disable, its
    licences go back in the same cycle; a deleted user's are only forgotten (Webex frees them)."""
    w = world(
        member("ann", LABEL),
        member("bob"),
        provisioning={"on_deleted": "delete"},
        safety={"max_deprovisions": {"count": 10, "percent": 100}},
    )
    w.sync()
    w.directory.disable("ann")
    w.directory.remove("bob")
    report = w.sync()
    assert licence_actions(report) == [("reclaim_license", "ann@example.com", (MEETINGS, MESSAGING))]
    assert held(w, "ann") == set() and w.store.grants_of("ann") == []
    assert w.store.grants_of("bob") == [] and w.webex.user("bob@example.com") is None


def test_a_licence_the_organization_lacks_stops_every_reclaim() -> None:
    """A rule naming an unknown licence is reported (exit 3) and, while it lasts, nothing is
    reclaimed: a renamed licence must not look unwanted."""
    w = world(member("ann", LABEL))
    w.sync()
    w.configure(licenses={"rules": [{"when": {"group": GROUP}, "assign": ["Webex Messaging (new)"]}]})
    report = w.sync()
    assert report.exit_code == EXIT_USERS_FAILED
    assert report.plan.licenses == ()
    assert any("no licence named 'Webex Messaging (new)'" in p.detail for p in report.plan.problems)
    assert held(w, "ann") == {MEETINGS, MESSAGING}


def test_incremental_cycles_follow_label_changes() -> None:
    """A change feed's cycle assigns the licence of a group the user joined, and a cycle with
    nothing changed sends no licence request."""
    w = world(member("ann"))
    w.sync(feed=True)
    before = licence_calls(w)
    assert w.sync(feed=True).plan.licenses == () and licence_calls(w) == before
    w.directory.put(member("ann", LABEL))
    report = w.sync(feed=True)
    assert report.kind.value == "incremental"
    assert licence_actions(report) == [("assign_license", "ann@example.com", (MESSAGING,))]
    assert held(w, "ann") == {MEETINGS, MESSAGING}


class Templated(InMemoryWebex):
    """A Webex whose organization template gives every new user Meetings."""

    def create_user(self, attributes: Any, *, active: bool = True) -> Any:
        created = super().create_user(attributes, active=active)
        meetings = next(licence.id for licence in self.licenses() if licence.name == MEETINGS)
        self.set_user_licenses(created.id, [meetings])
        return created


def test_a_licence_a_template_gave_a_new_user_is_not_ours() -> None:
    """What a user holds is read before its first assignment, even when this cycle created it:
    a licence an organization template gave it is recorded as not ours and never reclaimed."""
    w = world(member("ann", LABEL))
    w.webex = Templated()
    w.webex.add_license(MEETINGS, 10)
    w.webex.add_license(MESSAGING, 10)
    w.sync()
    assert {(g.license_id, g.ours) for g in w.store.grants_of("ann")} == {
        (lid(w, MEETINGS), False),
        (lid(w, MESSAGING), True),
    }
    w.configure(licenses={"rules": [{"when": {"everyone": True}, "assign": [MESSAGING]}]})
    w.sync()
    assert held(w, "ann") == {MEETINGS, MESSAGING}


def test_a_user_whose_deprovision_is_held_keeps_its_licences() -> None:
    """While the guard holds a user's deprovision, its licences are not touched either."""
    users = [member(uid, LABEL) for uid in ("ann", "bob", "cy")]
    w = world(*users, safety={"max_deprovisions": {"count": 1, "percent": None}})
    w.sync()
    for uid in ("ann", "bob"):
        w.directory.disable(uid)
    report = w.sync()
    assert len(report.plan.held) == 2 and report.plan.licenses == ()
    assert held(w, "ann") == {MEETINGS, MESSAGING}


def test_a_licence_removed_in_webex_is_assigned_again_with_drift() -> None:
    """With drift: (check: full), a full cycle finds a licence this tool assigned that someone
    removed in Webex and assigns it again, tagged drift_in_webex; with licenses: report it is
    reported instead; without drift: nothing is read or done."""
    w = world(member("ann", LABEL))
    w.sync()
    ann = w.webex.user("ann@example.com")
    assert ann is not None
    w.webex.set_user_licenses(ann.id, [lid(w, MEETINGS)])
    assert w.sync(full=True).plan.licenses == ()
    w.configure(drift={"check": "full", "licenses": "report"})
    reported = w.sync(full=True)
    assert reported.plan.licenses == () and reported.drift is not None and reported.drift.licenses == 1
    drifted = [p for p in reported.plan.problems if p.kind is ProblemKind.DRIFT]
    (problem,) = [p for p in drifted if p.resource == "license"]
    assert "Webex Messaging removed in Webex" in problem.detail
    w.configure(drift={"licenses": "repair"})
    repaired = w.sync(full=True)
    (action,) = repaired.plan.licenses
    assert action.reason.value == "drift_in_webex" and action.licenses[0].why.startswith("removed in Webex")
    assert held(w, "ann") == {MEETINGS, MESSAGING}
    assert w.sync(full=True).plan.licenses == ()
