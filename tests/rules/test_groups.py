"""The group rules decide from data alone: names, link or create, members, renames, removals
of only what this tool added, gone groups, and the guards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from webex_provisioner.model import ActionKind, DirectoryGroup, GroupLink, Member, ProblemKind, WebexGroup
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.rules.groups import GroupOptions, GroupPlan, group_names, names_to_look_up, plan_groups
from webex_provisioner.rules.mapping import MappingRule
from webex_provisioner.rules.safety import DeprovisionLimits, guard_groups

PEOPLE = "ou=people,dc=example,dc=com"
CN = MappingRule(source="cn")


def dn(uid: str) -> str:
    return normalize_dn(f"uid={uid},{PEOPLE}")


def group(anchor: str, cn: str | None, *members: str, cycles: tuple[str, ...] = ()) -> DirectoryGroup:
    attributes = {"cn": (cn,)} if cn is not None else {}
    return DirectoryGroup(
        anchor,
        f"cn={cn or anchor},ou=groups,dc=example,dc=com",
        attributes,
        frozenset(dn(m) for m in members),
        cycles=cycles,
    )


def people(*uids: str) -> dict[str, Member]:
    return {dn(uid): Member(f"a-{uid}", f"{uid}@example.com") for uid in uids}


def link(anchor: str, name: str, *members: str, webex_id: str | None = None) -> GroupLink:
    return GroupLink(
        anchor,
        webex_id or f"w-{anchor}",
        name,
        f"cn={name},ou=groups,dc=example,dc=com",
        frozenset(f"a-{m}" for m in members),
    )


def plan(
    groups: Iterable[DirectoryGroup],
    links: Iterable[GroupLink] = (),
    who: Mapping[str, Member] | None = None,
    webex: Iterable[WebexGroup] = (),
    **options: object,
) -> GroupPlan:
    by_anchor = {lnk.anchor: lnk for lnk in links}
    return plan_groups(
        group_names(groups, CN),
        by_anchor,
        who if who is not None else people("ann", "bob", "cy"),
        {w.name.lower(): w for w in webex},
        GroupOptions(**options),  # type: ignore[arg-type]
    )


def kinds(p: GroupPlan) -> list[tuple[str, str, str]]:
    return [(a.kind.value, a.reason.value, a.name) for a in p.actions]


def test_a_new_group_is_created_with_its_provisioned_members() -> None:
    """A selected group nobody linked yet is created with the members who are provisioned users;
    the others are counted, not added."""
    p = plan([group("g1", "sales", "ann", "bob", "nobody")])
    [create] = p.actions
    assert (create.kind, create.reason, create.name) == (ActionKind.CREATE_GROUP, "group_selected", "sales")
    assert [m.anchor for m in create.members] == ["a-ann", "a-bob"] and create.skipped == 1


def test_an_existing_webex_group_of_that_name_is_linked_not_created_again() -> None:
    """The name matches an existing Webex group (any case): link it and add the members."""
    p = plan([group("g1", "Sales", "ann")], webex=[WebexGroup("w-9", "SALES")])
    assert kinds(p) == [("link_group", "matched_existing", "Sales"), ("add_members", "joined_group", "Sales")]
    assert p.actions[0].webex_id == "w-9"


def test_a_webex_group_linked_to_another_directory_group_is_a_conflict() -> None:
    """Never hand one directory group's Webex group to another."""
    p = plan([group("g2", "sales", "ann")], links=[link("g1", "old")], webex=[WebexGroup("w-g1", "sales")])
    assert [(x.kind, x.anchor) for x in p.problems] == [(ProblemKind.CONFLICT, "g2")]
    assert [a.kind for a in p.actions] == [ActionKind.DELETE_GROUP]  # g1 is no longer selected


def test_renames_adds_and_removes_of_a_linked_group() -> None:
    """A linked group is renamed when its name changed, gains who joined, loses who left."""
    p = plan([group("g1", "sales-emea", "ann", "cy")], links=[link("g1", "sales", "ann", "bob")])
    assert kinds(p) == [
        ("rename_group", "renamed_in_directory", "sales-emea"),
        ("add_members", "joined_group", "sales-emea"),
        ("remove_members", "left_group", "sales-emea"),
    ]
    assert p.actions[0].old_name == "sales"
    assert [m.anchor for m in p.actions[1].members] == ["a-cy"]
    assert [m.anchor for m in p.actions[2].members] == ["a-bob"]


