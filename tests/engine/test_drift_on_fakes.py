"""The drift phase of a cycle on the in-memory fakes (docs/drift.md): what a full cycle reads and
compares, each kind of drift repaired or reported as the settings say, the guard of
restorations, a failed Webex read concluding nothing, incremental and one-user cycles, pushed
groups, and what the report, the state and the metrics carry. tests/test_drift.py runs the
same end to end against slapd and the emulator."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_HELD, EXIT_OK, EXIT_USERS_FAILED, CycleReport
from webex_provisioner.errors import WebexUnavailableError
from webex_provisioner.model import Change, LinkState, ListedUser, Outcome, ProblemKind, WebexUser
from webex_provisioner.model.drift import DriftKind
from webex_provisioner.service.metrics import Metrics
from webex_provisioner.testing.directory_groups import group_dn
from webex_provisioner.testing.webex import InMemoryWebex

MAPPING = {
    "email": "mail",
    "firstName": "givenName",
    "lastName": "sn",
    "displayName": "displayName",
    "title": "title",
    "workPhone": "telephoneNumber",
}


def world(*uids: str, drift: dict[str, Any] | None = None, **config: Any) -> FakeWorld:
    """Provisioned users (one cycle done), with ``drift:`` as given (defaults when empty)."""
    people = [person(uid, title="Engineer", telephoneNumber="+1 555 0100") for uid in uids]
    w = FakeWorld(*people, mapping=MAPPING, drift=drift or {}, **config)
    assert w.sync().exit_code == EXIT_OK
    return w


def webex_user(w: FakeWorld, uid: str) -> WebexUser:
    found = w.webex.user(f"{uid}@example.com")
    assert found is not None
    return found


def planned(report: CycleReport) -> list[tuple[str, str, str]]:
    return [(a.kind.value, a.reason.value, a.anchor) for a in report.plan.all_actions]


def drift_problems(report: CycleReport) -> list[tuple[str, str]]:
    return [(p.anchor, p.detail) for p in report.plan.problems if p.kind is ProblemKind.DRIFT]


def test_a_noop_full_cycle_after_provisioning_finds_no_drift_and_reads_every_user() -> None:
    """Right after provisioning, a full cycle lists Webex once and finds nothing to repair."""
    w = world("ann", "bob")
    w.webex.calls.clear()
    report = w.sync()
    assert report.exit_code == EXIT_OK and report.plan.all_actions == ()
    assert report.drift is not None and report.drift.error is None and not report.drift.found()
    assert report.drift.webex_users == 2
    assert w.webex.calls_of("scan_users") == [""]


def test_an_attribute_changed_in_webex_is_set_back_with_webex_value_as_old() -> None:
    """A managed attribute edited in Webex is repaired by an update tagged drift_in_webex, whose
    diff shows Webex's value as old and the directory's as new; the link is left in step."""
    w = world("ann", "bob")
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    report = w.sync()
    [update] = report.plan.all_actions
    assert (update.kind.value, update.reason.value, update.anchor) == ("update", "drift_in_webex", "ann")
    assert update.changes == (Change("title", "Boss", "Engineer"),)
    assert webex_user(w, "ann").attributes["title"] == "Engineer"
    assert w.links()["ann"].applied["title"] == "Engineer"
    assert w.sync().plan.all_actions == ()


def test_attributes_the_mapping_does_not_manage_are_left_as_webex_holds_them() -> None:
    """A Webex attribute outside the mapping (department), edited by hand, is neither compared
    nor changed."""
    w = world("ann")
    w.webex.edit_user(webex_user(w, "ann").id, department="Sales")
    report = w.sync()
    assert report.plan.all_actions == () and report.drift is not None and not report.drift.found()
    assert webex_user(w, "ann").attributes["department"] == "Sales"


def test_phone_and_email_written_back_in_another_form_are_not_drift() -> None:
    """Webex giving back the e-mail in upper case and the phone without its blanks is no drift."""
    w = world("ann")
    w.webex.edit_user(webex_user(w, "ann").id, email="ANN@EXAMPLE.COM", workPhone="+15550100")
    report = w.sync()
    assert report.plan.all_actions == () and report.drift is not None and not report.drift.found()


def test_with_attributes_report_the_change_is_reported_carried_and_not_repaired() -> None:
    """attributes: report leaves Webex as it is and reports a drift problem, stored with the open
    problems (status shows them) and audited; exit code 3."""
    w = world("ann", drift={"attributes": "report"})
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    report = w.sync()
    assert report.plan.all_actions == () and report.exit_code == EXIT_USERS_FAILED
    [(anchor, detail)] = drift_problems(report)
    assert anchor == "ann" and "title is 'Boss' in Webex, 'Engineer' was applied" in detail
    assert [p.kind for p in w.store.open_problems()] == [ProblemKind.DRIFT]
    assert [(e.action, e.outcome) for e in w.store.audit(anchor="ann", limit=1)] == [
        ("drift", Outcome.SKIPPED)
    ]
    assert webex_user(w, "ann").attributes["title"] == "Boss"


def test_with_provisioning_update_off_attribute_drift_is_reported() -> None:
    """Attributes are never written when provisioning.update is off: drift is reported instead."""
    w = world("ann", provisioning={"update": False})
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    report = w.sync()
    assert report.plan.all_actions == ()
    [(_, detail)] = drift_problems(report)
    assert "provisioning.update is off" in detail


def test_a_deactivation_in_webex_is_reported_by_default_and_never_undone() -> None:
    """deactivated: report (the default): the user stays inactive, a drift problem says so."""
    w = world("ann")
    w.webex.edit_user(webex_user(w, "ann").id, active=False)
    report = w.sync()
    assert report.plan.all_actions == ()
    [(_, detail)] = drift_problems(report)
    assert "deactivated in Webex while active in the directory" in detail
    assert not webex_user(w, "ann").active


def test_with_reactivate_a_deactivation_is_undone_for_a_user_the_directory_wants() -> None:
    """deactivated: reactivate plans a reactivate (deactivated_in_webex) for an enabled user in
    scope; a user disabled in the directory meanwhile is disabled, not reactivated."""
    w = world("ann", "bob", drift={"deactivated": "reactivate"})
    for uid in ("ann", "bob"):
        w.webex.edit_user(webex_user(w, uid).id, active=False)
    w.directory.put(person("bob", title="Engineer", telephoneNumber="+1 555 0100", disabled=True))
    report = w.sync()
    assert sorted(planned(report)) == [
        ("disable", "disabled_in_directory", "bob"),
        ("reactivate", "deactivated_in_webex", "ann"),
    ]
    assert webex_user(w, "ann").active and not drift_problems(report)


def test_a_deleted_webex_user_is_recreated_once_with_its_email_and_relinked() -> None:
    """A linked Webex user deleted by someone else is created again with the same e-mail (after
    a lookup by e-mail), exactly once, and the link takes the new id."""
    w = world("ann", "bob")
    old = webex_user(w, "ann").id
    w.webex.remove_user(old)
    w.webex.calls.clear()
    report = w.sync()
    assert planned(report) == [("create", "deleted_in_webex", "ann")]
    new = webex_user(w, "ann").id
    assert new != old and w.links()["ann"].webex_id == new
    calls = w.webex.calls
    assert calls.index(("find_by_email", "ann@example.com")) < calls.index(("create_user", "ann@example.com"))
    assert w.sync().plan.all_actions == ()
    assert [u.email for u in w.webex.users()].count("ann@example.com") == 1


def test_a_deleted_webex_user_recreated_by_hand_is_linked_not_duplicated() -> None:
    """When a Webex user with the e-mail exists again (recreated by hand), it is linked
    (deleted_in_webex) and updated where it differs, not created twice."""
    w = world("ann")
    w.webex.remove_user(webex_user(w, "ann").id)
    again = w.webex.add_user("ann@example.com", firstName="Ann", title="Temp")
    report = w.sync()
    assert planned(report) == [("link", "deleted_in_webex", "ann"), ("update", "deleted_in_webex", "ann")]
    assert w.links()["ann"].webex_id == again.id and len(w.webex.users()) == 1


def test_a_recreate_whose_answer_was_lost_is_looked_up_before_any_resend() -> None:
    """The re-create is applied but its answer lost: the e-mail is looked up and the user found
    is linked, never created twice (crash and retry safe like any create)."""
    w = world("ann")
    w.webex.remove_user(webex_user(w, "ann").id)
    w.webex.lose_answer_next("create_user", key="ann@example.com")
    w.webex.calls.clear()
    report = w.sync()
    assert report.exit_code == EXIT_OK
    assert len(w.webex.users()) == 1 and w.links()["ann"].webex_id == webex_user(w, "ann").id
    assert w.webex.calls_of("create_user") == ["ann@example.com"]


def test_with_deleted_report_the_deletion_is_reported_and_nothing_is_created() -> None:
    """deleted: report leaves the user deleted and reports it."""
    w = world("ann", drift={"deleted": "report"})
    w.webex.remove_user(webex_user(w, "ann").id)
    report = w.sync()
    assert report.plan.all_actions == () and w.webex.users() == []
    [(_, detail)] = drift_problems(report)
    assert "was deleted in Webex" in detail


def test_a_mass_deletion_in_webex_is_held_for_approval_not_recreated() -> None:
    """More re-creations than safety.max_deprovisions allows are held (exit 4) and nothing is
    created; nobody is deprovisioned; --approve-held re-creates them."""
    w = world("a1", "a2", "a3", "a4", safety={"max_deprovisions": {"count": 2, "percent": None}})
    for user in w.webex.users():
        w.webex.remove_user(user.id)
    report = w.sync()
    assert report.exit_code == EXIT_HELD and report.plan.actions == ()
    assert sorted(a.reason.value for a in report.plan.held) == ["deleted_in_webex"] * 4
    assert w.webex.users() == [] and not any(a.kind.deprovisions for a in report.plan.all_actions)
    approved = w.sync(approve_held=True)
    assert approved.exit_code == EXIT_OK and len(w.webex.users()) == 4
    assert {link.webex_id for link in w.links().values()} == {u.id for u in w.webex.users()}


def test_a_held_restoration_is_approved_by_an_incremental_cycle_that_rechecks_its_user() -> None:
    """With a change feed, approving a held re-creation runs an incremental cycle: it reads the
    held users' Webex accounts again (not all of Webex) and re-creates them."""
    w = world("a1", "a2", "a3", safety={"max_deprovisions": {"count": 1, "percent": None}})
    assert w.sync(feed=True).kind.value == "full"
    for user in w.webex.users()[:2]:
        w.webex.remove_user(user.id)
    assert w.sync(feed=True, full=True).exit_code == EXIT_HELD
    w.webex.calls.clear()
    approved = w.sync(feed=True, approve_held=True)
    assert approved.kind.value == "incremental" and approved.exit_code == EXIT_OK
    assert w.webex.calls_of("scan_users") == [] and len(w.webex.calls_of("get_user")) == 2
    assert len(w.webex.users()) == 3


