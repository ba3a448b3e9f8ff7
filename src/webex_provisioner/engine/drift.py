"""The drift phase of a cycle (docs/drift.md): what Webex holds is compared with what was applied,
and the differences become repairs or reported problems (``rules.drift`` decides which).

``Cycle`` calls it in a few places: ``check`` as the read ends (a full cycle starts listing Webex
in a thread of its own, overlapped with the directory read and the planning), ``replan`` once the
directory users are assessed (the drifted users are read again from the directory and planned
against what Webex holds), ``settle`` once the plan is finished (tags, reported problems, the
guard of re-creations and reactivations), ``groups`` once the groups are planned (members added
back). A third kind of drift (licences) plugs in next to ``groups``: read in the listing thread,
decided by a rule, added to the plan here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.group_cycle import GroupsPlanned
from webex_provisioner.engine.inputs import CycleInput
from webex_provisioner.engine.report import CycleReport, action_status
from webex_provisioner.engine.webex_snapshot import WebexListing, read_linked
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import (
    ActionKind,
    AnyAction,
    CycleKind,
    DirectoryUser,
    GroupAction,
    GroupLink,
    LicenseAction,
    Link,
    Plan,
    Problem,
    ProblemKind,
    Reason,
)
from webex_provisioner.model.actions import DRIFT_REASONS
from webex_provisioner.model.drift import DriftFindings, DriftKind, UserDrift
from webex_provisioner.ports import DirectorySource, StateStore, WebexClient, WebexGroups
from webex_provisioner.rules.drift import (
    DriftOptions,
    compared_keys,
    group_repairs,
    merge_replanned,
    planner_links,
    settle,
    to_replan,
)
from webex_provisioner.rules.mapping import CompiledMapping
from webex_provisioner.rules.planner import Assessment, PlanOptions, assess
from webex_provisioner.rules.safety import DeprovisionLimits, guard_restorations, restores

log = structlog.get_logger("webex_provisioner.engine.drift")

REREAD_ONE_BY_ONE = 100
"""Drifted users read again one search each; more are picked out of one more full read."""


class DriftPhase:
    """The drift check of ``drift:`` for one set of ports; ``check`` starts it for one cycle."""

    def __init__(
        self,
        config: Config,
        directory: DirectorySource,
        webex: WebexClient,
        store: StateStore,
        mapping: CompiledMapping,
        options: PlanOptions,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.directory = directory
        self.webex = webex
        self.store = store
        self.mapping = mapping
        self.options = options
        self.clock = clock
        drift = config.drift
        self.enabled = drift is not None and drift.enabled
        self.drift_options = DriftOptions(
            attributes=drift.attributes if drift else "report",
            deactivated=drift.deactivated if drift else "report",
            deleted=drift.deleted if drift else "report",
            groups=drift.groups if drift else "report",
        )
        self.keys = compared_keys(options)
        self._listing: WebexListing | None = None

    def check(self, inputs: CycleInput, report: CycleReport) -> DriftRun:
        """The drift check of one cycle; a full one starts listing Webex now (``stop`` ends the
        listing if the cycle ends before it is used)."""
        if not self.enabled:
            return DriftRun(self, inputs, report, None, None)
        if inputs.kind is CycleKind.FULL:
            self._listing = WebexListing(
                self.webex, inputs.links, self.keys, *self._pushed_groups(), store=self.store
            )
            self._listing.start()
            return DriftRun(self, inputs, report, self._listing, None)
        if inputs.kind is CycleKind.USER:
            return DriftRun(self, inputs, report, None, list(inputs.links.values()))
        waiting = {a.anchor for a in self.store.held() if a.reason in DRIFT_REASONS}
        linked = [link for anchor, link in inputs.links.items() if anchor in waiting]
        return DriftRun(self, inputs, report, None, linked or None)

    def stop(self) -> None:
        """Stop the listing of the last check, if it still runs (its cycle ended early)."""
        if self._listing is not None:
            self._listing.stop()
            self._listing = None

    def _pushed_groups(self) -> tuple[list[GroupLink], WebexGroups | None]:
        if self.config.groups is None or not isinstance(self.webex, WebexGroups):
            return [], None
        return list(self.store.group_links()), self.webex


class DriftRun:
    """One cycle's drift check, from the listing (or the few reads) to the plan's repairs.

    Where a third kind of drift plugs in (licences): its Webex side is read by ``WebexListing``
    after the groups (into ``DriftFindings``), its decisions are a rule of ``rules.drift``, and
    a step like ``groups`` adds its repairs (or problems) to what its phase planned."""

    def __init__(
        self,
        phase: DriftPhase,
        inputs: CycleInput,
        report: CycleReport,
        listing: WebexListing | None,
        linked: list[Link] | None,
    ) -> None:
        self._phase = phase
        self._inputs = inputs
        self._report = report
        self._listing = listing
        self._linked = linked
        self._drifts: dict[str, UserDrift] = {}

    @property
    def active(self) -> bool:
        return self._listing is not None or self._linked is not None

    # -- the steps --------------------------------------------------------------------------------

    def replan(self, assessment: Assessment) -> Assessment:
        """Wait for the check, then plan the drifted users to repair again (in ``assessment``)."""
        if not self.active:
            return assessment
        phase = self._phase
        found = self._listing.findings() if self._listing is not None else self._read_linked()
        found.users = {a: d for a, d in found.users.items() if not phase.options.is_protected(a, d.email)}
        self._report.drift = found
        if found.error is not None:
            log.warning("drift.not_checked", cycle=self._report.cycle_id, error=found.error)
            return assessment
        self._drifts = found.users
        log.info(
            "drift.checked",
            cycle=self._report.cycle_id,
            webex_users=found.webex_users,
            orphans=found.orphans,
            **{kind.value: n for kind, n in sorted(found.found().items())},
        )
        anchors = to_replan(self._drifts, phase.drift_options, phase.options)
        if not anchors:
            return assessment
        try:
            users = self._reread(anchors)
        except ProvisionerError as exc:
            found.error = f"reading the drifted users again failed: {exc.message}; nothing is repaired"
            log.warning("drift.not_repaired", cycle=self._report.cycle_id, error=found.error)
            return assessment
        replaced, removed = planner_links(
            self._drifts, self._inputs.links, users, phase.drift_options, phase.options
        )
        view = LinkOverlay(self._inputs.links, replaced, removed)
        again = assess(users.values(), view, phase.mapping, phase.options, now=phase.clock())
        merge_replanned(assessment, again, self._drifts, users, phase.drift_options)
        return assessment

    def settle(self, plan: Plan, approved: set[tuple[str, ActionKind]]) -> Plan:
        """Tag the restorations, add the reported drift, hold restorations beyond the limits."""
        if not self.active:
            return plan
        phase = self._phase
        found = self._report.drift
        if found is not None and found.error is not None and self._inputs.kind is CycleKind.FULL:
            earlier = tuple(p for p in phase.store.open_problems() if p.kind is ProblemKind.DRIFT)
            return replace(plan, problems=(*plan.problems, *(p for p in earlier if p.resource == "user")))
        plan = settle(plan, self._drifts, self._inputs.links, phase.drift_options, phase.options)
        if not any(restores(a) for a in plan.actions):
            return plan
        count = self._inputs.link_count
        limit = phase.config.safety.max_deprovisions
        return guard_restorations(
            plan,
            approved,
            count if count is not None else phase.store.count_links(),
            DeprovisionLimits(limit.count, limit.percent),
        )

    def groups(self, planned: GroupsPlanned | None) -> GroupsPlanned | None:
        """Add back to pushed groups the members someone removed in Webex (or report them)."""
        found = self._report.drift
        if planned is None or not self.active:
            return planned
        plan = planned.plan
        if found is None or not found.groups_checked:
            planned.plan = replace(plan, problems=(*plan.problems, *self._earlier_group_drift(plan)))
            return planned
        links = self._inputs.links
        emails = {m: links[m].email for g in found.groups for m in g.missing if m in links}
        restored = {a.anchor for a in plan.actions if a.kind in (ActionKind.CREATE, ActionKind.LINK)}
        gone = {a for a, d in self._drifts.items() if d.deleted} - restored
        actions, problems = group_repairs(
            found.groups, plan, emails, gone, repair=self._phase.drift_options.groups == "repair"
        )
        kept = [p for p in plan.problems if not (p.resource == "group" and p.kind is ProblemKind.DRIFT)]
        pushed = {g.anchor: g for g in self._phase.store.group_links()} if actions else {}
        for action in actions:
            planned.links.setdefault(action.anchor, pushed[action.anchor])
        planned.plan = replace(plan, groups=(*plan.groups, *actions), problems=(*kept, *problems))
        return planned

    def keep_verified(self) -> None:
        """Save what this cycle's full check verified (in place of what the last one did), for
        the next check to skip (a cycle that applies its plan only: ``plan`` writes nothing).
        Failing to is logged: the next check then compares those users again."""
        found = self._report.drift
        if found is None or found.error is not None or self._listing is None:
            return  # only a full check saw every user
        if not found.verified_changed:
            return  # what the last check kept: nothing to write
        try:
            self._phase.store.save_verified(found.verified)
        except ProvisionerError as exc:
            log.warning("drift.verified_not_saved", cycle=self._report.cycle_id, error=exc.message)

    # -- helpers ----------------------------------------------------------------------------------

    def _read_linked(self) -> DriftFindings:
        assert self._linked is not None
        return read_linked(self._phase.webex, self._linked, self._phase.keys)

    def _reread(self, anchors: set[str]) -> dict[str, DirectoryUser]:
        """The directory users of ``anchors`` (those still there)."""
        directory = self._phase.directory
        if len(anchors) <= REREAD_ONE_BY_ONE:
            found = {anchor: directory.find_user(anchor) for anchor in sorted(anchors)}
            return {anchor: user for anchor, user in found.items() if user is not None}
        stream = directory.read_users()
        try:
            return {user.anchor: user for user in stream if user.anchor in anchors}
        finally:
            stream.close()

    def _earlier_group_drift(self, plan: Plan) -> list[Problem]:
        """The groups' drift reported before, when this cycle could not judge it (not listed
        again if the groups phase already carried it)."""
        there = {(p.anchor, p.kind, p.resource) for p in plan.problems}
        return [
            p
            for p in self._phase.store.open_problems()
            if p.resource == "group"
            and p.kind is ProblemKind.DRIFT
            and (p.anchor, p.kind, p.resource) not in there
        ]


class LinkOverlay(Mapping[str, Link]):
    """The links as the planner sees them for the users planned again: ``replaced`` ones instead
    of those of ``base``, and the ``removed`` anchors left out."""

    def __init__(self, base: Mapping[str, Link], replaced: Mapping[str, Link], removed: set[str]) -> None:
        self._base = base
        self._replaced = replaced
        self._removed = removed

    def __getitem__(self, anchor: str) -> Link:
        if anchor in self._removed:
            raise KeyError(anchor)
        return self._replaced.get(anchor) or self._base[anchor]

    def __iter__(self) -> Iterator[str]:
        return (anchor for anchor in self._base if anchor not in self._removed)

    def __len__(self) -> int:
        return len(self._base) - sum(1 for anchor in self._removed if anchor in self._base)


# -- what the operator tools show ------------------------------------------------------------------


def drift_kind(action: AnyAction) -> DriftKind | None:
    """The kind of drift an action repairs (``None``: not a repair)."""
    if action.reason is Reason.DEACTIVATED_IN_WEBEX:
        return DriftKind.DEACTIVATED
    if action.reason is Reason.DELETED_IN_WEBEX and action.kind in (ActionKind.CREATE, ActionKind.LINK):
        return DriftKind.DELETED
    if action.reason is Reason.DRIFT_IN_WEBEX:
        if isinstance(action, LicenseAction):
            return DriftKind.LICENSES
        return DriftKind.GROUPS if isinstance(action, GroupAction) else DriftKind.ATTRIBUTES
    return None


def repaired(report: CycleReport) -> Counter[DriftKind]:
    """How many repairs of each kind of drift ``report``'s cycle applied."""
    if report.applied is None or report.interrupted:
        return Counter()
    status = action_status(report)
    counts: Counter[DriftKind] = Counter()
    plan = report.plan
    actions: list[AnyAction] = [*plan.all_actions, *plan.groups, *plan.licenses]
    for action in actions:
        kind = drift_kind(action)
        if kind is not None and status(action)[0] == "applied":
            counts[kind] += 1
    return counts


def drift_lines(report: CycleReport) -> list[str] | None:
    """The drift left for an operator after the cycle (reported, not repaired), one line per user
    or group; ``None`` when the cycle did not judge drift (no check, or one that concluded
    nothing). What was repaired needs nobody."""
    found = report.drift
    if found is None or found.error is not None:
        return None
    problems = report.plan.problems
    return [f"{p.email or p.dn or p.anchor}: {p.detail}" for p in problems if p.kind is ProblemKind.DRIFT]
