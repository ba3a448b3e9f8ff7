"""The planner: directory users + links + Webex matches + options -> the plan. Pure.

Planning runs in two steps so that a large directory streams through once:

1. ``assess`` walks the directory users, maps each one and decides everything that does not
   depend on Webex (updates, deprovisions, reactivations of linked users). It collects the
   unlinked users that should exist in Webex as *candidates*, whose e-mails the caller then
   looks up in Webex.
2. ``finish`` turns candidates into ``link`` or ``create`` actions given those Webex matches,
   applies the conflict rules and classifies linked users that were not read at all.

The rules are those of docs/lifecycle.md (a test runs each row of its table through this
planner); every branch is covered by tests/test_planner.py.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from webex_provisioner.model import (
    Action,
    ActionKind,
    DirectoryUser,
    Link,
    Plan,
    Problem,
    ProblemKind,
    Reason,
    WebexUser,
)
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.rules.lifecycle import (
    Candidate,
    PlanOptions,
    candidate_actions,
    diff,
    linked_actions,
    out_of_service,
)
from webex_provisioner.rules.managers import Deferred, followups
from webex_provisioner.rules.mapping import CompiledMapping, Desired, desired_user, pack

__all__ = ["Assessment", "Candidate", "PlanOptions", "assess", "diff", "finish"]


@dataclass
class Assessment:
    """What ``assess`` learned from one pass over the directory users."""

    actions: list[Action] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    """The linked anchors read (a full read classifies the linked anchors not among them)."""
    email_owners: dict[str, list[str]] = field(default_factory=dict)
    """E-mails wanted by more than one directory user (lower case) -> those users' anchors."""
    first_owner: dict[str, str] = field(default_factory=dict)
    """Each e-mail wanted (lower case) -> the anchor of the first directory user wanting it."""
    names: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    """The attribute name tuples the candidates' packed desired users share."""
    dn_changes: dict[str, str] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    """Protected users who want an e-mail: no one else may take it, and they are reported as
    protected, not as conflicts."""
    deferred: list[Deferred] = field(default_factory=list)
    desired_emails: dict[str, str] = field(default_factory=dict)
    """The desired e-mail of each deferred user (for its follow-up)."""
    users_read: int = 0

    @property
    def lookup_emails(self) -> list[str]:
        """The e-mails to look up in Webex before ``finish``."""
        return [c.desired["email"] for c in self.candidates]


def assess(
    users: Iterable[DirectoryUser],
    links: Mapping[str, Link],
    mapping: CompiledMapping,
    options: PlanOptions,
    *,
    now: datetime,
) -> Assessment:
    """Step 1: one pass over the directory users.

    A manager DN that is not linked yet may belong to a user this cycle provisions: such users
    are *deferred* (their manager is set in a second pass); if the manager is not provisioned
    by this cycle either, the user is reported and skipped.
    """
    manager_ids = (
        {normalize_dn(link.dn): link.webex_id for link in links.values() if link.dn}
        if "manager" in mapping.rules
        else {}
    )
    result = Assessment()
    pending_dns = _Unlinked(manager_ids)
    seen = result.seen
    for user in users:
        result.users_read += 1
        link = links.get(user.anchor)
        if link is not None:
            seen.add(link.anchor)  # the link's string: one copy of each anchor in memory
        wanted = user.in_scope and (not user.disabled or options.provision_disabled)
        if not wanted and link is None:
            continue
        desired = desired_user(user, mapping, manager_ids=manager_ids, pending_dns=pending_dns)
        if options.is_protected(user.anchor, desired.email or None, link.email if link else None):
            _protect(result, user, desired, wanted=wanted)
            continue
        if link is not None and link.dn != user.dn and normalize_dn(link.dn) != normalize_dn(user.dn):
            result.dn_changes[user.anchor] = user.dn
        # A linked user leaving service is deprovisioned even if its data no longer maps.
        if desired.problem is not None and (wanted or link is None):
            result.problems.append(
                Problem(ProblemKind.INVALID, user.anchor, user.dn, desired.email or None, desired.problem)
            )
            continue
        if desired.pending_manager is not None:
            result.deferred.append(Deferred(user, desired.pending_manager))
            result.desired_emails[user.anchor] = desired.email
        if wanted and desired.problem is None:
            if link is not None and link.email == desired.email:
                _own_email(result, link.email, link.anchor)  # strings already held by the link
            else:
                _own_email(result, desired.email, user.anchor)
        if link is None:
            result.candidates.append(
                Candidate(
                    user.anchor, user.dn, pack(desired.attributes, result.names), active=not user.disabled
                )
            )
        else:
            skip = _MANAGER if desired.pending_manager is not None else _NOTHING
            result.actions.extend(linked_actions(user, link, desired.attributes, options, now, skip=skip))
    manager_rule = mapping.rules.get("manager")
    _drop_unresolvable_managers(result, omit=manager_rule is not None and manager_rule.unresolved == "omit")
    return result


