"""One cycle: read -> plan -> apply -> record (design.md §3). The imperative shell.

``run_cycle`` chains the pure steps (mapping, planner, guards) with the three ports. With
``apply=False`` it is the dry run behind ``plan``: it reads the directory, the links and Webex,
and writes nothing anywhere.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.bookkeeping import approved_held, carry_open_problems
from webex_provisioner.engine.bulk_executor import BulkCreator, BulkExecutor
from webex_provisioner.engine.executor import ApplyResult, Executor
from webex_provisioner.engine.incremental import (
    ChangeRead,
    DeprovisionWindow,
    StoredWatermark,
    deprovision_count,
    owners_of,
    read_feed,
    save_retries,
)
from webex_provisioner.engine.interruptible import apply_in_batches, timed
from webex_provisioner.engine.matching import match_in_webex
from webex_provisioner.engine.memory import spaced_collections
from webex_provisioner.engine.report import (
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_USERS_FAILED,
    CycleReport,
    utc_now,
)
from webex_provisioner.errors import (
    ProvisionerError,
    UserNotFoundError,
)
from webex_provisioner.model import (
    Action,
    AuditEntry,
    CycleKind,
    CycleRecord,
    DirectoryUser,
    Link,
    Outcome,
    Plan,
    ProblemKind,
    WebexUser,
)
from webex_provisioner.ports import ChangeFeed, DirectorySource, Record, StateStore, WebexClient
from webex_provisioner.rules.mapping import CompiledMapping, compile_mapping, create_only_keys
from webex_provisioner.rules.planner import Assessment, PlanOptions, assess, finish
from webex_provisioner.rules.safety import DeprovisionLimits, check_directory_health, guard_deprovisions

log = structlog.get_logger("webex_provisioner.engine.cycle")

__all__ = [
    "EXIT_FAILED",
    "EXIT_HELD",
    "EXIT_OK",
    "EXIT_USAGE",
    "EXIT_USERS_FAILED",
    "Cycle",
    "CycleReport",
    "plan_options",
    "utc_now",
]


def plan_options(config: Config, mapping: CompiledMapping) -> PlanOptions:
    p = config.provisioning
    return PlanOptions(
        create=p.create,
        update=p.update,
        deprovision=p.deprovision,
        provision_disabled=p.provision_disabled,
        on_deleted=p.on_deleted,
        on_disabled=p.on_disabled,
        on_left_scope=p.on_left_scope,
        protected=frozenset(x.strip().lower() for x in p.protected),
        delete_after=p.delete_after,
        create_only=create_only_keys(mapping),
        managed=frozenset(mapping.rules) | {"externalId"},
    )


class Cycle:
    """Runs cycles against one set of ports, under one configuration."""

    def __init__(
        self,
        config: Config,
        *,
        directory: DirectorySource,
        webex: WebexClient,
        store: StateStore,
        clock: Callable[[], datetime] = utc_now,
        on_records: Callable[[Sequence[Record]], None] | None = None,
        progress: Callable[[int, int], Callable[[int], None]] | None = None,
        owner: str | None = None,
    ) -> None:
        self._config = config
        self._directory = directory
        self._webex = webex
        self._store = store
        self._clock = clock
        self._on_records = on_records
        self._progress = progress
        self._owner = owner or f"webex-provisioner-{uuid.uuid4()}"
        self._mapping = compile_mapping(config.mapping)
        self._options = plan_options(config, self._mapping)
        self._window = DeprovisionWindow()
        self._should_stop: Callable[[], bool] | None = None

    # -- public --------------------------------------------------------------------------

    def record_failure(self, error: ProvisionerError) -> CycleReport:
        """Record a cycle that failed before it could start (e.g. its change feed could not be
        opened), so that ``status`` and the metrics show it like any failed cycle."""
        now = self._clock()
        report = CycleReport(f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", CycleKind.FULL, now, False)
        report.error, report.failure, report.finished_at = error.message, error, now
        self._store.start_cycle(CycleRecord(report.cycle_id, report.kind, now))
        self._store.finish_cycle(
            CycleRecord(
                report.cycle_id, report.kind, now, now, report.outcome, report.counts(), error.message
            )
        )
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
        incremental one the new watermark. ``should_stop`` is asked between batches of actions:
        once it says yes, the cycle ends after the actions in flight, reported interrupted.
        """
        with spaced_collections():
            return self._cycle(
                apply=apply,
                user=user,
                approve_held=approve_held,
                discard_held=discard_held,
                feed=feed,
                full=full,
                should_stop=should_stop,
            )

    def _cycle(
        self,
        *,
        apply: bool,
        user: str | None,
        approve_held: bool,
        discard_held: bool,
        feed: ChangeFeed | None,
        full: bool,
        should_stop: Callable[[], bool] | None,
    ) -> CycleReport:
        stored = StoredWatermark(self._store, feed, self._config) if feed and apply and not user else None
        since = stored.load() if stored is not None and not full else None
        kind = CycleKind.USER if user else CycleKind.INCREMENTAL if since is not None else CycleKind.FULL
        report = CycleReport(
            f"{self._clock():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}", kind, self._clock(), not apply
        )
        self._should_stop = should_stop
        if kind is CycleKind.FULL:
            self._directory.prepare_read(self._store.count_links())
        if apply:
            self._store.start_cycle(CycleRecord(report.cycle_id, kind, report.started_at))
        try:
            if apply and discard_held:
                self._store.hold([], report.cycle_id)
            changes = self._read_feed(feed, since, report) if stored is not None and feed else None
            self._run(report, apply=apply, user=user, approve_held=approve_held, changes=changes)
            if stored and changes and report.applied is not None and not report.interrupted:
                stored.save(changes.watermark)
                save_retries(self._store, report.plan, (a.anchor for a, _ in report.applied.failures))
        except ProvisionerError as exc:
            report.error, report.failure = exc.message, exc
            log.error("cycle failed", cycle=report.cycle_id, kind=report.kind.value, error=exc.message)
        finally:
            report.finished_at = self._clock()
            if apply:
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
        return report

    # -- steps ---------------------------------------------------------------------------

    def _read_feed(self, feed: ChangeFeed, since: str | None, report: CycleReport) -> ChangeRead:
        started = time.monotonic()
        try:
            changes = read_feed(feed, since, self._store, self._directory)
        finally:
            report.directory_seconds += time.monotonic() - started
        if changes.full and not changes.streamed:
            report.kind = CycleKind.FULL
        return changes

    def _run(
        self,
        report: CycleReport,
        *,
        apply: bool,
        user: str | None,
        approve_held: bool,
        changes: ChangeRead | None = None,
    ) -> None:
        incremental = changes is not None and not changes.full
        link_count: int | None
        users: Iterable[DirectoryUser]
        reading: Iterable[DirectoryUser] | None = None
        try:
            if changes is not None and incremental:
                links, link_count = changes.links, None
                users, complete = changes.users, False
            else:
                if not user and (changes is None or changes.streamed):
                    # Started before the links are read: a reader process reads meanwhile.
                    reading = self._directory.read_users()
                links = {link.anchor: link for link in self._store.links()}
                link_count = len(links)
                if user:
                    users, links, complete = self._one_user(user, links)
                elif reading is None and changes is not None:
                    users, complete = changes.users, True
                else:
                    assert reading is not None
                    users, complete = timed(reading, report.add_directory_time), True
            assessment = assess(users, links, self._mapping, self._options, now=self._clock())
        finally:
            _close(reading)
        if not user and link_count is not None:
            check_directory_health(
                assessment.users_read,
                link_count,
                self._config.safety.min_users,
                self._config.directory.base_dn,
            )
        deleted = changes.deleted if changes is not None and incremental else ()
        plan = self._finish(assessment, links, complete=complete, deleted=deleted, partial=incremental)
        limits = DeprovisionLimits(
            self._config.safety.max_deprovisions.count, self._config.safety.max_deprovisions.percent
        )
        approved = approved_held(self._store, everything=approve_held, apply=apply)
        if link_count is None:  # incremental: count the links only when something would deprovision
            link_count = self._store.count_links() if any(a.kind.deprovisions for a in plan.actions) else 0
            limits = self._window.limits(limits, link_count, self._clock())
        guarded = guard_deprovisions(
            replace(plan, actions=tuple(a for a in plan.actions if (a.anchor, a.kind) not in approved)),
            link_count,
            limits,
        )
        plan = replace(
            guarded, actions=(*guarded.actions, *(a for a in plan.actions if (a.anchor, a.kind) in approved))
        )
        report.plan = plan
        log.info(
            "plan computed",
            cycle=report.cycle_id,
            users_read=plan.users_read,
            links=len(links),
            actions=len(plan.actions),
            held=len(plan.held),
            problems=len(plan.problems),
            **plan.counts(),
        )
        if not apply:
            return
        if self._should_stop is not None and self._should_stop():
            self._interrupt(report, len(plan.actions))
            return
        self._record_dn_changes(assessment, links, report.cycle_id)
        self._record_problems(plan, report.cycle_id)
        if not user:
            reread = (
                {u.anchor for u in changes.users} | set(deleted)
                if changes is not None and incremental
                else set()
            )
            carried = carry_open_problems(self._store, plan, reread, incremental=incremental)
            report.plan = replace(plan, problems=(*plan.problems, *carried))
        if user or incremental:
            others = [a for a in self._store.held() if a.anchor not in links]
            self._store.hold([*others, *plan.held], report.cycle_id)
        else:
            self._store.hold(list(plan.held), report.cycle_id)
        report.applied = self._apply(plan.actions, links, report.cycle_id)
        report.passes = 1
        if incremental:
            self._window.add(deprovision_count(report.applied.counts), self._clock())
        not_applied = len(plan.actions) - sum(report.applied.counts.values())
        if not_applied > 0:
            self._interrupt(report, not_applied)
        elif assessment.deferred:
            self._settle(assessment.deferred, report)

    def _interrupt(self, report: CycleReport, left: int) -> None:
        report.interrupted = True
        report.error = f"stopped on request, {left} action(s) not applied; the next cycle plans them again"

    def _one_user(
        self, key: str, links: Mapping[str, Link]
    ) -> tuple[list[DirectoryUser], dict[str, Link], bool]:
        found = self._directory.find_user(key)
        linked = self._store.find_links(key)
        if found is None and linked:
            found = self._directory.find_user(linked[0].anchor)
        if found is None and not linked:
            raise UserNotFoundError(
                f"no directory user and no link matches {key!r}; give an e-mail, an anchor or a DN "
                "(see 'webex-provisioner users list')"
            )
        anchors = {found.anchor} if found else set()
        anchors.update(link.anchor for link in linked)
        subset = {a: links[a] for a in anchors if a in links}
        return ([found] if found else []), subset, True

    def _finish(
        self,
        assessment: Assessment,
        links: dict[str, Link],
        *,
        complete: bool,
        deleted: Sequence[str] = (),
        partial: bool = False,
    ) -> Plan:
        """``partial``: ``links`` holds only the links the cycle read; those of the Webex users
        the lookups found are added, so a match linked to someone else is seen as a conflict."""
        matches, failures = self._lookup(assessment.lookup_emails)
        if partial and matches:
            links.update(owners_of(self._store, (m.id for m in matches.values()), links))
        return finish(
            assessment,
            links,
            matches,
            self._options,
            now=self._clock(),
            complete=complete,
            lookup_failures=failures,
            deleted=deleted,
        )

    def _lookup(self, emails: Sequence[str]) -> tuple[dict[str, WebexUser], dict[str, str]]:
        return match_in_webex(self._webex, emails, concurrency=self._config.webex.concurrency)

    def _apply(self, actions: Sequence[Action], links: Mapping[str, Link], cycle_id: str) -> ApplyResult:
        progress = self._progress(len(actions), 0) if self._progress and actions else None
        bulk = self._config.webex.bulk and isinstance(self._webex, BulkCreator)
        executor = (BulkExecutor if bulk else Executor)(
            self._webex,
            self._store,
            links,
            cycle_id=cycle_id,
            concurrency=self._config.webex.concurrency,
            clock=self._clock,
            on_records=self._on_records,
            progress=progress,
            managed=self._options.managed,
        )
        if self._should_stop is None:
            return executor.apply(actions)
        batch = self._config.webex.concurrency * 16
        return apply_in_batches(executor, actions, self._should_stop, users_per_batch=batch)

    def _settle(self, deferred: Iterable[tuple[DirectoryUser, str]], report: CycleReport) -> None:
        """Second pass for users whose manager was provisioned in the first pass."""
        links = {link.anchor: link for link in self._store.links()}
        assessment = assess(
            (user for user, _ in deferred), links, self._mapping, self._options, now=self._clock()
        )
        actions = tuple(a for a in assessment.actions if not a.kind.deprovisions)
        if not actions:
            return
        result = self._apply(actions, links, report.cycle_id)
        assert report.applied is not None
        report.applied.counts.update(result.counts)
        report.applied.failures.extend(result.failures)
        report.plan = replace(report.plan, actions=(*report.plan.actions, *actions))
        report.passes = 2

    def _record_dn_changes(self, assessment: Assessment, links: Mapping[str, Link], cycle_id: str) -> None:
        """Renames and moves keep the link; only the stored DN follows."""
        records = []
        for anchor, dn in assessment.dn_changes.items():
            link = links[anchor]
            moved = replace(link, dn=dn, updated_at=self._clock())
            records.append(
                Record(
                    self._entry(
                        cycle_id,
                        link.anchor,
                        link.email,
                        "move",
                        Outcome.APPLIED,
                        link.webex_id,
                        f"DN {link.dn} -> {dn}",
                    ),
                    save_link=moved,
                )
            )
        if records:
            self._store.record(records)
            if self._on_records:
                self._on_records(records)

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
                    "held by the deprovision guard; review with 'webex-provisioner plan' and apply "
                    "with 'webex-provisioner sync --approve-held'",
                    reason=a.reason.value,
                )
            )
            for a in plan.held
        ]
        if records:
            self._store.record(records)
            if self._on_records:
                self._on_records(records)

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


def _close(users: Iterable[DirectoryUser] | None) -> None:
    """Stop a directory read that was not read to the end (a reader process is killed)."""
    close = getattr(users, "close", None)
    if callable(close):
        close()
