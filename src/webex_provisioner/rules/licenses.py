"""Licences by rule (docs/licenses.md): what each user should hold, what to assign and what to
take back, within the free units and behind a guard. Pure: no I/O, no clock.

1. ``resolve_rules``: the rules' licence names and ids against the organization's catalogue
   (an id always wins; names match case-insensitively; a Calling licence is refused).
2. ``license_users``: where each user stands after this cycle's user actions (active and in
   scope, out of scope, deprovisioned, or left alone).
3. ``license_needs``: per user, the licences its rules ask for that it does not hold as far as the
   state knows (to assign), and those this tool assigned that nothing asks for any more (to
   reclaim). Only grants that are *ours* are ever reclaimed, and only from a trusted read.
4. ``allocate``: the assignments within the free units (the reclaims sent before them free
   theirs), the licences users already held (recorded as not ours, nothing sent), the reclaims
   a guard holds, and the capacity table.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from enum import StrEnum

from webex_provisioner.model import (
    ActionKind,
    CapacityRow,
    Grant,
    License,
    LicenseAction,
    LicenseItem,
    LicenseRuleSpec,
    Link,
    LinkState,
    Plan,
    Problem,
    ProblemKind,
    Reason,
)
from webex_provisioner.rules.safety import DeprovisionLimits

NAMES_SHOWN = 12
"""How many of the organization's licence names an unknown-licence problem lists."""


# -- the rules against the catalogue ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedRule:
    """A rule with the ids of the licences it assigns (those that exist and can be assigned)."""

    spec: LicenseRuleSpec
    license_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules resolved against a catalogue. ``problems`` name each licence a rule names that
    cannot be assigned (unknown, ambiguous, Calling): with any, nothing is reclaimed, since a
    renamed licence must not look like a licence no rule asks for."""

    rules: tuple[ResolvedRule, ...]
    names: Mapping[str, str]
    problems: tuple[str, ...] = ()
    digest: str = ""
    _wanted: dict[frozenset[str], dict[str, str]] = field(default_factory=dict, compare=False, repr=False)
    """``wanted`` by labels: a cycle asks for the same few sets of labels 100,000 times."""

    @property
    def complete(self) -> bool:
        return not self.problems

    def license_ids(self) -> list[str]:
        """Every licence id some rule assigns, in the order the rules name them."""
        return list(dict.fromkeys(i for rule in self.rules for i in rule.license_ids))

    def wanted(self, labels: Collection[str]) -> dict[str, str]:
        """Licence id → the first rule that asks for it, for a user with these labels (the
        same mapping for the same labels: do not change it)."""
        key = frozenset(labels)
        known = self._wanted.get(key)
        if known is not None:
            return known
        wanted: dict[str, str] = {}
        for rule in self.rules:
            if rule.spec.label is None or rule.spec.label in labels:
                for license_id in rule.license_ids:
                    wanted.setdefault(license_id, rule.spec.title)
        self._wanted[key] = wanted
        return wanted


def _find(wanted: str, catalog: Sequence[License]) -> tuple[License | None, str | None]:
    """The licence ``wanted`` names (an id wins over a name), or why there is none."""
    for licence in catalog:
        if licence.id == wanted:
            return licence, None
    named = [licence for licence in catalog if licence.name.casefold() == wanted.casefold()]
    if len(named) == 1:
        return named[0], None
    if named:
        ids = ", ".join(licence.id for licence in named)
        return None, f"{len(named)} licences are named {wanted!r} (ids {ids}): name the one meant by its id"
    names = sorted({licence.name for licence in catalog}, key=str.casefold)
    shown = ", ".join(repr(n) for n in names[:NAMES_SHOWN]) or "none"
    more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
    return None, (
        f"the organization has no licence named {wanted!r} (its licences: {shown}{more}); "
        "fix the name, or use the licence's id (webex-provisioner licenses lists them)"
    )


def resolve_rules(specs: Sequence[LicenseRuleSpec], catalog: Sequence[License], digest: str = "") -> RuleSet:
    """Resolve each rule's licences against ``catalog``; each one that cannot be assigned is a
    problem naming the rule (``licenses.rules[N]``) and what to do."""
    rules: list[ResolvedRule] = []
    names: dict[str, str] = {}
    problems: list[str] = []
    for spec in specs:
        ids: list[str] = []
        for wanted in spec.assign:
            licence, why = _find(wanted, catalog)
            if licence is None:
                problems.append(f"licenses.rules[{spec.number}]: {why}")
            elif licence.calling:
                problems.append(
                    f"licenses.rules[{spec.number}]: {licence.name!r} is a Calling licence, which needs a "
                    "location and a phone number or extension per user; assigning Calling licences by "
                    "rule is not supported: assign it in Control Hub"
                )
            else:
                ids.append(licence.id)
                names[licence.id] = licence.name
        rules.append(ResolvedRule(spec, tuple(dict.fromkeys(ids))))
    return RuleSet(tuple(rules), names, tuple(problems), digest)


# -- where users stand ------------------------------------------------------------------------------


class Standing(StrEnum):
    """Where a user stands for its licences after this cycle's user actions."""

    ACTIVE = "active"
    """Linked (or joining Webex in this cycle), active and in scope: its rules apply."""
    OUT_OF_SCOPE = "out_of_scope"
    """Still active in Webex, but out of scope, disabled or gone in the directory (no deprovision)."""
    DEPROVISIONED = "deprovisioned"
    """Disabled in Webex by a deprovision."""