def test_a_mass_reactivation_is_held_too() -> None:
    """Reactivations drift calls for count against the same limits."""
    w = world(
        "a1", "a2", "a3", drift={"deactivated": "reactivate"}, safety={"max_deprovisions": {"count": 2}}
    )
    for user in w.webex.users():
        w.webex.edit_user(user.id, active=False)
    report = w.sync()
    assert report.exit_code == EXIT_HELD and {a.kind.value for a in report.plan.held} == {"reactivate"}
    assert not any(u.active for u in w.webex.users())


class FailingListing(InMemoryWebex):
    """A Webex whose listing breaks after the first user."""

    def scan_users(self, keys: Collection[str] | None = None) -> Iterator[ListedUser]:
        listing = super().scan_users(keys)
        yield next(listing)
        raise WebexUnavailableError("Webex answered 503 three times", status=503)


def test_a_failed_webex_read_concludes_nothing_and_warns() -> None:
    """A listing that fails halfway plans no drift action (nobody counts as deleted) and the
    report says why; the cycle itself goes on, and earlier reported drift stays reported."""
    w = world("ann", "bob", drift={"attributes": "report"})
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    assert drift_problems(w.sync())
    broken = FailingListing()
    for user in w.webex.users():
        values = {k: v for k, v in user.attributes.items() if k != "email"}
        broken.add_user(user.email, active=user.active, webex_id=user.id, **values)
    w.webex = broken
    report = w.sync()
    assert report.error is None and report.plan.all_actions == ()
    assert report.drift is not None and report.drift.error is not None and "503" in report.drift.error
    assert report.drift.users == {} and len(drift_problems(report)) == 1


