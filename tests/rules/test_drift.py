"""The drift rules decide from data alone: what counts as a difference (and what only looks like
one), what the planner sees for a drifted user, how repairs are tagged and merged, what is
reported, which members go back into a pushed group, and the guard of restorations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from webex_provisioner.model import (
    Action,
    ActionKind,
    Change,
    GroupAction,
    Link,
    LinkState,
    Member,
    Plan,
    ProblemKind,
    Reason,
    WebexUser,
)
from webex_provisioner.model.drift import DriftFindings, DriftKind, GroupDrift, UserDrift
from webex_provisioner.rules.drift import (
    DriftOptions,
    as_webex_holds,
    compare_user,
    compared_keys,
    group_repairs,
    merge_replanned,
    settle,
    to_replan,
)
from webex_provisioner.rules.mapping import MappingRule, compile_mapping
from webex_provisioner.rules.planner import Assessment, PlanOptions, assess
from webex_provisioner.rules.safety import DeprovisionLimits, guard_restorations
from webex_provisioner.testing.directory import directory_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MAPPING = compile_mapping(
    {
        "email": MappingRule(source="mail"),
        "title": MappingRule(source="title"),
        "workPhone": MappingRule(source="telephoneNumber"),
        "extensionAttribute1": MappingRule(source="businessCategory"),
    }
)
OPTIONS = PlanOptions(managed=frozenset(MAPPING.rules) | {"externalId"})
KEYS = compared_keys(OPTIONS)
APPLIED = {
    "email": "Ann@Example.com",
    "title": "Engineer",
    "workPhone": "+1 (555) 010-0100",
    "extensionAttribute1": "red, blue",
    "externalId": "ann",
}


def ann_link(**changes: Any) -> Link:
    link = Link("ann", "w-ann", "Ann@Example.com", "uid=ann,dc=example,dc=com", applied=dict(APPLIED))
    return replace(link, **changes)


def webex(active: bool = True, **values: str | None) -> WebexUser:
    attributes = {k: v for k, v in {**APPLIED, **values}.items() if v is not None}
    return WebexUser("w-ann", attributes["email"], active, attributes)


def test_values_webex_writes_back_in_another_form_are_not_drift() -> None:
    """An e-mail in another case, a phone number with other punctuation, the parts of a
    multi-valued attribute in another order and blanks around a value compare equal."""
    found = webex(
        email="ann@example.com", workPhone="+15550100100", extensionAttribute1="blue,red", title=" Engineer "
    )
    assert compare_user(ann_link(), found, KEYS) is None


def test_a_changed_managed_attribute_an_added_one_and_a_removed_one_are_drift() -> None:
    """Each managed attribute Webex holds otherwise is named with Webex's value (None: removed)."""
    link = ann_link(applied={k: v for k, v in APPLIED.items() if k != "workPhone"})
    drift = compare_user(link, webex(title="Boss", extensionAttribute1=None), KEYS)
    assert drift is not None and drift.kinds == (DriftKind.ATTRIBUTES,)
    assert drift.values == (
        ("extensionAttribute1", None),
        ("title", "Boss"),
        ("workPhone", "+1 (555) 010-0100"),
    )


def test_attributes_the_mapping_does_not_manage_are_never_compared() -> None:
    """An attribute outside the mapping (department), a create_only one and the photo may differ
    freely."""
    options = PlanOptions(managed=frozenset({"email", "title", "avatar"}), create_only=frozenset({"title"}))
    found = webex(title="Boss", department="Sales", avatar="https://cdn.example.com/a.png")
    assert compared_keys(options) == ("email",)
    assert compare_user(ann_link(), found, compared_keys(options)) is None


def test_deactivated_and_deleted_users_are_drift_and_deprovisioned_links_are_not_compared() -> None:
    """An inactive Webex user of an active link is deactivated, a missing one deleted; a disabled
    link is never compared (its user is meant to be inactive, and Webex deletes those in time)."""
    assert compare_user(ann_link(), webex(active=False), KEYS) == UserDrift(
        "ann", "w-ann", "Ann@Example.com", deactivated=True
    )
    assert compare_user(ann_link(), None, KEYS) == UserDrift("ann", "w-ann", "Ann@Example.com", deleted=True)
    assert compare_user(ann_link(state=LinkState.DISABLED), None, KEYS) is None


