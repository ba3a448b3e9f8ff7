"""The licences phase of a cycle (docs/licenses.md): plan the licences of the users this cycle
read with ``rules.licenses`` once the users (and groups) are planned; apply once they are
applied: reclaims first (they free units), then assignments.

Nothing is asked of Webex when nothing can have changed: the rules are resolved against the
catalogue stored by the last cycle, and the catalogue (with its units) is read again only when
some user needs a licence or gives one back, or a rule names a licence the stored catalogue does
not have.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.executor import ApplyResult, Executor
from webex_provisioner.engine.license_reads import Holdings, read_holdings
from webex_provisioner.engine.license_steps import LicenseSender
from webex_provisioner.errors import WebexError
from webex_provisioner.model import (
    ActionKind,
    AuditEntry,
    DirectoryUser,
    Grant,
    License,
    LicenseAction,
    Link,
    Outcome,
    Plan,
    Problem,
    ProblemKind,
)
from webex_provisioner.ports import Record, StateStore, WebexLicenses
from webex_provisioner.rules.licenses import (
    HELD_BEFORE,
    GrantIndex,
    LicenseOptions,
    LicensePlan,
    Need,
    People,
    ReclaimGuard,
    RuleSet,
    Standings,
    allocate,
    drift_problems,
    license_needs,
    removed_in_webex,
    repairs,
    resolve_rules,
    standings,
)
from webex_provisioner.rules.safety import DeprovisionLimits

log = structlog.get_logger("webex_provisioner.engine.license_cycle")


class SeenUsers:
    """The directory users a cycle reads, as the licences phase needs them: their labels when
    they are enabled and in scope, ``None`` otherwise (one shared set per distinct labels)."""

    def __init__(self) -> None:
        self.users: dict[str, frozenset[str] | None] = {}
        self._shared: dict[frozenset[str], frozenset[str]] = {}

    def watch(self, users: Iterable[DirectoryUser]) -> Iterator[DirectoryUser]:
        for user in users:
            if user.disabled or not user.in_scope:
                self.users[user.anchor] = None
            else:
                self.users[user.anchor] = self._shared.setdefault(user.labels, user.labels)
            yield user


def rules_digest(config: Config) -> str:
    """A digest of ``licenses:`` (a refusal stands while it is unchanged)."""
    assert config.licenses is not None
    data = config.licenses.model_dump(mode="json")
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class LicensesPlanned:
    """What the licences phase planned, and what it needs to apply and record it."""

    plan: Plan
    rules: RuleSet
    noted: tuple[LicenseAction, ...] = ()
    catalog: list[License] | None = None
    """The catalogue read from Webex in this cycle (``None``: the stored one was used)."""
    full: bool = False
    unread: dict[str, str] = field(default_factory=dict)
    drift_found: int = 0
    """Licences Webex no longer lists for users that should hold them (``drift:``)."""


@dataclass(frozen=True, slots=True)
class LicenseDrift:
    """Licences removed in Webex, by anchor, and whether ``drift.licenses`` says to report them."""

    removed: dict[str, frozenset[str]]
    report: bool

    @property
    def found(self) -> int:
        return sum(len(gone) for gone in self.removed.values())


class LicensePhase:
    """Plans and applies the licences of ``licenses:`` for one set of ports."""

    def __init__(
        self,
        config: Config,
        webex: WebexLicenses,
        store: StateStore,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        assert config.licenses is not None
        self._config = config
        self._licenses = config.licenses
        self._webex = webex
        self._store = store
        self._clock = clock
        self._specs = config.licenses.specs()
        self._digest = rules_digest(config)

    # -- plan --------------------------------------------------------------------------------------

    def plan(
        self,
        plan: Plan,
        seen: SeenUsers,
        links: Mapping[str, Link],
        *,
        full: bool,
        approved: set[tuple[str, ActionKind]],
    ) -> LicensesPlanned:
        """Add the licence actions, the users left without and the capacity to ``plan``; in a
        full cycle with ``drift:``, compare the licences recorded with those Webex lists."""
        catalog, fetched = self._catalog()
        rules = resolve_rules(self._specs, catalog, self._digest)
        if not rules.complete and fetched is None:
            catalog = fetched = self._webex.list_licenses()
            rules = resolve_rules(self._specs, catalog, self._digest)
        found = standings(seen.users, links, plan, full=full)
        person = People(links, plan, seen.users, found)
        grants = self._grants(found, links, full=full)
        drift = self._drift(found, grants, links, rules) if full else None
        names = {licence.id: licence.name for licence in catalog}
        needs = self._needs(found, grants, rules, drift, names, person)
        if needs and fetched is None:
            catalog = fetched = self._webex.list_licenses()
        holdings = self._holdings(needs, catalog)
        limit = self._config.safety.max_deprovisions
        licensed = grants.licensed() if full else self._licensed(needs)
        guard = ReclaimGuard(DeprovisionLimits(limit.count, limit.percent), licensed, approved)
        planned = allocate(
            [n for n in needs if n.user.anchor not in holdings.unread],
            {licence.id: licence for licence in catalog},
            holdings.held,
            guard,
            rules,
        )
        merged = _merge(plan, planned, rules, holdings.unread, person)
        if drift is not None and drift.report:
            reported = drift_problems(drift.removed, person, names)
            merged = replace(merged, problems=(*merged.problems, *reported))
        log.info(
            "licenses planned",
            assign=sum(1 for a in planned.actions if a.kind is ActionKind.ASSIGN_LICENSE),
            reclaim=sum(1 for a in planned.actions if a.kind is ActionKind.RECLAIM_LICENSE),
            held=len(planned.held),
            shortfall=len(planned.problems),
            removed_in_webex=drift.found if drift is not None else None,
            catalog_read=fetched is not None,
        )
        removed = drift.found if drift is not None else 0
        return LicensesPlanned(merged, rules, planned.noted, fetched, full, holdings.unread, removed)

    def _needs(
        self,
        found: Standings,
        grants: GrantIndex,
        rules: RuleSet,
        drift: LicenseDrift | None,
        names: Mapping[str, str],
        person: People,
    ) -> list[Need]:
        """What users need; a licence removed in Webex is needed again (``drift.licenses: repair``)."""
        refused = {
            (r.anchor, r.license_id) for r in self._store.license_refusals() if r.rules == self._digest
        }
        options = LicenseOptions(self._licenses.reclaim, self._licenses.reclaim_on_disable)
        repairing = drift is not None and not drift.report and drift.removed
        index = grants.without(drift.removed) if drift is not None and repairing else grants
        needs = license_needs(found, index, rules, options, person=person, refused=refused, names=names)
        return repairs(needs, drift.removed) if drift is not None and repairing else needs

    def _drift(
        self, found: Standings, grants: GrantIndex, links: Mapping[str, Link], rules: RuleSet
    ) -> LicenseDrift | None:
        """With ``drift.check: full``: the licences active users hold as far as the state knows
        and still want, that Webex no longer lists for them (one listing of each licence's
        holders). A listing that fails concludes nothing."""
        setting = self._config.drift
        if setting is None or not setting.enabled:
            return None
        ids = {i for labels in found.active for i in rules.wanted(labels) if i in grants.holders}
        by_webex_id = {link.webex_id: anchor for anchor, link in links.items()}
        listed: dict[str, set[str]] = {}
        try:
            for license_id in sorted(ids):
                holders = self._webex.license_holders(license_id)
                listed[license_id] = {by_webex_id[i] for i in holders if i in by_webex_id}
        except WebexError as exc:
            log.warning("licenses.drift_unchecked", error=exc.message, detail="no licence drift concluded")
            return None
        removed = removed_in_webex(found, grants, rules, listed)
        return LicenseDrift(removed, report=setting.licenses == "report")

    def _catalog(self) -> tuple[list[License], list[License] | None]:
        """The stored catalogue, or the one read now (as the second item) when none is stored."""
        stored = self._store.license_catalog()
        if stored:
            return stored, None
        fetched = self._webex.list_licenses()
        return fetched, fetched

    def _grants(self, found: Standings, links: Mapping[str, Link], *, full: bool) -> GrantIndex:
        """The grants of every user (a full cycle), or of the users looked at."""
        if full:
            return GrantIndex.build(self._store.grants(), links)
        return GrantIndex.build(
            g for anchor in sorted(found.anchors()) for g in self._store.grants_of(anchor)
        )

    def _licensed(self, needs: Sequence[Need]) -> int:
        """How many users hold a licence this tool knows of (the guard's percentage base), read
        only when something would be reclaimed."""
        if not any(n.kind is ActionKind.RECLAIM_LICENSE for n in needs):
            return 0
        return len({grant.anchor for grant in self._store.grants()})

    def _holdings(self, needs: Sequence[Need], catalog: Sequence[License]) -> Holdings:
        """What the users to assign to hold already (those in Webex: a user this cycle creates
        is read once it is)."""
        assigning = [n for n in needs if n.kind is ActionKind.ASSIGN_LICENSE]
        users = {n.user.anchor: n.user.webex_id for n in assigning if n.user.webex_id is not None}
        ids = {i.license_id for n in assigning for i in n.items}
        return read_holdings(
            self._webex,
            users,
            [licence for licence in catalog if licence.id in ids],
            concurrency=self._config.webex.concurrency,
        )

    # -- apply -------------------------------------------------------------------------------------

    def apply(
        self,
        planned: LicensesPlanned,
        *,
        cycle_id: str,
        concurrency: int,
        on_records: Callable[[Sequence[Record]], None] | None,
        should_stop: Callable[[], bool],
    ) -> ApplyResult | None:
        """Record what users already held, then send the reclaims, then the assignments (after
        the users' and groups' actions: a new user exists by now)."""
        plan = planned.plan
        if planned.catalog is not None:
            self._store.set_license_catalog(planned.catalog)
        self._hold(plan, planned, cycle_id)
        actions, noted = self._ready(plan.licenses, planned)
        self._write([self._noted(action, cycle_id) for action in noted], on_records)
        if not actions:
            return None
        sender = LicenseSender(self._webex, cycle_id=cycle_id, clock=self._clock, rules_digest=self._digest)
        executor = Executor(
            sender,
            self._store,
            cycle_id=cycle_id,
            concurrency=concurrency,
            on_records=on_records,
            should_stop=should_stop,
        )
        result = ApplyResult()
        try:
            for kind in (ActionKind.RECLAIM_LICENSE, ActionKind.ASSIGN_LICENSE):
                result.add(executor.apply([a for a in actions if a.kind is kind]))
        finally:
            self._after(sender)
        return result

    def _hold(self, plan: Plan, planned: LicensesPlanned, cycle_id: str) -> None:
        """Replace the held licence actions (an incremental cycle keeps those of users it did not read)."""
        held = list(plan.held_licenses)
        if not planned.full:
            looked_at = {a.anchor for a in (*plan.licenses, *held)} | set(planned.unread)
            held = [a for a in self._store.held_licenses() if a.anchor not in looked_at] + held
        if held or self._store.held_licenses():
            self._store.hold_licenses(held, cycle_id)

    def _ready(
        self, actions: Sequence[LicenseAction], planned: LicensesPlanned
    ) -> tuple[list[LicenseAction], list[LicenseAction]]:
        """The actions with the Webex ids of the users created in this cycle, less what those
        users already hold (noted, with the noted grants of the plan)."""
        created = {
            a.anchor: link.webex_id
            for a in actions
            if a.webex_id is None and (link := self._store.get_link(a.anchor)) is not None
        }
        noted = list(planned.noted)
        if not created:
            return list(actions), noted
        ids = {i.license_id for a in actions if a.anchor in created for i in a.licenses}
        catalog = [
            licence for licence in (planned.catalog or self._store.license_catalog()) if licence.id in ids
        ]
        held = read_holdings(self._webex, created, catalog, concurrency=self._config.webex.concurrency).held
        ready: list[LicenseAction] = []
        for action in actions:
            if action.anchor not in created:
                ready.append(action)
                continue
            already = held.get(action.anchor, frozenset())
            webex_id = created[action.anchor]
            before = tuple(i for i in action.licenses if i.license_id in already)
            if before:
                noted.append(replace(action, licenses=before, webex_id=webex_id, detail=HELD_BEFORE))
            items = tuple(i for i in action.licenses if i.license_id not in already)
            if items:
                ready.append(replace(action, licenses=items, webex_id=webex_id))
        return ready, noted

    def _after(self, sender: LicenseSender) -> None:
        """Keep the refusals that stand under these rules, with the new ones; forget the stored
        catalogue when Webex did not recognise a licence id."""
        standing = [r for r in self._store.license_refusals() if r.rules == self._digest]
        if sender.refusals or len(standing) != len(self._store.license_refusals()):
            self._store.set_license_refusals([*standing, *sender.refusals])
        if sender.catalog_stale:
            self._store.set_license_catalog([])

    def _noted(self, action: LicenseAction, cycle_id: str) -> Record:
        """What a user already held, recorded as not ours (nothing sent)."""
        now = self._clock()
        names = ", ".join(item.name for item in action.licenses)
        entry = AuditEntry.of(
            action,
            cycle_id,
            now,
            Outcome.SKIPPED,
            subject=action.email,
            webex_id=action.webex_id,
            detail=f"{names}: {action.detail}",
        )
        grants = tuple(Grant(action.anchor, i, ours=False, since=now) for i in action.license_ids)
        return Record(entry, save_grants=grants)

    def _write(self, records: list[Record], on_records: Callable[[Sequence[Record]], None] | None) -> None:
        if records:
            self._store.record(records)
            if on_records:
                on_records(records)


def _merge(
    plan: Plan,
    planned: LicensePlan,
    rules: RuleSet,
    unread: Mapping[str, str],
    person: People,
) -> Plan:
    """The user plan with the licences' actions, held reclaims, capacity and problems."""
    problems: list[Problem] = [
        Problem(ProblemKind.INVALID, "licenses", "", None, detail, resource="license")
        for detail in rules.problems
    ]
    for anchor, why in unread.items():
        user = person(anchor)
        detail = f"{why}; no licence is assigned to it this cycle"
        problems.append(Problem(ProblemKind.FAILED, anchor, user.dn, user.email, detail, resource="license"))
    return replace(
        plan,
        licenses=planned.actions,
        held_licenses=planned.held,
        capacity=planned.capacity,
        problems=(*plan.problems, *problems, *planned.problems),
    )


def license_phase(
    config: Config, webex: object, store: StateStore, *, clock: Callable[[], datetime]
) -> LicensePhase | None:
    """The licences phase when ``licenses:`` is configured and the Webex client can serve it."""
    if config.licenses is None:
        return None
    if not isinstance(webex, WebexLicenses):
        log.warning("licenses.unsupported", detail="the Webex client cannot assign licences")
        return None
    return LicensePhase(config, webex, store, clock=clock)
