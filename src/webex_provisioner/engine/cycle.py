"""One cycle: read -> plan -> apply -> record (docs/architecture.md, "One cycle").

``Cycle.run`` chains the pure steps of ``rules`` (mapping, planner, guards) with the ports. With
``apply=False`` it is the dry run behind ``plan``: it reads the directory, the links and Webex,
and writes nothing anywhere. The plan it computes is exactly what ``sync`` applies, follow-ups
included.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol, TypeVar

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.bookkeeping import (
    StoredWatermark,
    approved_held,
    carry_open_problems,
    save_retries,
)
from webex_provisioner.engine.drift import DriftPhase
from webex_provisioner.engine.executor import ApplyResult, Executor, user_sender
from webex_provisioner.engine.group_cycle import GroupsPlanned, group_phase
from webex_provisioner.engine.inputs import CycleInput, feed_input, full_read, one_user, owners_of
from webex_provisioner.engine.license_cycle import LicensesPlanned, SeenUsers, license_phase
from webex_provisioner.engine.matching import match_in_webex
from webex_provisioner.engine.memory import spaced_collections
from webex_provisioner.engine.report import CycleReport, Phase, utc_now
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import (
    Action,
    ActionKind,
    AuditEntry,
    CycleKind,
    CycleRecord,
    Link,
    Outcome,
    Plan,
    ProblemKind,
)
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import ChangeFeed, DirectorySource, Record, StateStore, WebexClient
from webex_provisioner.rules.managers import resolve
from webex_provisioner.rules.mapping import CompiledMapping, compile_mapping, create_only_keys
from webex_provisioner.rules.planner import Assessment, PlanOptions, assess, finish
from webex_provisioner.rules.safety import (
    GUARD_WINDOW,
    DeprovisionLimits,
    check_directory_health,
    guard_with_approvals,
    remaining_limits,
)

log = structlog.get_logger("webex_provisioner.engine.cycle")

HELD_DETAIL = (
    "held by the deprovision guard; review with 'webex-provisioner plan' and apply "
    "with 'webex-provisioner sync --approve-held'"
)


BULK_AUTO_FROM = 100
"""With ``webex.bulk: auto``, a cycle with this many creates or more sends them in Bulk requests."""


def uses_bulk(setting: bool | str, creates: int) -> bool:
    """Whether creates go in Bulk requests (``webex.bulk``: true, false, or auto)."""
    return setting is True or (setting == "auto" and creates >= BULK_AUTO_FROM)


def plan_options(config: Config, mapping: CompiledMapping) -> PlanOptions:
    """The planner's switches, from ``provisioning:`` and the mapping."""
    p = config.provisioning
    return PlanOptions(
        create=p.create,
        update=p.update,
        deprovision=p.deprovision,
        provision_disabled=p.provision_disabled,
        on_deleted=p.on_deleted,
        on_disabled=p.on_disabled,
        on_left_scope=p.on_left_scope,
        protected=frozenset(fold_email(x) for x in p.protected),
        delete_after=p.delete_after,
        create_only=create_only_keys(mapping),
        managed=frozenset(mapping.rules) | {"externalId"},
    )


P_contra = TypeVar("P_contra", contravariant=True)
T = TypeVar("T")


class ResourcePhase(Protocol[P_contra]):
    """What the cycle needs of a resource beside users (groups, licences): applying its plan."""

    def apply(
        self,
        planned: P_contra,
        *,
        cycle_id: str,
        concurrency: int,
        on_records: Callable[[Sequence[Record]], None] | None,
        should_stop: Callable[[], bool],
    ) -> ApplyResult | None: ...