_MANAGER, _NOTHING = frozenset({"manager"}), frozenset[str]()


def _protect(result: Assessment, user: DirectoryUser, desired: Desired, *, wanted: bool) -> None:
    """A protected user is reported and left alone; the e-mail it wants stays its own."""
    result.problems.append(
        Problem(ProblemKind.PROTECTED, user.anchor, user.dn, desired.email or None, "on the protected list")
    )
    if wanted and desired.problem is None:
        _own_email(result, desired.email, user.anchor)
        result.protected.add(user.anchor)


def _own_email(result: Assessment, email: str, anchor: str) -> None:
    """Note that ``anchor`` wants ``email``; a second owner makes the e-mail a duplicate."""
    key = fold_email(email)
    if key == email:
        key = email  # keep one string per e-mail, not a lower-cased copy of each
    first = result.first_owner.setdefault(key, anchor)
    if first == anchor:
        return
    owners = result.email_owners.get(key)
    if owners is None:
        result.email_owners[key] = [first, anchor]
    else:
        owners.append(anchor)


class _Unlinked:
    """Any DN that has no link yet: its user may be provisioned in this cycle."""

    def __init__(self, linked: Mapping[str, str]) -> None:
        self._linked = linked

    def __contains__(self, dn: object) -> bool:
        return dn not in self._linked


def _drop_unresolvable_managers(result: Assessment, *, omit: bool) -> None:
    """Deferred users whose manager this cycle does not provision are reported and skipped
    (with ``unresolved: omit`` they go ahead without a manager)."""
    if not result.deferred:
        return
    provisioned = {normalize_dn(c.dn) for c in result.candidates}
    bad = {d.user.anchor: d for d in result.deferred if normalize_dn(d.manager_dn) not in provisioned}
    if not bad:
        return
    result.deferred = [d for d in result.deferred if d.user.anchor not in bad]
    if omit:
        return
    result.candidates = [c for c in result.candidates if c.anchor not in bad]
    result.actions = [a for a in result.actions if a.anchor not in bad]
    for anchor, item in bad.items():
        result.problems.append(
            Problem(
                ProblemKind.INVALID,
                anchor,
                item.user.dn,
                None,
                f"manager: {normalize_dn(item.manager_dn)} is not a provisioned Webex user; "
                "provision the manager first or put them in scope",
            )
        )
        for owners in result.email_owners.values():
            if anchor in owners:
                owners.remove(anchor)


_ORDER = {
    ActionKind.CREATE: 0,
    ActionKind.LINK: 0,
    ActionKind.REACTIVATE: 1,
    ActionKind.UPDATE: 1,
    ActionKind.DISABLE: 2,
    ActionKind.DELETE: 2,
}


