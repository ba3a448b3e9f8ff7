"""The planner decides every lifecycle rule of docs/lifecycle.md from data alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import pytest

from webex_provisioner.model import (
    ActionKind,
    Change,
    Deprovision,
    DirectoryUser,
    Link,
    LinkState,
    Plan,
    ProblemKind,
    Reason,
    WebexUser,
)
from webex_provisioner.rules.mapping import MappingRule, compile_mapping
from webex_provisioner.rules.planner import PlanOptions, assess, diff, finish

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MAPPING = compile_mapping(
    {
        "email": MappingRule(source="mail"),
        "firstName": MappingRule(source="givenName"),
        "title": MappingRule(source="title"),
        "manager": MappingRule(source="manager"),
    }
)


def user(
    anchor: str,
    mail: str | None = None,
    *,
    dn: str | None = None,
    in_scope: bool = True,
    disabled: bool = False,
    **attrs: str,
) -> DirectoryUser:
    values: dict[str, tuple[str, ...]] = {k.lower(): (v,) for k, v in attrs.items()}
    if mail is not None:
        values["mail"] = (mail,)
    return DirectoryUser(
        anchor=anchor,
        dn=dn or f"uid={anchor},ou=people,dc=example,dc=com",
        attributes=values,
        disabled=disabled,
        in_scope=in_scope,
    )


def link(anchor: str, email: str, *, state: LinkState = LinkState.ACTIVE, **kwargs: object) -> Link:
    applied = {"email": email, "externalId": anchor}
    applied.update({k: str(v) for k, v in kwargs.pop("applied", {}).items()})  # type: ignore[attr-defined]
    return Link(
        anchor=anchor,
        webex_id=f"w-{anchor}",
        email=email,
        dn=f"uid={anchor},ou=people,dc=example,dc=com",
        state=state,
        applied=applied,
        **kwargs,  # type: ignore[arg-type]
    )


def plan(
    users: Iterable[DirectoryUser],
    links: Iterable[Link] = (),
    webex: Iterable[WebexUser] = (),
    *,
    complete: bool = True,
    now: datetime = NOW,
    **options: object,
) -> Plan:
    by_anchor: Mapping[str, Link] = {x.anchor: x for x in links}
    opts = PlanOptions(**options)  # type: ignore[arg-type]
    assessment = assess(users, by_anchor, MAPPING, opts, now=now)
    matches = {w.email.lower(): w for w in webex}
    return finish(assessment, by_anchor, matches, opts, now=now, complete=complete)


def kinds(p: Plan) -> list[tuple[str, str, str]]:
    return [(a.anchor, a.kind.value, a.reason.value) for a in p.actions]


def test_new_enabled_user_in_scope_is_created() -> None:
    """An in-scope enabled user with no link and no Webex match is created active (entered_scope)."""
    p = plan([user("a", "a@example.com", givenName="Ann")])
    assert kinds(p) == [("a", "create", "entered_scope")]
    assert p.actions[0].desired == {"email": "a@example.com", "firstName": "Ann", "externalId": "a"}
    assert p.actions[0].active is True


def test_existing_webex_user_is_linked_case_insensitively_then_updated_and_reactivated() -> None:
    """A Webex user with the same e-mail (any case) is linked, updated where it differs, reactivated."""
    webex = WebexUser("w1", "ANN@example.com", active=False, attributes={"email": "ANN@example.com"})
    p = plan([user("a", "ann@EXAMPLE.com", givenName="Ann")], webex=[webex])
    assert kinds(p) == [
        ("a", "link", "matched_existing"),
        ("a", "update", "matched_existing"),
        ("a", "reactivate", "matched_existing"),
    ]
    update = p.actions[1]
    assert {c.attribute for c in update.changes} == {"email", "firstName", "externalId"}
    assert all(a.webex_id == "w1" for a in p.actions)


def test_matched_user_already_equal_is_only_linked() -> None:
    """Linking a Webex user whose attributes already match plans no update."""
    attrs = {"email": "a@example.com", "externalId": "a"}
    p = plan([user("a", "a@example.com")], webex=[WebexUser("w1", "a@example.com", True, attrs)])
    assert kinds(p) == [("a", "link", "matched_existing")]


def test_disabled_user_is_skipped_unless_provision_disabled() -> None:
    """A disabled unlinked user is not provisioned; with provision_disabled it is created inactive."""
    assert plan([user("a", "a@example.com", disabled=True)]).actions == ()
    p = plan([user("a", "a@example.com", disabled=True)], provision_disabled=True)
    assert kinds(p) == [("a", "create", "entered_scope")]
    assert p.actions[0].active is False


def test_provision_disabled_links_an_active_match_and_disables_it() -> None:
    """With provision_disabled, a disabled user matching an active Webex user is linked then disabled."""
    attrs = {"email": "a@example.com", "externalId": "a"}
    p = plan(
        [user("a", "a@example.com", disabled=True)],
        webex=[WebexUser("w1", "a@example.com", True, attrs)],
        provision_disabled=True,
    )
    assert kinds(p) == [("a", "link", "matched_existing"), ("a", "disable", "disabled_in_directory")]


def test_out_of_scope_unlinked_user_is_ignored() -> None:
    """A user outside the scope with no link plans nothing and is not a problem."""
    p = plan([user("a", "a@example.com", in_scope=False)])
    assert p.actions == () and p.problems == ()


def test_changed_attributes_update_only_what_changed() -> None:
    """A linked user is updated with exactly the differing attributes; a removed value is removed."""
    existing = link("a", "a@example.com", applied={"firstName": "Ann", "title": "Boss"})
    p = plan([user("a", "a@example.com", givenName="Anne")], [existing])
    assert kinds(p) == [("a", "update", "attributes_changed")]
    assert p.actions[0].changes == (Change("firstName", "Ann", "Anne"), Change("title", "Boss", None))


def test_unchanged_linked_user_plans_nothing() -> None:
    """A linked user whose desired attributes equal the applied ones plans nothing."""
    existing = link("a", "a@example.com", applied={"firstName": "Ann"})
    assert plan([user("a", "a@example.com", givenName="Ann")], [existing]).actions == ()


def test_update_switch_off_plans_no_update() -> None:
    """provisioning.update=false leaves changed attributes alone."""
    existing = link("a", "a@example.com")
    assert plan([user("a", "a@example.com", givenName="X")], [existing], update=False).actions == ()


def test_create_switch_off_still_links() -> None:
    """provisioning.create=false creates nobody but still links existing Webex users."""
    attrs = {"email": "b@example.com", "externalId": "b"}
    p = plan(
        [user("a", "a@example.com"), user("b", "b@example.com")],
        webex=[WebexUser("w", "b@example.com", True, attrs)],
        create=False,
    )
    assert kinds(p) == [("b", "link", "matched_existing")]


def test_email_change_updates_the_same_webex_user() -> None:
    """A changed e-mail is an update of userName on the linked Webex user, never a new user."""
    p = plan([user("a", "new@example.com")], [link("a", "old@example.com")])
    assert kinds(p) == [("a", "update", "attributes_changed")]
    assert p.actions[0].webex_id == "w-a"
    assert Change("email", "old@example.com", "new@example.com") in p.actions[0].changes


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(Deprovision.DISABLE, ["disable"]), (Deprovision.DELETE, ["delete"]), (Deprovision.NONE, [])],
)
def test_deleted_user_is_deprovisioned_per_on_deleted(policy: Deprovision, expected: list[str]) -> None:
    """A linked user missing from a complete read is deprovisioned per on_deleted."""
    p = plan([user("b", "b@example.com")], [link("a", "a@example.com")], on_deleted=policy)
    assert [a.kind.value for a in p.actions if a.anchor == "a"] == expected
    assert all(a.reason is Reason.DELETED_IN_DIRECTORY for a in p.actions if a.anchor == "a")


def test_incomplete_read_never_deprovisions_missing_users() -> None:
    """Users missing from an incomplete read are not classified as deleted."""
    p = plan([user("b", "b@example.com")], [link("a", "a@example.com")], complete=False)
    assert [a for a in p.actions if a.anchor == "a"] == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(Deprovision.DISABLE, ["disable"]), (Deprovision.DELETE, ["delete"]), (Deprovision.NONE, [])],
)
def test_disabled_linked_user_is_deprovisioned_per_on_disabled(
    policy: Deprovision, expected: list[str]
) -> None:
    """A linked user disabled in the directory is deprovisioned per on_disabled."""
    p = plan([user("a", "a@example.com", disabled=True)], [link("a", "a@example.com")], on_disabled=policy)
    assert [a.kind.value for a in p.actions] == expected
    assert all(a.reason is Reason.DISABLED_IN_DIRECTORY for a in p.actions)


def test_provision_disabled_always_disables_never_deletes() -> None:
    """With provision_disabled on, a directory disable is a Webex disable even if on_disabled is delete."""
    p = plan(
        [user("a", "a@example.com", disabled=True)],
        [link("a", "a@example.com")],
        on_disabled=Deprovision.DELETE,
        provision_disabled=True,
    )
    assert kinds(p) == [("a", "disable", "disabled_in_directory")]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(Deprovision.DISABLE, ["disable"]), (Deprovision.DELETE, ["delete"]), (Deprovision.NONE, [])],
)
def test_user_leaving_scope_is_deprovisioned_per_on_left_scope(
    policy: Deprovision, expected: list[str]
) -> None:
    """A linked user that left the targeted group or filter is deprovisioned per on_left_scope."""
    p = plan([user("a", "a@example.com", in_scope=False)], [link("a", "a@example.com")], on_left_scope=policy)
    assert [a.kind.value for a in p.actions] == expected
    assert all(a.reason is Reason.LEFT_SCOPE for a in p.actions)


def test_deprovision_switch_off_plans_no_deprovision() -> None:
    """provisioning.deprovision=false never disables or deletes."""
    links = [link("a", "a@example.com"), link("b", "b@example.com")]
    p = plan([user("a", "a@example.com", disabled=True)], links, deprovision=False)
    assert p.actions == ()


def test_already_disabled_link_is_not_disabled_again() -> None:
    """A user we already disabled plans nothing more while it stays out of service."""
    disabled = link("a", "a@example.com", state=LinkState.DISABLED, deprovisioned_at=NOW)
    assert plan([user("a", "a@example.com", in_scope=False)], [disabled]).actions == ()
    assert plan([], [disabled, link("b", "b@example.com")], complete=True).actions[0].anchor == "b"


def test_reenabled_user_is_reactivated_with_re_enabled() -> None:
    """A user we disabled because it was disabled in the directory is reactivated when re-enabled."""
    disabled = link(
        "a", "a@example.com", state=LinkState.DISABLED, deprovision_reason=Reason.DISABLED_IN_DIRECTORY
    )
    p = plan([user("a", "a@example.com", givenName="Ann")], [disabled])
    assert kinds(p) == [("a", "reactivate", "re_enabled"), ("a", "update", "re_enabled")]


def test_user_reentering_scope_is_reactivated_with_re_entered_scope() -> None:
    """A user we disabled because it left scope is reactivated when it re-enters scope."""
    disabled = link("a", "a@example.com", state=LinkState.DISABLED, deprovision_reason=Reason.LEFT_SCOPE)
    p = plan([user("a", "a@example.com")], [disabled])
    assert kinds(p) == [("a", "reactivate", "re_entered_scope")]


def test_rename_or_move_keeps_the_link_and_plans_no_deprovision() -> None:
    """A DN change (rename, OU move) is recorded as a DN change, never a deprovision or re-create."""
    by_anchor = {"a": link("a", "a@example.com")}
    moved = user("a", "a@example.com", dn="uid=a2,ou=sales,dc=example,dc=com")
    assessment = assess([moved], by_anchor, MAPPING, PlanOptions(), now=NOW)
    p = finish(assessment, by_anchor, {}, PlanOptions(), now=NOW, complete=True)
    assert p.actions == ()
    assert assessment.dn_changes == {"a": "uid=a2,ou=sales,dc=example,dc=com"}


def test_shared_email_is_a_conflict_for_both_users() -> None:
    """Two directory users with one e-mail: neither is created or linked, both are reported."""
    p = plan([user("a", "x@example.com"), user("b", "X@example.com"), user("c", "c@example.com")])
    assert kinds(p) == [("c", "create", "entered_scope")]
    conflicts = {pr.anchor for pr in p.problems if pr.kind is ProblemKind.CONFLICT}
    assert conflicts == {"a", "b"}


def test_webex_user_linked_to_another_anchor_is_a_conflict() -> None:
    """A reused address whose Webex user is linked to a departed user's anchor is never handed over."""
    old = link("gone", "x@example.com", state=LinkState.DISABLED)
    webex = WebexUser("w-gone", "x@example.com", False, {"email": "x@example.com"})
    p = plan([user("new", "x@example.com")], [old], webex=[webex], complete=False)
    assert p.actions == ()
    assert [pr.kind for pr in p.problems] == [ProblemKind.CONFLICT]
    assert "users forget gone" in p.problems[0].detail