class Cycle:
    """Runs cycles against one set of ports, under one configuration.

    For a live view: ``phase`` is told of each phase as it starts; ``progress(total, done)``,
    called as an apply starts, returns what is told of each batch of outcomes (done, failed).
    """

    def __init__(
        self,
        config: Config,
        *,
        directory: DirectorySource,
        webex: WebexClient,
        store: StateStore,
        clock: Callable[[], datetime] = utc_now,
        on_records: Callable[[Sequence[Record]], None] | None = None,
        progress: Callable[[int, int], Callable[[int, int], None]] | None = None,
        phase: Callable[[Phase], None] | None = None,
    ) -> None:
        self._config = config
        self._directory = directory
        self._webex = webex
        self._store = store
        self._clock = clock
        self._on_records = on_records
        self._progress = progress
        self._phase = phase or (lambda _phase: None)
        self._mapping = compile_mapping(config.mapping)
        self._options = plan_options(config, self._mapping)
        self._recent_deprovisions: deque[datetime] = deque()
        self._should_stop: Callable[[], bool] = lambda: False
        self._groups = group_phase(config, directory, webex, store, clock=clock)
        self._licenses = license_phase(config, webex, store, clock=clock)
        self._drift = DriftPhase(config, directory, webex, store, self._mapping, self._options, clock=clock)

    # -- public --------------------------------------------------------------------------

    def record_failure(self, error: ProvisionerError) -> CycleReport:
        """Record a cycle that failed before it could start (e.g. its change feed could not be
        opened), so that ``status`` and the metrics show it like any failed cycle."""
        report = self._new_report(CycleKind.FULL, dry_run=False)
        report.error, report.failure, report.finished_at = error.message, error, report.started_at
        self._store.start_cycle(CycleRecord(report.cycle_id, report.kind, report.started_at))
        self._finish_record(report)
        log.error("cycle failed", cycle=report.cycle_id, kind=report.kind.value, error=error.message)
        return report

    def run(
        self,
        *,
        apply: bool,
        user: str | None = None,
        approve_held: bool = False,
        discard_held: bool = False,
        feed: ChangeFeed | None = None,
        full: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> CycleReport:
        """One cycle (a dry run unless ``apply``).

        With a change ``feed`` (and no ``user``), the cycle is incremental once the feed's
        watermark is stored, and full otherwise or with ``full``; a full one stores the feed's
        watermark (taken before reading) once its actions are applied and recorded, an
        incremental one the new watermark. ``should_stop`` is asked while applying: once it says
        yes, the cycle ends after the actions in flight, reported interrupted.
        """
        self._should_stop = should_stop or (lambda: False)
        stored = StoredWatermark(self._store, feed, self._config) if feed and apply and not user else None
        since = stored.load() if stored is not None and not full else None
        kind = CycleKind.USER if user else CycleKind.INCREMENTAL if since is not None else CycleKind.FULL
        report = self._new_report(kind, dry_run=not apply)
        with spaced_collections():
            if kind is CycleKind.FULL:
                self._directory.prepare_read(self._store.count_links())
            if apply:
                self._store.start_cycle(CycleRecord(report.cycle_id, kind, report.started_at))
            try:
                if apply and discard_held:
                    self._store.hold([], report.cycle_id)
                    self._store.hold_licenses([], report.cycle_id)
                inputs = self._read(feed if stored is not None else None, since, user, report)
                self._run(report, inputs, apply=apply, approve_held=approve_held)
                if apply:
                    self._phase(Phase.RECORD)
                if (
                    stored is not None
                    and inputs.watermark is not None
                    and report.applied
                    and not report.interrupted
                ):
                    stored.save(inputs.watermark)
                    save_retries(self._store, report.plan, (a.anchor for a, _ in report.applied.failures))
            except ProvisionerError as exc:
                report.error, report.failure = exc.message, exc
                log.error("cycle failed", cycle=report.cycle_id, kind=report.kind.value, error=exc.message)
            finally:
                self._drift.stop()  # a cycle that failed while Webex was listed
                report.finished_at = self._clock()
                if apply:
                    self._finish_record(report)
        return report

    # -- steps ---------------------------------------------------------------------------

    def _new_report(self, kind: CycleKind, *, dry_run: bool) -> CycleReport:
        now = self._clock()
        return CycleReport(f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", kind, now, dry_run)

    def _finish_record(self, report: CycleReport) -> None:
        assert report.finished_at is not None
        self._store.finish_cycle(
            CycleRecord(
                report.cycle_id,
                report.kind,
                report.started_at,
                report.finished_at,
                report.outcome,
                report.counts(),
                report.error or "",
            )
        )

    def _read(
        self, feed: ChangeFeed | None, since: str | None, user: str | None, report: CycleReport
    ) -> CycleInput:
        self._phase(Phase.READ)
        if user:
            return one_user(self._directory, self._store, user)
        if feed is not None:
            inputs = feed_input(feed, since, self._directory, self._store, report.add_directory_time)
            report.kind = inputs.kind  # a feed that cannot answer incrementally answers in full
            return inputs
        return full_read(self._directory, self._store, report.add_directory_time)

    def _run(self, report: CycleReport, inputs: CycleInput, *, apply: bool, approve_held: bool) -> None:
        drift = self._drift.check(inputs, report)  # a full cycle lists Webex meanwhile (docs/drift.md)
        seen = SeenUsers()
        users = seen.watch(inputs.users) if self._licenses is not None else inputs.users
        try:
            assessment = assess(users, inputs.links, self._mapping, self._options, now=self._clock())
        finally:
            inputs.close()
        if inputs.kind is not CycleKind.USER and inputs.link_count is not None:
            directory = self._config.directory
            check_directory_health(
                assessment.users_read, inputs.link_count, self._config.safety.min_users, directory.base_dn
            )
        assessment = drift.replan(assessment)
        approved = approved_held(self._store, everything=approve_held, apply=apply)
        plan = drift.settle(self._guard(self._finish(assessment, inputs), inputs, approved), approved)
        groups = drift.groups(self._plan_groups(plan, inputs, assessment, approved))
        plan = groups.plan if groups is not None else plan
        licenses = self._plan_licenses(plan, inputs, seen, approved)
        plan = report.plan = licenses.plan if licenses is not None else plan
        if licenses is not None and report.drift is not None:
            report.drift.licenses = licenses.drift_found
        log.info(
            "plan computed",
            cycle=report.cycle_id,
            users_read=plan.users_read,
            groups_read=plan.groups_read,
            links=len(inputs.links),
            actions=len(plan.actions) + len(plan.followups) + len(plan.groups) + len(plan.licenses),
            held=len(plan.held) + len(plan.held_groups) + len(plan.held_licenses),
            problems=len(plan.problems),
            **plan.counts(),
        )
        if apply:
            self._apply_plan(report, assessment, inputs, groups)
            if licenses is not None and not report.interrupted:
                self._apply_licenses(report, licenses)
            drift.keep_verified()

    def _plan_groups(
        self, plan: Plan, inputs: CycleInput, assessment: Assessment, approved: set[tuple[str, ActionKind]]
    ) -> GroupsPlanned | None:
        """The groups phase's plan (not for one user: its groups follow in the next cycle)."""
        if self._groups is None or inputs.kind is CycleKind.USER:
            return None
        links = inputs.links if inputs.link_count is not None else None
        return self._groups.plan(plan, links, assessment.dn_changes, approved)

    def _plan_licenses(
        self, plan: Plan, inputs: CycleInput, seen: SeenUsers, approved: set[tuple[str, ActionKind]]
    ) -> LicensesPlanned | None:
        """The licences phase's plan for the users this cycle read (every linked user in a
        full cycle)."""
        if self._licenses is None:
            return None
        self._phase(Phase.LICENSES)
        full = inputs.kind is CycleKind.FULL and inputs.complete
        return self._licenses.plan(plan, seen, inputs.links, full=full, approved=approved)

    def _finish(self, assessment: Assessment, inputs: CycleInput) -> Plan:
        """Look the candidates up in Webex, then finish the plan. An incremental cycle read only
        some links: those of the Webex users found are added, so that a match linked to someone
        else is seen as a conflict."""
        self._phase(Phase.LOOKUP)
        matches, failures = match_in_webex(
            self._webex, assessment.lookup_emails, concurrency=self._config.webex.concurrency
        )
        links = inputs.links
        if inputs.incremental and matches:
            links.update(owners_of(self._store, (m.id for m in matches.values()), links))
        return finish(
            assessment,
            links,
            matches,
            self._options,
            now=self._clock(),
            complete=inputs.complete,
            lookup_failures=failures,
            deleted=inputs.deleted,
        )

    def _guard(self, plan: Plan, inputs: CycleInput, approved: set[tuple[str, ActionKind]]) -> Plan:
        """Hold the deprovisions beyond ``safety.max_deprovisions`` (except approved ones).
        Incremental cycles share the limits over a window, and count the links only when
        something would deprovision."""
        limit = self._config.safety.max_deprovisions
        limits = DeprovisionLimits(limit.count, limit.percent)
        link_count = inputs.link_count
        if link_count is None:
            link_count = self._store.count_links() if any(a.kind.deprovisions for a in plan.actions) else 0
            limits = remaining_limits(limits, link_count, self._recent_deprovisions, self._clock())
        return guard_with_approvals(plan, approved, link_count, limits)

    def _apply_plan(
        self, report: CycleReport, assessment: Assessment, inputs: CycleInput, groups: GroupsPlanned | None
    ) -> None:
        plan = report.plan
        if self._should_stop():
            self._interrupt(report, len(plan.all_actions))
            return
        self._record_dn_changes(assessment, inputs.links, report.cycle_id)
        self._record_problems(plan, report.cycle_id)
        if inputs.kind is not CycleKind.USER:
            carried = carry_open_problems(self._store, plan, inputs.reread, incremental=inputs.incremental)
            report.plan = replace(plan, problems=(*plan.problems, *carried))
        if inputs.kind is CycleKind.FULL:
            self._store.hold(list(plan.held), report.cycle_id)
        else:  # the held actions of users this cycle did not read stay held
            others = [a for a in self._store.held() if a.anchor not in inputs.links]
            self._store.hold([*others, *plan.held], report.cycle_id)
        self._phase(Phase.APPLY)
        started = time.monotonic()
        report.applied = self._apply(plan.actions, inputs.links, report.cycle_id)
        report.apply_seconds = time.monotonic() - started
        report.passes = 1
        if inputs.incremental:
            self._note_deprovisions(report.applied)
        not_applied = len(plan.actions) - report.applied.recorded
        if not_applied > 0:
            self._interrupt(report, not_applied + len(plan.followups) + len(plan.groups))
            return
        if plan.followups:
            self._follow_up(plan.followups, report)
        if groups is not None and self._groups is not None:
            self._apply_groups(report, groups)

    def _apply_groups(self, report: CycleReport, groups: GroupsPlanned) -> None:
        assert self._groups is not None
        self._apply_resource(report, self._groups, groups, len(groups.plan.groups))

    def _apply_licenses(self, report: CycleReport, licenses: LicensesPlanned) -> None:
        assert self._licenses is not None
        self._apply_resource(report, self._licenses, licenses, len(licenses.plan.licenses))

    def _apply_resource(self, report: CycleReport, phase: ResourcePhase[T], planned: T, actions: int) -> None:
        """Applies a resource phase's plan of ``actions`` actions and adds its result to the
        cycle's; what it did not record interrupts the cycle."""
        assert report.applied is not None
        result = phase.apply(
            planned,
            cycle_id=report.cycle_id,
            concurrency=self._config.webex.concurrency,
            on_records=self._on_records,
            should_stop=self._should_stop,
        )
        if result is None:
            return
        report.applied.add(result)
        if result.recorded < actions:
            self._interrupt(report, actions - result.recorded)

    def _note_deprovisions(self, applied: ApplyResult) -> None:
        now = self._clock()
        count = sum(
            n
            for (kind, outcome), n in applied.counts.items()
            if kind in ("disable", "delete") and outcome == "applied"
        )
        self._recent_deprovisions.extend([now] * count)
        while self._recent_deprovisions and self._recent_deprovisions[0] <= now - GUARD_WINDOW:
            self._recent_deprovisions.popleft()

    def _interrupt(self, report: CycleReport, left: int) -> None:
        report.interrupted = True
        report.error = f"stopped on request, {left} action(s) not applied; the next cycle plans them again"

    def _apply(self, actions: Sequence[Action], links: Mapping[str, Link], cycle_id: str) -> ApplyResult:
        progress = self._progress(len(actions), 0) if self._progress and actions else None
        sender = user_sender(
            self._webex,
            links,
            cycle_id=cycle_id,
            clock=self._clock,
            bulk=uses_bulk(self._config.webex.bulk, sum(1 for a in actions if a.kind is ActionKind.CREATE)),
            managed=self._options.managed,
        )
        executor = Executor(
            sender,
            self._store,
            cycle_id=cycle_id,
            concurrency=self._config.webex.concurrency,
            on_records=self._on_records,
            progress=progress,
            should_stop=self._should_stop,
        )
        return executor.apply(actions)

    def _follow_up(self, pending: Sequence[Action], report: CycleReport) -> None:
        """The second pass: the follow-ups, with the Webex ids the first pass recorded."""
        links = {a.anchor: link for a in pending if (link := self._store.get_link(a.anchor)) is not None}
        webex_ids: dict[str, str] = {}
        for dn in {dn for a in pending for _, dn in a.pending}:
            key = normalize_dn(dn)
            webex_ids.update(
                (key, link.webex_id) for link in self._store.find_links(dn) if normalize_dn(link.dn) == key
            )
        resolved = resolve(pending, links, webex_ids)
        assert report.applied is not None
        for action in resolved.waiting:
            log.info("follow-up waits", cycle=report.cycle_id, anchor=action.anchor, detail=action.detail)
            report.applied.skipped.append((action, "waits: its manager is not in Webex yet"))
        if resolved.ready:
            started = time.monotonic()
            report.applied.add(self._apply(resolved.ready, links, report.cycle_id))
            report.apply_seconds += time.monotonic() - started
            report.passes = 2

    def _record_dn_changes(self, assessment: Assessment, links: Mapping[str, Link], cycle_id: str) -> None:
        """Renames and moves keep the link; only the stored DN follows."""
        records = []
        for anchor, dn in assessment.dn_changes.items():
            link = links[anchor]
            detail = f"DN {link.dn} -> {dn}"
            entry = self._entry(
                cycle_id, link.anchor, link.email, "move", Outcome.APPLIED, link.webex_id, detail
            )
            records.append(Record(entry, save_link=replace(link, dn=dn, updated_at=self._clock())))
        self._write(records)

    def _record_problems(self, plan: Plan, cycle_id: str) -> None:
        records = [
            Record(
                self._entry(cycle_id, p.anchor, p.email or "", p.kind.value, Outcome.SKIPPED, None, p.detail)
            )
            for p in plan.problems
            if p.kind is not ProblemKind.PROTECTED
        ]
        records += [
            Record(
                self._entry(
                    cycle_id,
                    a.anchor,
                    a.email,
                    a.kind.value,
                    Outcome.HELD,
                    a.webex_id,
                    HELD_DETAIL,
                    a.reason.value,
                )
            )
            for a in plan.held
        ]
        self._write(records)

    def _write(self, records: Iterable[Record]) -> None:
        batch = list(records)
        if batch:
            self._store.record(batch)
            if self._on_records:
                self._on_records(batch)

    def _entry(
        self,
        cycle_id: str,
        anchor: str,
        email: str,
        action: str,
        outcome: Outcome,
        webex_id: str | None,
        detail: str,
        reason: str = "",
    ) -> AuditEntry:
        return AuditEntry(cycle_id, self._clock(), anchor, email, action, reason, outcome, webex_id, detail)
