"""Planning Webex groups from the selected directory groups. Pure: no I/O, no clock.

Each selected directory group becomes one Webex group, linked by the group's anchor
(docs/groups.md):

* **Name.** The Webex ``displayName`` comes from ``groups.name`` (an attribute or a template). A
  group without one, with one longer than Webex takes, or sharing its name with another selected
  group is reported and left alone; a name on ``groups.protected`` is reported and never touched.
* **Link or create.** An unlinked group whose name matches an existing Webex group (case-
  insensitively) is linked to it, never created again; otherwise it is created with its members.
  A renamed or moved directory group renames the same Webex group.
* **Members.** The members are the users among the group's directory members (flattened through
  nested groups, as read) who are provisioned: linked, or joining Webex in this cycle. The link
  records the members this tool added; only those are ever removed, so a member added to the
  Webex group by anyone else stays. Members that are not provisioned users are counted
  (``skipped``), never added.
* **Gone.** A linked group no longer selected (deleted in the directory, or out of the selection)
  is deleted in Webex (``groups.on_deleted: delete``) or released: left as it is, no longer
  managed (``keep``).
* **Trust.** A selected group read with no members while this tool manages members of its Webex
  group is not trusted: nothing is removed from it, and it is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import jinja2

from webex_provisioner.model import (
    ActionKind,
    DirectoryGroup,
    GroupAction,
    GroupLink,
    Member,
    Problem,
    ProblemKind,
    Reason,
    WebexGroup,
)
from webex_provisioner.rules.mapping import MappingRule, finish_value, template_environment

MAX_GROUP_NAME = 256
"""The longest Webex group name this tool sends (Webex documents no limit for SCIM groups)."""


@dataclass(frozen=True, slots=True)
class GroupOptions:
    """The switches of ``groups:`` the planner obeys."""

    on_deleted: Literal["delete", "keep"] = "delete"
    protected: frozenset[str] = frozenset()
    """Folded Webex group names never touched."""


@dataclass(frozen=True, slots=True)
class NamedGroup:
    """A selected directory group with the Webex name its ``groups.name`` gives (``None``: it
    has no value for it)."""

    group: DirectoryGroup
    name: str | None


@dataclass
class GroupPlan:
    """Actions on Webex groups, and the groups (or members) left alone."""

    actions: list[GroupAction] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def group_names(groups: Iterable[DirectoryGroup], rule: MappingRule) -> list[NamedGroup]:
    """Each group with the Webex name ``rule`` (``groups.name``) gives it."""
    template = template_environment().from_string(rule.template) if rule.template else None
    return [NamedGroup(group, _name(group, rule, template)) for group in groups]


def _name(group: DirectoryGroup, rule: MappingRule, template: jinja2.Template | None) -> str | None:
    if rule.value is not None:
        value: str | None = rule.value
    elif rule.source is not None:
        value = group.first(rule.source)
    else:
        assert template is not None
        context = {name: group.first(name) or "" for name in rule.attributes()}
        try:
            value = template.render({**context, "dn": group.dn, "anchor": group.anchor})
        except jinja2.TemplateError:
            value = None
    return finish_value(value, rule) or finish_value(rule.default, rule)


def fold_name(name: str) -> str:
    """The form group names are compared in: surrounding blanks dropped, lower case."""
    return name.strip().lower()


def names_to_look_up(groups: Iterable[NamedGroup], links: Mapping[str, GroupLink]) -> list[str]:
    """The names of the unlinked selected groups: those to look up in Webex before planning."""
    return sorted({g.name for g in groups if g.name and g.group.anchor not in links})


def plan_groups(
    groups: Sequence[NamedGroup],
    links: Mapping[str, GroupLink],
    people: Mapping[str, Member],
    webex_by_name: Mapping[str, WebexGroup],
    options: GroupOptions,
    *,
    still_in_directory: frozenset[str] = frozenset(),
) -> GroupPlan:
    """Plan the Webex groups.

    ``people`` maps the normalized DNs of provisioned users (linked and staying, or joining in
    this cycle) to who they are; ``webex_by_name`` the folded names of existing Webex groups to
    them; ``still_in_directory`` the anchors of linked groups that are no longer selected but
    still exist in the directory (the others were deleted there).
    """
    plan = GroupPlan()
    usable = _usable(groups, links, options, plan.problems)
    linked_ids = {link.webex_id: link.anchor for link in links.values()}
    for named in usable:
        link = links.get(named.group.anchor)
        desired, skipped = _members(named.group, people)
        if link is None:
            plan.actions += _join(named, desired, skipped, webex_by_name, linked_ids, plan.problems)
        else:
            plan.actions += _follow(named, link, desired, skipped, plan.problems)
    selected = {g.group.anchor for g in groups}
    for anchor, link in sorted(links.items()):
        if anchor not in selected:
            plan.actions += _gone(link, options, deleted=anchor not in still_in_directory)
    plan.actions.sort(key=lambda a: _ORDER[a.kind])
    return plan


_ORDER = {
    ActionKind.CREATE_GROUP: 0,
    ActionKind.LINK_GROUP: 0,
    ActionKind.RENAME_GROUP: 1,
    ActionKind.ADD_MEMBERS: 2,
    ActionKind.REMOVE_MEMBERS: 3,
    ActionKind.DELETE_GROUP: 4,
    ActionKind.RELEASE_GROUP: 4,
}


def _usable(
    groups: Sequence[NamedGroup],
    links: Mapping[str, GroupLink],
    options: GroupOptions,
    problems: list[Problem],
) -> list[NamedGroup]:
    """The groups that can be planned; the others are reported (no name, too long, a shared
    name, protected, a membership cycle noted)."""
    owners: dict[str, list[NamedGroup]] = {}
    for named in groups:
        group = named.group
        for cycle in group.cycles:
            problems.append(_problem(ProblemKind.INVALID, group, named.name, f"membership cycle {cycle}"))
        if named.name is None:
            problems.append(_problem(ProblemKind.INVALID, group, None, "no value for the Webex group name"))
        elif len(named.name) > MAX_GROUP_NAME:
            detail = f"name is {len(named.name)} characters, at most {MAX_GROUP_NAME} are sent to Webex"
            problems.append(_problem(ProblemKind.INVALID, group, named.name, detail))
        elif fold_name(named.name) in options.protected or _protected_link(links.get(group.anchor), options):
            problems.append(_problem(ProblemKind.PROTECTED, group, named.name, "on groups.protected"))
        else:
            owners.setdefault(fold_name(named.name), []).append(named)
    usable: list[NamedGroup] = []
    for name, sharing in sorted(owners.items()):
        if len(sharing) == 1:
            usable += sharing
            continue
        dns = ", ".join(n.group.dn for n in sharing)
        for named in sharing:
            detail = f"the name {name!r} is also the name of {dns}; give each pushed group its own name"
            problems.append(_problem(ProblemKind.CONFLICT, named.group, named.name, detail))
    return usable


def _protected_link(link: GroupLink | None, options: GroupOptions) -> bool:
    return link is not None and fold_name(link.name) in options.protected


def _members(group: DirectoryGroup, people: Mapping[str, Member]) -> tuple[dict[str, Member], int]:
    """The provisioned users among the group's members (by anchor), and how many are not."""
    desired: dict[str, Member] = {}
    skipped = 0
    for dn in group.members:
        member = people.get(dn)
        if member is None:
            skipped += 1
        else:
            desired[member.anchor] = member
    return desired, skipped