def test_user_without_email_is_reported_and_skipped() -> None:
    """A user without the mapped e-mail is reported as invalid and nothing is planned for it."""
    p = plan([user("a", None, givenName="Ann")])
    assert p.actions == ()
    assert p.problems[0].kind is ProblemKind.INVALID and "email" in p.problems[0].detail


def test_protected_users_are_never_touched() -> None:
    """Protected e-mails or anchors are never created, updated or deprovisioned."""
    users = [user("a", "boss@example.com", givenName="New"), user("b", "b@example.com", disabled=True)]
    links = [link("a", "boss@example.com"), link("b", "b@example.com"), link("c", "ceo@example.com")]
    p = plan(users, links, protected=frozenset({"boss@example.com", "b", "ceo@example.com"}))
    assert p.actions == ()
    assert {pr.anchor for pr in p.problems} == {"a", "b", "c"}
    assert all(pr.kind is ProblemKind.PROTECTED for pr in p.problems)


def test_delete_after_deletes_once_the_grace_period_elapsed() -> None:
    """A user we disabled and who stays out of scope past delete_after is deleted (grace_period_elapsed)."""
    disabled = link("a", "a@example.com", state=LinkState.DISABLED, deprovisioned_at=NOW - timedelta(days=31))
    out = user("a", "a@example.com", in_scope=False)
    assert (
        plan([out], [disabled], delete_after=timedelta(days=30)).actions[0].reason
        is Reason.GRACE_PERIOD_ELAPSED
    )
    recent = link("a", "a@example.com", state=LinkState.DISABLED, deprovisioned_at=NOW - timedelta(days=29))
    assert plan([out], [recent], delete_after=timedelta(days=30)).actions == ()