@dataclass(frozen=True, slots=True)
class LicenseUser:
    """A user whose licences a cycle looks at. ``webex_id`` is ``None`` for a user this cycle
    creates (known once it is)."""

    anchor: str
    email: str
    dn: str
    standing: Standing
    labels: frozenset[str] = frozenset()
    webex_id: str | None = None


_JOINS = frozenset({ActionKind.CREATE, ActionKind.LINK, ActionKind.REACTIVATE})
_STANDING = _JOINS | {ActionKind.DISABLE, ActionKind.DELETE}
"""The user actions that change where a user stands (an update does not)."""
_NONE: frozenset[str] = frozenset()


@dataclass
class Standings:
    """Where the users a cycle looks at stand, as sets of anchors (set operations keep a full
    cycle of 100,000 users cheap): the active ones grouped by their labels (the same labels ask
    for the same licences), the ones out of scope, the deprovisioned ones."""

    active: dict[frozenset[str], set[str]] = field(default_factory=dict)
    out_of_scope: set[str] = field(default_factory=set)
    deprovisioned: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, users: Iterable[LicenseUser]) -> Standings:
        """The standings of these users."""
        found = cls()
        for user in users:
            if user.standing is Standing.ACTIVE:
                found.active.setdefault(user.labels, set()).add(user.anchor)
            elif user.standing is Standing.OUT_OF_SCOPE:
                found.out_of_scope.add(user.anchor)
            else:
                found.deprovisioned.add(user.anchor)
        return found

    def anchors(self) -> set[str]:
        return set().union(*self.active.values(), self.out_of_scope, self.deprovisioned)

    def standing(self, anchor: str) -> Standing:
        if anchor in self.deprovisioned:
            return Standing.DEPROVISIONED
        return Standing.OUT_OF_SCOPE if anchor in self.out_of_scope else Standing.ACTIVE


def standings(
    seen: Mapping[str, frozenset[str] | None], links: Mapping[str, Link], plan: Plan, *, full: bool
) -> Standings:
    """Where each user this cycle looks at stands after its user actions.

    ``seen`` holds the directory users this cycle read: their labels when they are enabled and
    in scope, ``None`` otherwise. A full cycle also looks at the linked users it did not read
    (gone from the directory). Users with a problem, a held action or a deletion are left alone
    (a deleted Webex user's licences are freed by Webex)."""
    acted = {a.anchor: a.kind for a in plan.all_actions if a.kind in _STANDING}
    left_alone = {p.anchor for p in plan.problems if p.resource == "user"} | {a.anchor for a in plan.held}
    left_alone |= {anchor for anchor, kind in acted.items() if kind is ActionKind.DELETE}
    joining = {anchor for anchor, kind in acted.items() if kind in _JOINS and anchor in seen}
    disabling = {anchor for anchor, kind in acted.items() if kind is ActionKind.DISABLE}
    looked_at = (links.keys() | joining) if full else (links.keys() | joining) & seen.keys()
    looked_at -= left_alone
    disabled = {a for a in looked_at - joining - disabling if links[a].state is LinkState.DISABLED}
    found = Standings(deprovisioned=(looked_at & disabling) | disabled)
    for anchor in looked_at - found.deprovisioned:
        labels = seen.get(anchor)
        if labels is None:
            found.out_of_scope.add(anchor)
        else:
            found.active.setdefault(labels, set()).add(anchor)
    return found