def test_an_incremental_cycle_does_not_read_webex() -> None:
    """Incremental cycles compare nothing: no listing, no read of a linked user."""
    w = world("ann")
    w.sync(feed=True)
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    w.directory.put(person("bob"))
    w.webex.calls.clear()
    report = w.sync(feed=True)
    assert report.kind.value == "incremental" and report.drift is None
    assert not w.webex.calls_of("scan_users") and not w.webex.calls_of("get_user")


def test_check_never_and_no_drift_section_read_nothing_more() -> None:
    """Without drift: (or with check: never) a full cycle does not list Webex."""
    for drift in ({"check": "never"}, None):
        w = FakeWorld(person("ann"), drift=drift) if drift else FakeWorld(person("ann"))
        w.sync()
        w.webex.calls.clear()
        assert w.sync().drift is None and not w.webex.calls_of("scan_users")


def test_a_one_user_cycle_reads_that_user_and_repairs_it() -> None:
    """plan --user / sync --user read the linked Webex user by id and repair what drifted."""
    w = world("ann", "bob")
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    w.webex.calls.clear()
    report = w.plan(user="ann@example.com")
    assert planned(report) == [("update", "drift_in_webex", "ann")]
    assert not w.webex.calls_of("scan_users") and w.webex.calls_of("get_user") == [webex_user(w, "ann").id]