def test_creates_come_before_updates_and_deprovisions_last() -> None:
    """The plan orders creates and links first, then updates and reactivations, then deprovisions."""
    links = [link("gone", "g@example.com"), link("b", "b@example.com")]
    p = plan([user("a", "a@example.com"), user("b", "b@example.com", givenName="B")], links)
    assert [a.kind for a in p.actions] == [ActionKind.CREATE, ActionKind.UPDATE, ActionKind.DISABLE]


def test_manager_created_in_the_same_cycle_is_deferred_not_reported() -> None:
    """A manager provisioned by this cycle defers the report's manager attribute to a second pass."""
    boss = user("boss", "boss@example.com")
    report = user("r", "r@example.com", manager=boss.dn)
    by_anchor: dict[str, Link] = {}
    assessment = assess([report, boss], by_anchor, MAPPING, PlanOptions(), now=NOW)
    assert [d.user.anchor for d in assessment.deferred] == ["r"]
    p = finish(assessment, by_anchor, {}, PlanOptions(), now=NOW, complete=True)
    assert {a.anchor for a in p.actions} == {"boss", "r"}
    assert "manager" not in p.actions[0].desired
    [followup] = p.followups
    assert (followup.anchor, followup.kind, followup.pending) == (
        "r",
        ActionKind.UPDATE,
        (("manager", boss.dn),),
    )