class People:
    """The ``LicenseUser`` of an anchor a cycle looks at: its e-mail, DN and Webex id from its
    user action in this cycle, else its link."""

    def __init__(
        self,
        links: Mapping[str, Link],
        plan: Plan,
        seen: Mapping[str, frozenset[str] | None],
        found: Standings,
    ) -> None:
        self._links = links
        self._acted = {a.anchor: a for a in plan.all_actions if a.kind in _STANDING}
        self._seen = seen
        self._standings = found

    def __call__(self, anchor: str) -> LicenseUser:
        action, link = self._acted.get(anchor), self._links.get(anchor)
        email = action.email if action is not None else link.email if link is not None else ""
        dn = (action.dn if action is not None else "") or (link.dn if link is not None else "")
        webex_id = (action.webex_id if action is not None else None) or (
            link.webex_id if link is not None else None
        )
        standing = self._standings.standing(anchor)
        return LicenseUser(anchor, email, dn, standing, self._seen.get(anchor) or _NONE, webex_id)


# -- what users need -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseOptions:
    """``licenses.reclaim`` and ``reclaim_on_disable``; ``trusted`` is False when the directory
    read cannot be trusted to say who left (nothing is reclaimed then)."""

    reclaim: bool = True
    reclaim_on_disable: bool = True
    trusted: bool = True


@dataclass(frozen=True, slots=True)
class Need:
    """Licences one user should get (``assign_license``) or give back (``reclaim_license``)."""

    user: LicenseUser
    kind: ActionKind
    reason: Reason
    items: tuple[LicenseItem, ...]


@dataclass
class GrantIndex:
    """The grants a cycle looks at, by licence: the anchors holding it, and among them those
    holding it though this tool did not assign it (``others``: few; the anchors this tool
    assigned it to are the rest, never kept as a second set of every holder)."""

    holders: dict[str, set[str]] = field(default_factory=dict)
    others: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, grants: Iterable[Grant], links: Mapping[str, Link] | None = None) -> GrantIndex:
        """The index of ``grants``; with ``links`` (by anchor), each anchor read is replaced by
        its link's, so that 100,000 grants keep no second copy of every anchor string."""
        index = cls()
        for grant in grants:
            anchor = grant.anchor
            if links is not None and (link := links.get(anchor)) is not None:
                anchor = link.anchor
            index.holders.setdefault(grant.license_id, set()).add(anchor)
            if not grant.ours:
                index.others.setdefault(grant.license_id, set()).add(anchor)
        return index

    def ours_among(self, license_id: str, anchors: AbstractSet[str]) -> AbstractSet[str]:
        """The ``anchors`` this tool assigned ``license_id`` to."""
        return (anchors & self.holders.get(license_id, _NONE)) - self.others.get(license_id, _NONE)

    def licensed(self) -> int:
        """How many users hold a licence this tool knows of."""
        return len(set().union(*self.holders.values()))

    def without(self, removed: Mapping[str, frozenset[str]]) -> GrantIndex:
        """The grants but those of ``removed`` (anchor → licence ids)."""
        gone: dict[str, set[str]] = {}
        for anchor, ids in removed.items():
            for license_id in ids:
                gone.setdefault(license_id, set()).add(anchor)
        return GrantIndex(
            {i: anchors - gone.get(i, set()) for i, anchors in self.holders.items()},
            {i: anchors - gone.get(i, set()) for i, anchors in self.others.items()},
        )