def test_the_planner_sees_what_webex_holds_and_plans_the_update_back() -> None:
    """A drifted link says Webex's values were applied: the update shows Webex's value as old
    and the directory's as new; a value removed in Webex is added back."""
    drift = UserDrift("ann", "w-ann", "ann@example.com", (("title", "Boss"), ("workPhone", None)))
    link = ann_link(fingerprint="whatever")
    seen = as_webex_holds(link, drift)
    assert seen.fingerprint == "" and seen.applied["title"] == "Boss" and "workPhone" not in seen.applied
    user = directory_user(
        "ann",
        "Ann@Example.com",
        title="Engineer",
        telephoneNumber="+1 (555) 010-0100",
        businessCategory="red, blue",
    )
    [update] = assess([user], {"ann": seen}, MAPPING, OPTIONS, now=NOW).actions
    assert update.changes == (
        Change("title", "Boss", "Engineer"),
        Change("workPhone", None, "+1 (555) 010-0100"),
    )


def test_only_what_the_settings_repair_is_planned_again() -> None:
    """Attribute drift is re-planned with attributes: repair and provisioning.update on, a
    deletion with recreate, a deactivation only with reactivate."""
    drifts = {
        "a": UserDrift("a", "w-a", "a@x", (("title", "X"),)),
        "b": UserDrift("b", "w-b", "b@x", deleted=True),
        "c": UserDrift("c", "w-c", "c@x", deactivated=True),
    }
    assert to_replan(drifts, DriftOptions(), OPTIONS) == {"a", "b"}
    assert to_replan(drifts, DriftOptions(deactivated="reactivate"), OPTIONS) == {"a", "b", "c"}
    assert to_replan(drifts, DriftOptions(), PlanOptions(update=False)) == {"b"}
    assert to_replan(drifts, DriftOptions(attributes="report", deleted="report"), OPTIONS) == set()


def test_replanned_actions_replace_the_first_ones_tagged_with_their_reason() -> None:
    """The update of a drifted user is tagged drift_in_webex and replaces its first-pass action;
    a deleted user's candidate joins the candidates; a user the directory no longer wants keeps
    its first actions; a deactivated user wanted active gets a reactivate first."""
    drifts = {
        "ann": UserDrift("ann", "w-ann", "ann@example.com", (("title", "Boss"),), deactivated=True),
        "bob": UserDrift("bob", "w-bob", "bob@example.com", deleted=True),
        "cy": UserDrift("cy", "w-cy", "cy@example.com", deleted=True),
    }
    first = Assessment(
        actions=[
            Action(
                ActionKind.UPDATE,
                Reason.ATTRIBUTES_CHANGED,
                "ann",
                "ann@example.com",
                changes=(Change("title", "A", "B"),),
            ),
            Action(ActionKind.DISABLE, Reason.LEFT_SCOPE, "cy", "cy@example.com", webex_id="w-cy"),
            Action(ActionKind.UPDATE, Reason.ATTRIBUTES_CHANGED, "dee", "dee@example.com"),
        ]
    )
    again = assess(
        [directory_user("ann", "ann@example.com", title="B"), directory_user("bob", "bob@example.com")],
        {
            "ann": as_webex_holds(
                Link("ann", "w-ann", "ann@example.com", "", applied={"email": "ann@example.com"}),
                drifts["ann"],
            )
        },
        MAPPING,
        OPTIONS,
        now=NOW,
    )
    users = {
        "ann": directory_user("ann", "ann@example.com", title="B"),
        "bob": directory_user("bob", "bob@example.com"),
        "cy": directory_user("cy", "cy@example.com", in_scope=False),
    }
    merge_replanned(first, again, drifts, users, DriftOptions(deactivated="reactivate"))
    kinds = [(a.kind, a.reason, a.anchor) for a in first.actions]
    assert kinds == [
        (ActionKind.REACTIVATE, Reason.DEACTIVATED_IN_WEBEX, "ann"),
        (ActionKind.DISABLE, Reason.LEFT_SCOPE, "cy"),
        (ActionKind.UPDATE, Reason.ATTRIBUTES_CHANGED, "dee"),
        (ActionKind.UPDATE, Reason.DRIFT_IN_WEBEX, "ann"),
    ]
    assert [c.anchor for c in first.candidates] == ["bob"]