def test_protected_users_are_not_compared() -> None:
    """A protected user's Webex account is left alone, drifted or not."""
    w = world("ann")
    w.configure(provisioning={"protected": ["ann@example.com"]})
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss", active=False)
    report = w.sync()
    assert report.plan.all_actions == () and not drift_problems(report)


GROUPS = {"groups": {"filter": "(cn=webex-*)"}}


def grouped(drift: dict[str, Any] | None = None) -> FakeWorld:
    w = world("ann", "bob", drift=drift, **GROUPS)
    w.directory.put_group(
        "g1", group_dn("webex-sales"), members=[person("ann").dn, person("bob").dn], cn="webex-sales"
    )
    w.sync()
    return w


def test_a_managed_member_removed_in_webex_is_added_back() -> None:
    """A member this tool added and someone removed from the Webex group is added back
    (add_members, drift_in_webex); a member someone else added and then removed is none of its
    business."""
    w = grouped()
    group = w.webex.group("webex-sales")
    assert group is not None
    stranger = w.webex.add_user("zed@example.com")
    w.webex.add_members(group.id, [stranger.id])
    w.webex.remove_members(group.id, [webex_user(w, "ann").id, stranger.id])
    report = w.sync()
    [action] = report.plan.groups
    assert (action.kind.value, action.reason.value, [m.anchor for m in action.members]) == (
        "add_members",
        "drift_in_webex",
        ["ann"],
    )
    group = w.webex.group("webex-sales")
    assert group is not None and group.members == {webex_user(w, "ann").id, webex_user(w, "bob").id}
    assert w.sync().plan.groups == ()


def test_with_groups_report_a_removed_member_is_reported_for_the_group() -> None:
    """groups: report leaves the Webex group as it is and reports the group."""
    w = grouped({"groups": "report"})
    group = w.webex.group("webex-sales")
    assert group is not None
    w.webex.remove_members(group.id, [webex_user(w, "bob").id])
    report = w.sync()
    assert report.plan.groups == ()
    [problem] = [p for p in report.plan.problems if p.kind is ProblemKind.DRIFT]
    assert problem.resource == "group" and "bob@example.com" in problem.detail


def test_a_recreated_user_gets_its_pushed_groups_back() -> None:
    """A deleted Webex user leaves its groups; re-created, it is added back to them."""
    w = grouped()
    w.webex.remove_user(webex_user(w, "ann").id)
    report = w.sync()
    assert planned(report) == [("create", "deleted_in_webex", "ann")]
    assert [(a.kind.value, a.reason.value) for a in report.plan.groups] == [("add_members", "drift_in_webex")]
    group = w.webex.group("webex-sales")
    assert group is not None and webex_user(w, "ann").id in (group.members or ())