_RECLAIMS = {
    Standing.ACTIVE: (Reason.NO_RULE_MATCHES, "no rule asks for it any more"),
    Standing.OUT_OF_SCOPE: (
        Reason.NO_RULE_MATCHES,
        "the user is out of scope, disabled or gone in the directory",
    ),
    Standing.DEPROVISIONED: (
        Reason.USER_DEPROVISIONED,
        "the user was deprovisioned (licenses.reclaim_on_disable)",
    ),
}


def _reclaimable(
    found: Standings, rules: RuleSet, license_id: str, options: LicenseOptions
) -> Iterator[tuple[Standing, set[str]]]:
    """The groups of anchors whose grant of ``license_id`` (ours) is to go back, by standing."""
    if options.reclaim:
        for labels, anchors in found.active.items():
            if license_id not in rules.wanted(labels):
                yield Standing.ACTIVE, anchors
        yield Standing.OUT_OF_SCOPE, found.out_of_scope
    if options.reclaim_on_disable:
        yield Standing.DEPROVISIONED, found.deprovisioned


def license_needs(
    found: Standings,
    grants: GrantIndex,
    rules: RuleSet,
    options: LicenseOptions,
    *,
    person: Callable[[str], LicenseUser],
    refused: Collection[tuple[str, str]] = frozenset(),
    names: Mapping[str, str] | None = None,
) -> list[Need]:
    """What users need, by anchor: the licences their rules ask for and they do not hold as far
    as the state knows (but those Webex refused them under these rules, ``refused``: (anchor,
    licence id)), and, from a trusted read of complete rules, the licences this tool assigned
    that nothing asks for any more. ``names`` names licences no rule names any more (the
    catalogue); ``person`` gives the user of an anchor."""
    wanting: dict[str, list[LicenseItem]] = {}
    for labels, anchors in found.active.items():
        for license_id, why in rules.wanted(labels).items():
            item = LicenseItem(license_id, rules.names.get(license_id, license_id), why)
            for anchor in anchors - grants.holders.get(license_id, _NONE):
                if (anchor, license_id) not in refused:
                    wanting.setdefault(anchor, []).append(item)
    giving: dict[str, list[LicenseItem]] = {}
    if options.trusted and rules.complete:
        known = {**(names or {}), **rules.names}
        for license_id in grants.holders:
            for standing, anchors in _reclaimable(found, rules, license_id, options):
                why = _RECLAIMS[standing][1]
                item = LicenseItem(license_id, known.get(license_id, license_id), why)
                for anchor in grants.ours_among(license_id, anchors):
                    giving.setdefault(anchor, []).append(item)
    needs = [
        Need(person(anchor), ActionKind.ASSIGN_LICENSE, Reason.RULE_MATCHED, tuple(wanting[anchor]))
        for anchor in sorted(wanting)
    ]
    for anchor in sorted(giving):
        user = person(anchor)
        needs.append(
            Need(user, ActionKind.RECLAIM_LICENSE, _RECLAIMS[user.standing][0], tuple(giving[anchor]))
        )
    return needs


# -- within the units, behind the guard -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReclaimGuard:
    """``safety.max_deprovisions`` applied to reclaims: the count, or the percentage of the
    ``licensed`` users (those holding a licence this tool knows of); ``approved`` (anchor, kind)
    go ahead whatever the limits."""

    limits: DeprovisionLimits
    licensed: int
    approved: Collection[tuple[str, ActionKind]] = frozenset()


@dataclass(frozen=True, slots=True)
class LicensePlan:
    """What a cycle does with licences: the actions to send (reclaims first), those held, the
    licences users already held (recorded as not ours), the users left without, the capacity."""

    actions: tuple[LicenseAction, ...] = ()
    held: tuple[LicenseAction, ...] = ()
    noted: tuple[LicenseAction, ...] = ()
    """Licences users already held: nothing is sent, they are recorded as not ours."""
    problems: tuple[Problem, ...] = ()
    capacity: tuple[CapacityRow, ...] = ()


HELD_BEFORE = (
    "already held in Webex before webex-provisioner would assign it: recorded as not ours (never reclaimed)"
)


def _action(need: Need, items: tuple[LicenseItem, ...]) -> LicenseAction:
    user = need.user
    return LicenseAction(need.kind, need.reason, user.anchor, user.email, items, user.webex_id)