def test_settle_tags_restorations_and_reports_what_the_settings_report() -> None:
    """A re-link of a deleted Webex user is tagged deleted_in_webex; reported drift becomes one
    drift problem per user, but not for a user the plan deprovisions anyway."""
    drifts = {
        "ann": UserDrift("ann", "w-ann", "ann@x", (("title", "Boss"),), deactivated=True),
        "bob": UserDrift("bob", "w-bob", "bob@x", deleted=True),
        "cy": UserDrift("cy", "w-cy", "cy@x", deactivated=True),
    }
    plan = Plan(
        actions=(
            Action(ActionKind.LINK, Reason.MATCHED_EXISTING, "bob", "bob@x", webex_id="w-new"),
            Action(ActionKind.DISABLE, Reason.DISABLED_IN_DIRECTORY, "cy", "cy@x", webex_id="w-cy"),
        )
    )
    links = {"ann": Link("ann", "w-ann", "ann@x", "uid=ann", applied={"title": "Engineer"})}
    settled = settle(plan, drifts, links, DriftOptions(attributes="report"), OPTIONS)
    assert [(a.kind, a.reason) for a in settled.actions] == [
        (ActionKind.LINK, Reason.DELETED_IN_WEBEX),
        (ActionKind.DISABLE, Reason.DISABLED_IN_DIRECTORY),
    ]
    [problem] = settled.problems
    assert problem.kind is ProblemKind.DRIFT and problem.anchor == "ann" and problem.dn == "uid=ann"
    assert "deactivated in Webex" in problem.detail
    assert "title is 'Boss' in Webex, 'Engineer' was applied" in problem.detail


def test_members_removed_in_webex_are_added_back_unless_the_plan_takes_them_out() -> None:
    """Missing managed members go back, but not one the plan removes, one it deletes, one not in
    Webex, or any member of a group it deletes; with report they are a group drift problem."""
    drifts = [
        GroupDrift("g1", "Sales", "cn=sales", "wg1", frozenset({"ann", "bob", "cy", "dee"})),
        GroupDrift("g2", "Ops", "cn=ops", "wg2", frozenset({"ann"})),
    ]
    plan = Plan(
        actions=(Action(ActionKind.DELETE, Reason.DELETED_IN_DIRECTORY, "cy", "cy@x"),),
        groups=(
            GroupAction(
                ActionKind.REMOVE_MEMBERS, Reason.LEFT_GROUP, "g1", "Sales", members=(Member("bob", ""),)
            ),
            GroupAction(ActionKind.DELETE_GROUP, Reason.DELETED_IN_DIRECTORY, "g2", "Ops"),
        ),
    )
    emails = {"ann": "ann@x", "bob": "bob@x", "cy": "cy@x", "dee": "dee@x"}
    actions, problems = group_repairs(drifts, plan, emails, {"dee"}, repair=True)
    [action] = actions
    assert (action.kind, action.reason, action.anchor, action.webex_id) == (
        ActionKind.ADD_MEMBERS,
        Reason.DRIFT_IN_WEBEX,
        "g1",
        "wg1",
    )
    assert action.members == (Member("ann", "ann@x"),) and problems == []
    actions, [problem] = group_repairs(drifts, plan, emails, {"dee"}, repair=False)
    assert actions == [] and problem.kind is ProblemKind.DRIFT and problem.resource == "group"
    assert "ann@x" in problem.detail


def test_restorations_beyond_the_limits_are_held_with_their_users_other_actions() -> None:
    """More re-creations and reactivations than max_deprovisions allows are held, each with the
    user's other actions; approved ones go ahead and are not counted; fewer pass."""
    restore = [Action(ActionKind.CREATE, Reason.DELETED_IN_WEBEX, f"u{i}", f"u{i}@x") for i in range(3)] + [
        Action(ActionKind.REACTIVATE, Reason.DEACTIVATED_IN_WEBEX, "r", "r@x")
    ]
    other = Action(ActionKind.UPDATE, Reason.DRIFT_IN_WEBEX, "r", "r@x")
    plan = Plan(actions=(*restore, other))
    held = guard_restorations(plan, set(), 100, DeprovisionLimits(count=3, percent=None))
    assert held.actions == () and len(held.held) == 5
    approved = {("r", ActionKind.REACTIVATE)}
    passed = guard_restorations(plan, approved, 100, DeprovisionLimits(count=3, percent=None))
    assert passed is plan


def test_found_counts_each_kind() -> None:
    """The findings count users per kind of drift and groups with missing members."""
    found = DriftFindings(
        users={
            "a": UserDrift("a", "w", "a@x", (("title", "X"),), deactivated=True),
            "b": UserDrift("b", "w2", "b@x", deleted=True),
        },
        groups=[GroupDrift("g", "G", "", "wg", frozenset({"a"}))],
    )
    assert found.found() == {
        DriftKind.ATTRIBUTES: 1,
        DriftKind.DEACTIVATED: 1,
        DriftKind.DELETED: 1,
        DriftKind.GROUPS: 1,
    }