def test_manager_that_is_not_provisioned_is_reported() -> None:
    """A manager DN that is neither linked nor provisioned this cycle makes the user a reported problem."""
    report = user("r", "r@example.com", manager="uid=nobody,ou=people,dc=example,dc=com")
    p = plan([report])
    assert p.actions == ()
    assert "manager" in p.problems[0].detail


def test_linked_manager_is_sent_as_its_webex_id() -> None:
    """The manager attribute carries the linked Webex id of the manager's DN."""
    boss = link("boss", "boss@example.com")
    p = plan([user("boss", "boss@example.com"), user("r", "r@example.com", manager=boss.dn.upper())], [boss])
    create = next(a for a in p.actions if a.anchor == "r")
    assert create.desired["manager"] == "w-boss"


def test_diff_lists_only_differences() -> None:
    """diff() returns sorted changes for differing keys, honouring skip."""
    changes = diff({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": "4"}, skip=frozenset({"c"}))
    assert changes == (Change("b", "3", "2"),)


def test_unmapped_webex_attributes_are_never_removed() -> None:
    """Attributes the mapping does not manage (set by hand in Webex) are neither updated nor removed."""
    attrs = {"email": "a@example.com", "externalId": "a", "nickName": "Set by hand", "city": "Oslo"}
    p = plan(
        [user("a", "a@example.com", givenName="Ann")],
        webex=[WebexUser("w1", "a@example.com", True, attrs)],
        managed=frozenset({"email", "firstName", "title", "manager", "externalId"}),
    )
    update = next(a for a in p.actions if a.kind is ActionKind.UPDATE)
    assert update.changes == (Change("firstName", None, "Ann"),)
    link_action = next(a for a in p.actions if a.kind is ActionKind.LINK)
    assert "nickName" not in link_action.desired


def test_attribute_dropped_from_the_mapping_is_left_alone() -> None:
    """An attribute applied earlier but no longer mapped is not removed from Webex."""
    existing = link("a", "a@example.com", applied={"department": "42"})
    p = plan(
        [user("a", "a@example.com")], [existing], managed=frozenset({"email", "externalId", "firstName"})
    )
    assert p.actions == ()


# -- incremental cycles: explicit deletes ---------------------------------------------------------


def incremental(
    users: Iterable[DirectoryUser], links: Iterable[Link], deleted: Iterable[str], **options: object
) -> Plan:
    by_anchor: Mapping[str, Link] = {x.anchor: x for x in links}
    opts = PlanOptions(**options)  # type: ignore[arg-type]
    assessment = assess(users, by_anchor, MAPPING, opts, now=NOW)
    return finish(assessment, by_anchor, {}, opts, now=NOW, complete=False, deleted=tuple(deleted))


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(Deprovision.DISABLE, ["disable"]), (Deprovision.DELETE, ["delete"]), (Deprovision.NONE, [])],
)
def test_explicitly_deleted_anchor_is_deprovisioned_per_on_deleted(
    policy: Deprovision, expected: list[str]
) -> None:
    """An incremental read's deleted anchor is deprovisioned per on_deleted (deleted_in_directory)."""
    p = incremental([], [link("a", "a@example.com")], ["a"], on_deleted=policy)
    assert [a.kind.value for a in p.actions] == expected
    assert all(a.reason is Reason.DELETED_IN_DIRECTORY for a in p.actions)