def guard_reclaims(
    reclaims: Sequence[LicenseAction], guard: ReclaimGuard
) -> tuple[list[LicenseAction], list[LicenseAction]]:
    """(kept, held): every reclaim not approved is held when there are more than the limits
    allow for the licensed users (one user's reclaim is never held by the percentage). A
    deprovisioned user's reclaim is not counted: its deprovision passed the deprovision guard."""
    chosen = [a for a in reclaims if _passes(a, guard)]
    rest = [a for a in reclaims if not _passes(a, guard)]
    allowed = guard.limits.allowed(guard.licensed)
    if allowed is None or len(rest) <= allowed:
        return [*rest, *chosen], []
    return chosen, rest


def _passes(action: LicenseAction, guard: ReclaimGuard) -> bool:
    return action.reason is Reason.USER_DEPROVISIONED or (action.anchor, action.kind) in guard.approved


@dataclass
class _Units:
    free: dict[str, int]
    assign: dict[str, int] = field(default_factory=dict)
    reclaim: dict[str, int] = field(default_factory=dict)
    shortfall: dict[str, int] = field(default_factory=dict)

    def take(self, license_id: str) -> bool:
        if self.free.get(license_id, 0) <= 0:
            self.shortfall[license_id] = self.shortfall.get(license_id, 0) + 1
            return False
        self.free[license_id] -= 1
        self.assign[license_id] = self.assign.get(license_id, 0) + 1
        return True


def _shortfall(need: Need, missing: Sequence[LicenseItem], catalog: Mapping[str, License]) -> Problem:
    described = []
    for item in missing:
        licence = catalog.get(item.license_id)
        units = f" ({licence.consumed} of {licence.total} units used)" if licence is not None else ""
        described.append(f"{item.name}{units}")
    user = need.user
    return Problem(
        ProblemKind.SHORTFALL,
        user.anchor,
        user.dn,
        user.email,
        f"no free units of {', '.join(described)}; the next cycle assigns it when units free up "
        "(add units, or reclaim some in Control Hub)",
        resource="license",
    )


def allocate(
    needs: Sequence[Need],
    catalog: Mapping[str, License],
    holdings: Mapping[str, frozenset[str]],
    guard: ReclaimGuard,
    rules: RuleSet,
) -> LicensePlan:
    """Reclaims (behind the guard) free units first; then each user's assignments, by e-mail, take
    the free units; what a user already holds (``holdings``, as read from Webex, by anchor) is
    noted as not ours and not sent; each user left without is a ``shortfall`` problem."""
    reclaims = [_action(n, n.items) for n in needs if n.kind is ActionKind.RECLAIM_LICENSE]
    kept, held = guard_reclaims(reclaims, guard)
    units = _Units({i: licence.free for i, licence in catalog.items()})
    for action in kept:
        for item in action.licenses:
            units.free[item.license_id] = units.free.get(item.license_id, 0) + 1
            units.reclaim[item.license_id] = units.reclaim.get(item.license_id, 0) + 1
    assigns: list[LicenseAction] = []
    noted: list[LicenseAction] = []
    problems: list[Problem] = []
    wanting = sorted(
        (n for n in needs if n.kind is ActionKind.ASSIGN_LICENSE), key=lambda n: (n.user.email, n.user.anchor)
    )
    for need in wanting:
        already = holdings.get(need.user.anchor, frozenset())
        held_before = tuple(i for i in need.items if i.license_id in already)
        if held_before:
            noted.append(replace(_action(need, held_before), detail=HELD_BEFORE))
        fresh = [i for i in need.items if i.license_id not in already]
        granted = tuple(i for i in fresh if units.take(i.license_id))
        if granted:
            assigns.append(_action(need, granted))
        if len(granted) < len(fresh):
            problems.append(_shortfall(need, [i for i in fresh if i not in granted], catalog))
    return LicensePlan(
        (*kept, *assigns), tuple(held), tuple(noted), tuple(problems), _capacity(catalog, rules, units, held)
    )


