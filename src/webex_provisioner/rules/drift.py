"""Drift decisions (docs/drift.md). Pure: no I/O, no clock.

* **Compare** (``compare_user``). A linked, active user's managed attributes as Webex holds them
  are compared with what was applied (the link), in the form that ignores how Webex writes a
  value back (``comparable``: an e-mail's case, a phone number's punctuation, the order of a
  multi-valued attribute). Attributes the mapping does not manage, ``create_only`` ones and the
  photo are never compared.
* **Re-plan**. A user to repair is planned again by the planner, against a link that says what
  Webex holds (``as_webex_holds``: an ordinary update then sets the directory's values back), or
  without its link when its Webex user was deleted (it is looked up by e-mail and linked, or
  created, like any user joining Webex). ``merge_replanned`` puts those actions in place of the
  first ones and tags them with their drift reason; a deactivation to undo becomes a
  ``reactivate``.
* **Report**. What the settings say to report becomes a ``drift`` problem (``settle``), as do
  attribute changes while ``provisioning.update`` is off.
* **Groups**. A member this tool added to a pushed group and someone removed in Webex is added
  again, unless the plan takes it out of the group anyway (``group_repairs``).

Nothing here deprovisions anyone: drift only ever updates, reactivates, links or creates.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from webex_provisioner.model import (
    Action,
    ActionKind,
    DirectoryUser,
    GroupAction,
    Link,
    LinkState,
    Member,
    Plan,
    Problem,
    ProblemKind,
    Reason,
    WebexUser,
)
from webex_provisioner.model.drift import GroupDrift, UserDrift
from webex_provisioner.model.keys import fold_email
from webex_provisioner.model.users import read_once
from webex_provisioner.rules.lifecycle import PlanOptions
from webex_provisioner.rules.planner import Assessment

NEVER_COMPARED = frozenset({"avatar"})
"""Webex may serve a photo from an address of its own: the URL it gives back says nothing."""

_PHONES = frozenset({"workPhone", "mobilePhone", "extension"})
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
SHOWN_VALUE = 80
"""The most characters of a value a reported problem quotes."""


@dataclass(frozen=True, slots=True)
class DriftOptions:
    """What ``drift:`` says to do with each kind of difference."""

    attributes: str = "repair"
    deactivated: str = "report"
    deleted: str = "recreate"
    groups: str = "repair"


# -- comparing -------------------------------------------------------------------------------------


def compared_keys(options: PlanOptions) -> tuple[str, ...] | None:
    """The attributes a drift check compares: those the mapping manages, but the ``create_only``
    ones and the photo (``None``: the mapping is not known; each link's applied keys)."""
    if options.managed is None:
        return None
    return tuple(sorted(options.managed - options.create_only - NEVER_COMPARED))


def comparable(key: str, value: str | None) -> object:
    """``value`` in the form drift compares it in: blanks around dropped (empty is absent), an
    e-mail folded, a phone number without punctuation, the parts of a multi-valued attribute
    (written back joined by commas) in order."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if key == "email":
        return fold_email(text)
    if key in _PHONES:
        return _PHONE_PUNCTUATION.sub("", text)
    if key.startswith("extensionAttribute"):
        return tuple(sorted(part.strip() for part in text.split(",") if part.strip()))
    return text


def compare_user(link: Link, found: WebexUser | None, keys: Sequence[str] | None) -> UserDrift | None:
    """How the Webex user of an active ``link`` differs from what was applied (``found``:
    ``None`` when it is gone); ``None`` when it does not, or the link is not active (a
    deprovisioned user is not compared)."""
    if link.state is not LinkState.ACTIVE:
        return None
    if found is None:
        return UserDrift(link.anchor, link.webex_id, link.email, deleted=True)
    applied = read_once(link.applied)  # a store's lazily decoded attributes stay encoded
    names = keys if keys is not None else sorted(applied)
    held = found.attributes
    values = tuple(
        (key, value)
        for key in names
        if (value := held.get(key)) != (was := applied.get(key))
        and comparable(key, was) != comparable(key, value)
    )
    if not values and found.active:
        return None
    return UserDrift(link.anchor, link.webex_id, link.email, values, deactivated=not found.active)


def as_webex_holds(link: Link, drift: UserDrift) -> Link:
    """``link`` as if what Webex holds had been applied: the planner then plans the update that
    sets the directory's values back, showing Webex's as the old ones."""
    applied = dict(link.applied)
    for key, value in drift.values:
        if value is None:
            applied.pop(key, None)
        else:
            applied[key] = value
    return replace(link, applied=applied, fingerprint="")


# -- re-planning -----------------------------------------------------------------------------------


def repairs_attributes(options: DriftOptions, plan_options: PlanOptions) -> bool:
    """Attributes are set back only with ``attributes: repair`` and ``provisioning.update`` on."""
    return options.attributes == "repair" and plan_options.update


def to_replan(drifts: Mapping[str, UserDrift], options: DriftOptions, plan_options: PlanOptions) -> set[str]:
    """The drifted users the planner plans again: those with something to repair."""
    attributes = repairs_attributes(options, plan_options)
    return {
        anchor
        for anchor, drift in drifts.items()
        if (drift.values and attributes)
        or (drift.deleted and options.deleted == "recreate")
        or (drift.deactivated and options.deactivated == "reactivate")
    }


def planner_links(
    drifts: Mapping[str, UserDrift],
    links: Mapping[str, Link],
    anchors: Iterable[str],
    options: DriftOptions,
    plan_options: PlanOptions,
) -> tuple[dict[str, Link], set[str]]:
    """What the planner sees for the users planned again: links that say what Webex holds, and
    the anchors whose Webex user was deleted (planned as if unlinked)."""
    attributes = repairs_attributes(options, plan_options)
    replaced: dict[str, Link] = {}
    removed: set[str] = set()
    for anchor in anchors:
        drift = drifts[anchor]
        if drift.deleted:
            removed.add(anchor)
        elif drift.values and attributes:
            replaced[anchor] = as_webex_holds(links[anchor], drift)
    return replaced, removed


def merge_replanned(
    first: Assessment,
    again: Assessment,
    drifts: Mapping[str, UserDrift],
    users: Mapping[str, DirectoryUser],
    options: DriftOptions,
) -> None:
    """Put the actions (and candidates) ``again`` planned for the re-read ``users`` in place of
    those of ``first``. A user ``again`` has nothing for keeps its first actions (a deleted Webex
    user whose directory user is no longer wanted: its deprovision drops the link). Updates that
    set back drifted attributes are tagged ``drift_in_webex``; a deactivation to undo adds a
    ``reactivate`` (``deactivated_in_webex``) for a user the directory wants active."""
    candidates = {c.anchor: c for c in again.candidates if c.anchor in users}
    planned: dict[str, list[Action]] = {}
    for action in again.actions:
        if action.anchor in users:
            planned.setdefault(action.anchor, []).append(_tagged(action, drifts[action.anchor]))
    replaced = set(candidates) | set(planned)
    actions = [a for a in first.actions if a.anchor not in replaced]
    for anchor in replaced:
        actions.extend(planned.get(anchor, ()))
    if options.deactivated == "reactivate":
        actions = _with_reactivations(actions, drifts, users)
    first.actions = actions
    first.candidates.extend(candidates.values())


def _tagged(action: Action, drift: UserDrift) -> Action:
    if action.kind is ActionKind.UPDATE and any(c.attribute in drift.attributes for c in action.changes):
        return replace(action, reason=Reason.DRIFT_IN_WEBEX)
    return action


def _with_reactivations(
    actions: list[Action], drifts: Mapping[str, UserDrift], users: Mapping[str, DirectoryUser]
) -> list[Action]:
    """``actions`` with a ``reactivate`` before the other actions of each user deactivated in
    Webex whom the directory wants active (in scope, enabled) and nothing deprovisions."""
    busy = {a.anchor for a in actions if a.kind.deprovisions or a.kind is ActionKind.REACTIVATE}
    wanted = [
        anchor
        for anchor, drift in sorted(drifts.items())
        if drift.deactivated
        and anchor not in busy
        and (user := users.get(anchor)) is not None
        and user.in_scope
        and not user.disabled
    ]
    if not wanted:
        return actions
    front = [
        Action(
            ActionKind.REACTIVATE,
            Reason.DEACTIVATED_IN_WEBEX,
            anchor,
            drifts[anchor].email,
            users[anchor].dn,
            drifts[anchor].webex_id,
            detail="deactivated in Webex while active in the directory",
        )
        for anchor in wanted
    ]
    return [*front, *actions]


# -- settling the plan -----------------------------------------------------------------------------


def settle(
    plan: Plan,
    drifts: Mapping[str, UserDrift],
    links: Mapping[str, Link],
    options: DriftOptions,
    plan_options: PlanOptions,
) -> Plan:
    """The plan with the re-links and re-creations of deleted Webex users tagged
    ``deleted_in_webex``, and what is to be reported as ``drift`` problems (not for a user the
    plan deprovisions anyway)."""
    restored = {a for a, d in drifts.items() if d.deleted and options.deleted == "recreate"}
    joining = (Reason.ENTERED_SCOPE, Reason.MATCHED_EXISTING)
    actions = tuple(
        replace(a, reason=Reason.DELETED_IN_WEBEX) if a.anchor in restored and a.reason in joining else a
        for a in plan.actions
    )
    leaving = {a.anchor for a in (*actions, *plan.held) if a.kind.deprovisions}
    problems = [
        problem
        for anchor, drift in sorted(drifts.items())
        if anchor not in leaving and (problem := _reported(drift, links.get(anchor), options, plan_options))
    ]
    if actions == plan.actions and not problems:
        return plan
    return replace(plan, actions=actions, problems=(*plan.problems, *problems))


def _reported(
    drift: UserDrift, link: Link | None, options: DriftOptions, plan_options: PlanOptions
) -> Problem | None:
    parts = []
    if drift.deleted and options.deleted == "report":
        parts.append(
            f"its Webex user {drift.webex_id} was deleted in Webex; drift.deleted is report: "
            "'webex-provisioner users forget' it to have it linked or created again"
        )
    if drift.deactivated and options.deactivated == "report":
        parts.append(
            "deactivated in Webex while active in the directory; drift.deactivated is report: "
            "reactivate it in Control Hub if that was not intended"
        )
    if drift.values and not repairs_attributes(options, plan_options):
        why = "drift.attributes is report" if options.attributes == "report" else "provisioning.update is off"
        parts.append(f"changed in Webex: {describe_values(drift, link)}; {why}")
    if not parts:
        return None
    dn = link.dn if link is not None else ""
    return Problem(ProblemKind.DRIFT, drift.anchor, dn, drift.email, "; ".join(parts))


def describe_values(drift: UserDrift, link: Link | None) -> str:
    """``title is 'Lead' in Webex, 'Engineer' was applied; ...`` (values cut short)."""
    applied = link.applied if link is not None else {}
    return "; ".join(
        f"{key} is {_shown(value)} in Webex, {_shown(applied.get(key))} was applied"
        for key, value in drift.values
    )


def describe(drift: UserDrift, link: Link | None) -> str:
    """What drifted for one user, in one line (``users explain``, notifications)."""
    if drift.deleted:
        return f"{drift.email}: its Webex user {drift.webex_id} was deleted in Webex"
    parts = ["deactivated in Webex"] if drift.deactivated else []
    if drift.values:
        parts.append(describe_values(drift, link))
    return f"{drift.email}: {'; '.join(parts)}"


def _shown(value: str | None) -> str:
    if value is None:
        return "absent"
    return repr(value if len(value) <= SHOWN_VALUE else value[: SHOWN_VALUE - 1] + "…")


# -- groups ----------------------------------------------------------------------------------------


def group_repairs(
    drifts: Sequence[GroupDrift],
    plan: Plan,
    emails: Mapping[str, str],
    not_in_webex: Collection[str],
    *,
    repair: bool,
) -> tuple[list[GroupAction], list[Problem]]:
    """The members to add back to pushed groups (``repair``), or to report: the managed members
    someone removed in Webex, but those the plan removes or whose group it deletes or releases,
    users it deletes, and users not in Webex (``not_in_webex``: deleted there, not restored by
    this plan). ``emails`` are the linked users' e-mails by anchor."""
    group_actions = (*plan.groups, *plan.held_groups)
    ends = (ActionKind.DELETE_GROUP, ActionKind.RELEASE_GROUP)
    ending = {a.anchor for a in group_actions if a.kind in ends}
    removing = {
        (a.anchor, m.anchor) for a in group_actions if a.kind is ActionKind.REMOVE_MEMBERS for m in a.members
    }
    leaving = {a.anchor for a in plan.actions if a.kind is ActionKind.DELETE} | set(not_in_webex)
    actions: list[GroupAction] = []
    problems: list[Problem] = []
    for drift in drifts:
        if drift.anchor in ending:
            continue
        missing = sorted(
            m for m in drift.missing if m in emails and m not in leaving and (drift.anchor, m) not in removing
        )
        if not missing:
            continue
        members = tuple(Member(anchor, emails[anchor]) for anchor in missing)
        where = "the Webex group is gone" if drift.gone else "removed from the Webex group"
        if repair:
            detail = f"{len(members)} member(s) added by webex-provisioner {where}"
            actions.append(
                GroupAction(
                    ActionKind.ADD_MEMBERS,
                    Reason.DRIFT_IN_WEBEX,
                    drift.anchor,
                    drift.name,
                    drift.dn,
                    drift.webex_id,
                    members,
                    detail=detail,
                )
            )
        else:
            shown = ", ".join(m.email or m.anchor for m in members[:5])
            more = f" and {len(members) - 5} more" if len(members) > 5 else ""
            detail = (
                f"{len(members)} member(s) added by webex-provisioner: {where} ({shown}{more}); "
                "drift.groups is report"
            )
            problems.append(
                Problem(ProblemKind.DRIFT, drift.anchor, drift.dn, drift.name, detail, resource="group")
            )
    return actions, problems