def test_incremental_read_deprovisions_only_the_deleted_anchors() -> None:
    """Linked users an incremental read did not see, and that are not named deleted, are left alone."""
    links = [link("a", "a@example.com"), link("b", "b@example.com")]
    p = incremental([user("c", "c@example.com")], links, ["a", "unknown"])
    assert kinds(p) == [("c", "create", "entered_scope"), ("a", "disable", "deleted_in_directory")]


def test_deleted_anchor_that_was_also_read_is_not_deprovisioned() -> None:
    """An anchor named deleted but read in the same change set (re-added) is planned from the read."""
    p = incremental([user("a", "a@example.com")], [link("a", "a@example.com")], ["a"])
    assert p.actions == ()


def test_deleted_protected_user_is_reported_not_deprovisioned() -> None:
    """A deleted anchor on the protected list is reported, never deprovisioned."""
    p = incremental([], [link("a", "a@example.com")], ["a"], protected=frozenset({"a@example.com"}))
    assert p.actions == () and [x.kind for x in p.problems] == [ProblemKind.PROTECTED]


def test_unresolved_manager_can_be_omitted_instead_of_skipping_the_user() -> None:
    """With unresolved: omit, a user whose manager is not provisioned is provisioned without one."""
    mapping = compile_mapping(
        {"email": MappingRule(source="mail"), "manager": MappingRule(source="manager", unresolved="omit")}
    )
    report = user("r", "r@example.com", manager="uid=nobody,ou=people,dc=example,dc=com")
    assessment = assess([report], {}, mapping, PlanOptions(), now=NOW)
    p = finish(assessment, {}, {}, PlanOptions(), now=NOW, complete=True)
    assert [(a.anchor, a.kind.value) for a in p.actions] == [("r", "create")]
    assert "manager" not in p.actions[0].desired and p.problems == ()


def test_a_protected_user_keeps_its_email_from_another_directory_user() -> None:
    """A user protected by anchor still owns its e-mail: another directory user with the same
    e-mail is a conflict (never linked to that Webex user), the protected one is reported as
    protected only."""
    users = [user("b", "pat@example.com"), user("c", "pat@example.com")]
    webex = {"pat@example.com": WebexUser("w-pat", "pat@example.com", True, {"email": "pat@example.com"})}
    options = PlanOptions(protected=frozenset({"b"}))
    p = finish(assess(users, {}, MAPPING, options, now=NOW), {}, webex, options, now=NOW, complete=True)
    assert p.actions == ()
    assert sorted((x.anchor, x.kind) for x in p.problems) == [
        ("b", ProblemKind.PROTECTED),
        ("c", ProblemKind.CONFLICT),
    ]