def _capacity(
    catalog: Mapping[str, License], rules: RuleSet, units: _Units, held: Sequence[LicenseAction]
) -> tuple[CapacityRow, ...]:
    ids = rules.license_ids()
    ids += [i for i in (*units.reclaim, *(it.license_id for a in held for it in a.licenses)) if i not in ids]
    rows = []
    for license_id in dict.fromkeys(ids):
        licence = catalog.get(license_id)
        rows.append(
            CapacityRow(
                license_id,
                licence.name if licence is not None else rules.names.get(license_id, license_id),
                licence.total if licence is not None else 0,
                licence.consumed if licence is not None else 0,
                units.assign.get(license_id, 0),
                units.reclaim.get(license_id, 0),
                units.shortfall.get(license_id, 0),
            )
        )
    return tuple(rows)


# -- Webex's answers --------------------------------------------------------------------------------

LASTING_REFUSALS = frozenset(
    {400, 400112, 400118, 400216, 400404, 400406, 400407, 400408, 400410, 400411, 400413}
    | set(range(700003, 700007))
)
"""Webex's documented ``errorCode``s of ``PATCH /v1/licenses/users`` whose cause does not pass by
itself (a forbidden downgrade, conflicting licences, a Calling licence without a number or a
location, free-tier prerequisites): asked again only once the rules change. 400000 (licence not
recognised) is not one: the catalogue is read again instead."""

UNKNOWN_LICENSE = 400000


def refusal_lasts(code: int | None) -> bool:
    """Whether Webex refusing a licence with ``code`` stands until the rules change."""
    return code in LASTING_REFUSALS


ASSIGNEES_PER_PAGE = 300
"""The most holders one page of ``GET /v1/licenses/{id}?includeAssignedTo=user`` lists."""


def read_by_listing(users: int, licences: Iterable[License]) -> bool:
    """Whether to learn what ``users`` hold by listing the holders of ``licences`` (a page per
    300 holders of each) rather than by reading each user (a request each): the cheaper."""
    pages = sum(licence.consumed // ASSIGNEES_PER_PAGE + 1 for licence in licences)
    return pages < users


# -- drift -------------------------------------------------------------------------------------------


def removed_in_webex(
    found: Standings, grants: GrantIndex, rules: RuleSet, listed: Mapping[str, Collection[str]]
) -> dict[str, frozenset[str]]:
    """Per anchor of an active user, the licences its rules ask for that the state records it
    holding and Webex no longer lists for it (``listed``: licence id → the anchors Webex lists;
    a licence not in it was not read)."""
    removed: dict[str, set[str]] = {}
    for labels, anchors in found.active.items():
        for license_id in rules.wanted(labels):
            if license_id not in listed:
                continue
            for anchor in (grants.holders.get(license_id, _NONE) & anchors).difference(listed[license_id]):
                removed.setdefault(anchor, set()).add(license_id)
    return {anchor: frozenset(ids) for anchor, ids in removed.items()}


def repairs(needs: Sequence[Need], removed: Mapping[str, frozenset[str]]) -> list[Need]:
    """``needs`` with each assignment of a licence removed in Webex tagged ``drift_in_webex``."""
    tagged: list[Need] = []
    for need in needs:
        gone = removed.get(need.user.anchor, frozenset())
        if need.kind is not ActionKind.ASSIGN_LICENSE or not gone & {i.license_id for i in need.items}:
            tagged.append(need)
            continue
        items = tuple(
            replace(i, why=f"removed in Webex; {i.why}") if i.license_id in gone else i for i in need.items
        )
        tagged.append(replace(need, reason=Reason.DRIFT_IN_WEBEX, items=items))
    return tagged


def drift_problems(
    removed: Mapping[str, frozenset[str]], person: Callable[[str], LicenseUser], names: Mapping[str, str]
) -> list[Problem]:
    """``drift.licenses: report``: each user whose licences were removed in Webex, reported."""
    problems = []
    for anchor in sorted(removed):
        user = person(anchor)
        listed = ", ".join(sorted(names.get(i, i) for i in removed[anchor]))
        detail = f"{listed} removed in Webex (drift.licenses: report leaves it so)"
        problems.append(Problem(ProblemKind.DRIFT, anchor, user.dn, user.email, detail, resource="license"))
    return problems