def test_only_members_this_tool_added_are_removed() -> None:
    """A Webex member nobody in the directory group stands for, but not added by this tool, is
    never planned for removal (the link's managed members are the only candidates)."""
    p = plan([group("g1", "sales", "ann")], links=[link("g1", "sales", "ann")])
    assert p.actions == []


def test_nothing_to_do_when_the_group_is_in_step() -> None:
    """Same name, same members: no action."""
    assert plan([group("g1", "sales", "ann", "bob")], links=[link("g1", "sales", "ann", "bob")]).actions == []


def test_a_group_read_with_no_members_removes_nobody() -> None:
    """An empty read of a group whose Webex group has managed members is not trusted."""
    p = plan([group("g1", "sales")], links=[link("g1", "sales", "ann", "bob")])
    assert p.actions == []
    assert [(x.kind, x.resource) for x in p.problems] == [(ProblemKind.FAILED, "group")]


def test_gone_groups_are_deleted_or_released() -> None:
    """A linked group no longer selected is deleted, or released with on_deleted: keep; the
    reason says whether the directory still has it."""
    links = [link("g1", "sales")]
    assert kinds(plan([], links)) == [("delete_group", "deleted_in_directory", "sales")]
    kept = plan_groups(
        [], {"g1": links[0]}, {}, {}, GroupOptions(on_deleted="keep"), still_in_directory=frozenset({"g1"})
    )
    assert kinds(kept) == [("release_group", "left_selection", "sales")]


def test_bad_groups_are_reported_and_left_alone() -> None:
    """No name, a name too long, two groups with one name, a protected name: reported, no action."""
    groups = [
        group("g1", None, "ann"),
        group("g2", "x" * 300, "ann"),
        group("g3", "dup", "ann"),
        group("g4", "DUP", "bob"),
        group("g5", "Admins", "ann"),
    ]
    p = plan(groups, protected=frozenset({"admins"}))
    assert p.actions == []
    assert sorted((x.anchor, x.kind) for x in p.problems) == [
        ("g1", ProblemKind.INVALID),
        ("g2", ProblemKind.INVALID),
        ("g3", ProblemKind.CONFLICT),
        ("g4", ProblemKind.CONFLICT),
        ("g5", ProblemKind.PROTECTED),
    ]


def test_a_cycle_is_reported_and_the_group_still_pushed() -> None:
    """A membership cycle is named (the group's members are those found)."""
    p = plan([group("g1", "sales", "ann", cycles=("cn=a > cn=b > cn=a",))])
    assert [a.kind for a in p.actions] == [ActionKind.CREATE_GROUP]
    assert "membership cycle cn=a > cn=b > cn=a" in p.problems[0].detail


def test_the_names_to_look_up_are_those_of_unlinked_groups() -> None:
    """Only unlinked groups need a lookup by name before planning."""
    named = group_names([group("g1", "sales"), group("g2", "ops")], CN)
    assert names_to_look_up(named, {"g1": link("g1", "sales")}) == ["ops"]


def test_a_template_names_the_group() -> None:
    """groups.name can be a template over the group's attributes."""
    [named] = group_names([group("g1", "sales")], MappingRule(template="Webex {{ cn | upper }}"))
    assert named.name == "Webex SALES"


def test_removals_beyond_the_percent_of_a_group_are_held() -> None:
    """More than max_deprovisions.percent of a group's managed members (and more than one) is held."""
    p = plan([group("g1", "sales", "ann")], links=[link("g1", "sales", "ann", "bob", "cy")])
    kept, held = guard_groups(p.actions, {"g1": 3}, 1, DeprovisionLimits(count=50, percent=10))
    assert kept == () and [a.kind for a in held] == [ActionKind.REMOVE_MEMBERS]
    one = plan([group("g1", "sales", "ann", "bob")], links=[link("g1", "sales", "ann", "bob", "cy")])
    assert guard_groups(one.actions, {"g1": 3}, 1, DeprovisionLimits(count=50, percent=10))[1] == ()


def test_mass_group_deletions_are_held_unless_approved() -> None:
    """Group deletions beyond the limits are all held; approved ones go ahead."""
    links = [link(f"g{i}", f"n{i}") for i in range(5)]
    p = plan([], links)
    limits = DeprovisionLimits(count=2, percent=None)
    kept, held = guard_groups(p.actions, {}, 5, limits)
    assert kept == () and len(held) == 5
    approved = {(a.anchor, a.kind) for a in p.actions}
    assert guard_groups(p.actions, {}, 5, limits, approved) == (tuple(p.actions), ())