def finish(
    assessment: Assessment,
    links: Mapping[str, Link],
    webex_by_email: Mapping[str, WebexUser],
    options: PlanOptions,
    *,
    now: datetime,
    complete: bool,
    lookup_failures: Mapping[str, str] | None = None,
    deleted: Collection[str] = (),
) -> Plan:
    """Step 2: candidates become links or creates, conflicts are dropped, unseen links classified.

    ``webex_by_email`` maps folded e-mails to Webex users; ``lookup_failures`` maps the folded
    e-mails whose lookup failed to the error (those users wait for the next cycle); ``complete``
    says whether the directory read covered the whole scope (only then are unseen linked users
    deleted ones); ``deleted`` names anchors an incremental read saw deleted (their linked users
    are deprovisioned like unseen ones of a complete read, unless also read).
    """
    problems = list(assessment.problems)
    conflicted = _shared_emails(assessment, problems)
    actions = [
        a
        for a in assessment.actions
        if a.anchor not in conflicted or a.kind.deprovisions or a.kind is ActionKind.REACTIVATE
    ]
    failures = lookup_failures or {}
    actions += _joining(assessment, conflicted, links, webex_by_email, failures, problems, options)
    actions += _unseen(assessment, links, options, now, problems, complete=complete, deleted=deleted)
    actions.sort(key=lambda a: _ORDER[a.kind])
    later = followups(assessment.deferred, links, actions, assessment.desired_emails)
    return Plan(
        actions=tuple(actions), problems=tuple(problems), users_read=assessment.users_read, followups=later
    )


def _shared_emails(assessment: Assessment, problems: list[Problem]) -> set[str]:
    """Report every directory user whose e-mail another one wants too; their anchors."""
    conflicted: set[str] = set()
    duplicates = {email for email, owners in assessment.email_owners.items() if len(owners) > 1}
    for email in sorted(duplicates):
        owners = assessment.email_owners[email]
        for anchor in owners:
            conflicted.add(anchor)
            if anchor in assessment.protected:
                continue
            others = ", ".join(a for a in owners if a != anchor)
            problems.append(
                Problem(
                    ProblemKind.CONFLICT,
                    anchor,
                    "",
                    email,
                    f"e-mail {email} is also the e-mail of directory user(s) {others}; "
                    "neither is provisioned until the directory has one owner per e-mail",
                )
            )
    return conflicted


def _joining(
    assessment: Assessment,
    conflicted: set[str],
    links: Mapping[str, Link],
    webex_by_email: Mapping[str, WebexUser],
    lookup_failures: Mapping[str, str],
    problems: list[Problem],
    options: PlanOptions,
) -> list[Action]:
    """The actions of the unlinked users who should exist in Webex: link to the Webex user with
    their e-mail (unless it is linked to someone else), or create."""
    linked_by_webex_id = {link.webex_id: link for link in links.values()}
    actions: list[Action] = []
    for candidate in assessment.candidates:
        if candidate.anchor in conflicted:
            continue
        email = candidate.desired["email"]
        failure = lookup_failures.get(fold_email(email))
        if failure is not None:
            problems.append(
                Problem(
                    ProblemKind.FAILED,
                    candidate.anchor,
                    candidate.dn,
                    email,
                    f"lookup in Webex failed: {failure}",
                )
            )
            continue
        match = webex_by_email.get(fold_email(email))
        owner = linked_by_webex_id.get(match.id) if match is not None else None
        if owner is not None and owner.anchor != candidate.anchor:
            problems.append(
                Problem(
                    ProblemKind.CONFLICT,
                    candidate.anchor,
                    candidate.dn,
                    email,
                    f"the Webex user with e-mail {email} is linked to another directory user "
                    f"(anchor {owner.anchor}, {owner.dn}); if the address was reused, run "
                    f"'webex-provisioner users forget {owner.anchor}' after checking",
                )
            )
            continue
        actions.extend(candidate_actions(candidate, match, options))
    return actions


def _unseen(
    assessment: Assessment,
    links: Mapping[str, Link],
    options: PlanOptions,
    now: datetime,
    problems: list[Problem],
    *,
    complete: bool,
    deleted: Collection[str],
) -> list[Action]:
    """Linked users a complete read did not see, or an incremental read saw deleted: deleted in
    the directory."""
    gone = set(deleted)
    if not (complete or gone):
        return []
    actions: list[Action] = []
    for anchor, link in links.items():
        if anchor in assessment.seen or not (complete or anchor in gone):
            continue
        if options.is_protected(anchor, link.email):
            problems.append(
                Problem(ProblemKind.PROTECTED, anchor, link.dn, link.email, "on the protected list")
            )
            continue
        actions.extend(out_of_service(link, options.on_deleted, Reason.DELETED_IN_DIRECTORY, options, now))
    return actions