def metric(metrics: Metrics, name: str, kind: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("kind") == kind:
                return sample.value
    return 0.0


def test_metrics_count_drift_found_and_repaired_by_kind() -> None:
    """/metrics counts drift found and repaired per kind from each cycle's report."""
    w = world("ann", "bob", drift={"deactivated": "report"})
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    w.webex.edit_user(webex_user(w, "bob").id, active=False)
    metrics = Metrics()
    metrics.observe(w.sync(), held=0)
    assert metric(metrics, "webex_provisioner_drift_found_total", DriftKind.ATTRIBUTES) == 1
    assert metric(metrics, "webex_provisioner_drift_found_total", DriftKind.DEACTIVATED) == 1
    assert metric(metrics, "webex_provisioner_drift_repaired_total", DriftKind.ATTRIBUTES) == 1
    assert metric(metrics, "webex_provisioner_drift_repaired_total", DriftKind.DEACTIVATED) == 0


def test_repairs_never_deprovision_and_keep_links_active() -> None:
    """Whatever drifted, drift's own actions only update, reactivate, link or create."""
    limits = {"max_deprovisions": {"count": 10, "percent": None}}
    w = world("ann", "bob", "cy", drift={"deactivated": "reactivate"}, safety=limits)
    w.webex.edit_user(webex_user(w, "ann").id, title=None)
    w.webex.edit_user(webex_user(w, "bob").id, active=False)
    w.webex.remove_user(webex_user(w, "cy").id)
    report = w.sync()
    kinds = {a.kind.value for a in report.plan.all_actions}
    assert kinds == {"update", "reactivate", "create"}
    assert all(link.state is LinkState.ACTIVE for link in w.links().values())


def test_reported_drift_is_carried_by_incremental_cycles_until_a_full_one_compares() -> None:
    """An incremental cycle cannot tell whether reported drift is gone: it keeps reporting it,
    even for a user it re-reads; the next full cycle that finds it gone drops it."""
    w = world("ann", drift={"attributes": "report"})
    w.sync(feed=True)
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    assert drift_problems(w.sync(feed=True, full=True))
    w.directory.put(person("ann", title="Engineer", telephoneNumber="+1 555 0100", givenName="Anne"))
    incremental = w.sync(feed=True)
    assert incremental.kind.value == "incremental" and [a for a, _ in drift_problems(incremental)] == ["ann"]
    w.webex.edit_user(webex_user(w, "ann").id, title="Engineer")
    assert not drift_problems(w.sync(feed=True, full=True))
    assert w.store.open_problems() == []


def test_plan_shows_the_repairs_and_reported_drift_and_writes_nothing() -> None:
    """A dry run plans the repairs and reports the drift like sync would, and changes nothing in
    Webex or the state."""
    w = world("ann", "bob")
    w.webex.edit_user(webex_user(w, "ann").id, title="Boss")
    w.webex.edit_user(webex_user(w, "bob").id, active=False)
    audited = len(w.store.audit(limit=1000))
    report = w.plan()
    assert planned(report) == [("update", "drift_in_webex", "ann")] and len(drift_problems(report)) == 1
    assert webex_user(w, "ann").attributes["title"] == "Boss" and not webex_user(w, "bob").active
    assert len(w.store.audit(limit=1000)) == audited and w.store.open_problems() == []


class EndlessListing(InMemoryWebex):
    """A Webex whose listing never ends (only the cycle stopping it ends it)."""

    def scan_users(self, keys: Collection[str] | None = None) -> Iterator[ListedUser]:
        users = list(super().scan_users(keys))
        while True:
            yield from users


def test_a_cycle_that_fails_stops_its_webex_listing() -> None:
    """A directory read that fails ends the cycle (exit 1) and its Webex listing with it: no
    listing thread is left running."""
    w = world("ann", "bob")
    endless = EndlessListing()
    for user in w.webex.users():
        values = {k: v for k, v in user.attributes.items() if k != "email"}
        endless.add_user(user.email, webex_id=user.id, **values)
    w.webex = endless
    w.directory.fail_read(after=0)
    report = w.sync()
    assert report.exit_code == EXIT_FAILED and report.drift is None
    assert not [t for t in threading.enumerate() if t.name == "drift-listing"]