def _join(
    named: NamedGroup,
    desired: Mapping[str, Member],
    skipped: int,
    webex_by_name: Mapping[str, WebexGroup],
    linked_ids: Mapping[str, str],
    problems: list[Problem],
) -> list[GroupAction]:
    """An unlinked group: link it to the Webex group of its name, or create it."""
    group, name = named.group, named.name
    assert name is not None
    members = tuple(sorted(desired.values(), key=lambda m: m.anchor))
    match = webex_by_name.get(fold_name(name))
    if match is None:
        return [_action(ActionKind.CREATE_GROUP, Reason.GROUP_SELECTED, group, name, None, members, skipped)]
    owner = linked_ids.get(match.id)
    if owner is not None:
        detail = (
            f"the Webex group {name!r} ({match.id}) is linked to the directory group with anchor {owner}; "
            "rename one of them, or run 'webex-provisioner groups forget' on the other"
        )
        problems.append(_problem(ProblemKind.CONFLICT, group, name, detail))
        return []
    link = _action(ActionKind.LINK_GROUP, Reason.MATCHED_EXISTING, group, name, match.id, (), skipped)
    if not members:
        return [link]
    return [link, _action(ActionKind.ADD_MEMBERS, Reason.JOINED_GROUP, group, name, match.id, members, 0)]


def _follow(
    named: NamedGroup,
    link: GroupLink,
    desired: Mapping[str, Member],
    skipped: int,
    problems: list[Problem],
) -> list[GroupAction]:
    """A linked group: rename it, add who joined, remove who left (of those this tool added)."""
    group, name = named.group, named.name
    assert name is not None
    actions: list[GroupAction] = []
    if name != link.name:
        rename = _action(
            ActionKind.RENAME_GROUP, Reason.RENAMED_IN_DIRECTORY, group, name, link.webex_id, (), 0
        )
        actions.append(replace(rename, old_name=link.name))
    joined = tuple(sorted((m for a, m in desired.items() if a not in link.members), key=lambda m: m.anchor))
    if joined:
        actions.append(
            _action(ActionKind.ADD_MEMBERS, Reason.JOINED_GROUP, group, name, link.webex_id, joined, skipped)
        )
    left = sorted(link.members - desired.keys())
    if left and not group.members:
        detail = (
            f"read with no members while {len(link.members)} member(s) added by webex-provisioner are in "
            "its Webex group; nobody was removed. Check directory.member_attributes and the bind "
            "account's read rights"
        )
        problems.append(_problem(ProblemKind.FAILED, group, name, detail))
    elif left:
        gone = tuple(Member(anchor, "") for anchor in left)
        actions.append(
            _action(ActionKind.REMOVE_MEMBERS, Reason.LEFT_GROUP, group, name, link.webex_id, gone, 0)
        )
    return actions


def _gone(link: GroupLink, options: GroupOptions, *, deleted: bool) -> list[GroupAction]:
    """A linked group no longer selected: delete its Webex group, or release it."""
    if fold_name(link.name) in options.protected:
        return []
    reason = Reason.DELETED_IN_DIRECTORY if deleted else Reason.LEFT_SELECTION
    kind = ActionKind.DELETE_GROUP if options.on_deleted == "delete" else ActionKind.RELEASE_GROUP
    return [GroupAction(kind, reason, link.anchor, link.name, link.dn, link.webex_id)]


def _action(
    kind: ActionKind,
    reason: Reason,
    group: DirectoryGroup,
    name: str,
    webex_id: str | None,
    members: tuple[Member, ...],
    skipped: int,
) -> GroupAction:
    return GroupAction(kind, reason, group.anchor, name, group.dn, webex_id, members, skipped=skipped)


def _problem(kind: ProblemKind, group: DirectoryGroup, name: str | None, detail: str) -> Problem:
    return Problem(kind, group.anchor, group.dn, name, detail, resource="group")
