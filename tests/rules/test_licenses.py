"""The licence rules decide from data alone: resolving names against the catalogue, where users
stand, what they need, reclaiming only what this tool assigned, capacity and the reclaim guard."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from webex_provisioner.model import (
    Action,
    ActionKind,
    Grant,
    License,
    LicenseRuleSpec,
    Link,
    LinkState,
    Plan,
    Problem,
    ProblemKind,
    Reason,
)
from webex_provisioner.model.licenses import group_label
from webex_provisioner.rules.licenses import (
    GrantIndex,
    LicenseOptions,
    LicenseUser,
    Need,
    People,
    ReclaimGuard,
    RuleSet,
    Standing,
    Standings,
    allocate,
    license_needs,
    read_by_listing,
    refusal_lasts,
    resolve_rules,
    standings,
)
from webex_provisioner.rules.safety import DeprovisionLimits

MEETINGS = License("lic-meet", "Webex Meetings - Enterprise", total=100, consumed=10)
MESSAGING = License("lic-msg", "Webex Messaging", total=5, consumed=3)
CALLING = License("lic-call", "Webex Calling - Professional", total=50, consumed=0, calling=True)
CATALOG = [MEETINGS, MESSAGING, CALLING]
BY_ID = {licence.id: licence for licence in CATALOG}
GROUP = "cn=Messaging,ou=groups,dc=example,dc=com"
LABEL = group_label(GROUP)

EVERYONE = LicenseRuleSpec(1, None, "everyone", ("Webex Meetings - Enterprise",))
MEMBERS = LicenseRuleSpec(2, LABEL, f"member of {GROUP}", ("webex messaging",))
NO_GUARD = ReclaimGuard(DeprovisionLimits(None, None), 100)


def rules(*specs: LicenseRuleSpec, catalog: Iterable[License] = CATALOG) -> RuleSet:
    return resolve_rules(specs or (EVERYONE, MEMBERS), list(catalog), "digest")


def user(
    name: str, standing: Standing = Standing.ACTIVE, *labels: str, webex_id: str | None = None
) -> LicenseUser:
    return LicenseUser(
        f"a-{name}",
        f"{name}@example.com",
        f"uid={name},dc=example,dc=com",
        standing,
        frozenset(labels),
        webex_id or f"w-{name}",
    )


def grants(*items: tuple[str, str, bool]) -> dict[str, list[Grant]]:
    found: dict[str, list[Grant]] = {}
    for name, license_id, ours in items:
        found.setdefault(f"a-{name}", []).append(Grant(f"a-{name}", license_id, ours))
    return found


def act(kind: ActionKind, reason: Reason, name: str, *, webex: bool = False) -> Action:
    return Action(
        kind, reason, f"a-{name}", f"{name}@example.com", f"uid={name}", f"w-{name}" if webex else None
    )


def needs_of(
    users: list[LicenseUser],
    grants_by_anchor: dict[str, list[Grant]],
    rule_set: RuleSet,
    options: LicenseOptions,
    **kwargs: object,
) -> list[Need]:
    """``license_needs`` for these users and grants."""
    by_anchor = {u.anchor: u for u in users}
    index = GrantIndex.build(g for held in grants_by_anchor.values() for g in held)
    return license_needs(
        Standings.of(users), index, rule_set, options, person=by_anchor.__getitem__, **kwargs
    )  # type: ignore[arg-type]


def link(name: str, state: LinkState = LinkState.ACTIVE) -> Link:
    return Link(f"a-{name}", f"w-{name}", f"{name}@example.com", f"uid={name},dc=example,dc=com", state)


# -- resolving --------------------------------------------------------------------------------------


def test_names_match_case_insensitively_and_an_id_wins() -> None:
    """A licence is named by its name in any case, or by its id; an id equal to another
    licence's name still means the licence with that id."""
    odd = License("Webex Messaging", "Something else", 1, 0)
    resolved = resolve_rules(
        [LicenseRuleSpec(1, None, "everyone", ("WEBEX MEETINGS - ENTERPRISE", "Webex Messaging"))],
        [MEETINGS, MESSAGING, odd],
    )
    assert resolved.complete
    assert resolved.rules[0].license_ids == ("lic-meet", "Webex Messaging")


def test_an_unknown_name_is_a_problem_listing_the_licences_that_exist() -> None:
    """A rule naming a licence the organization does not have is a problem naming the rule and
    the licences there are; the rules are then incomplete (nothing is reclaimed)."""
    resolved = rules(LicenseRuleSpec(3, None, "everyone", ("Webex Teams",)))
    assert not resolved.complete
    (problem,) = resolved.problems
    assert problem.startswith("licenses.rules[3]:")
    assert "'Webex Teams'" in problem and "'Webex Messaging'" in problem


def test_a_calling_licence_is_refused_as_unsupported() -> None:
    """Calling licences need a location and a number per user: a rule naming one is a clear
    problem, and it is never assigned."""
    resolved = rules(LicenseRuleSpec(1, None, "everyone", ("Webex Calling - Professional",)))
    assert resolved.rules[0].license_ids == ()
    assert "Calling licence" in resolved.problems[0] and "not supported" in resolved.problems[0]


def test_a_name_two_licences_share_asks_for_an_id() -> None:
    """Two licences with one name (two subscriptions) make the name ambiguous: the problem
    lists both ids."""
    twin = License("lic-meet-2", "Webex Meetings - Enterprise", 10, 0)
    resolved = rules(EVERYONE, catalog=[MEETINGS, twin])
    assert "lic-meet" in resolved.problems[0] and "lic-meet-2" in resolved.problems[0]


def test_wanted_is_the_union_of_the_matching_rules_with_the_first_rule_named() -> None:
    """A user gets every licence of every rule it matches; each is explained by the first rule
    asking for it."""
    resolved = rules(EVERYONE, MEMBERS, LicenseRuleSpec(3, None, "everyone", ("Webex Messaging",)))
    assert resolved.wanted(frozenset()) == {"lic-meet": EVERYONE.title, "lic-msg": "rule 3 (everyone)"}
    assert resolved.wanted({LABEL})["lic-msg"] == MEMBERS.title


# -- where users stand ------------------------------------------------------------------------------


def test_standing_follows_the_cycle_user_actions() -> None:
    """Enabled, in-scope users are active; a user being disabled is deprovisioned; a user the
    plan creates is active without a Webex id; a deleted user, a held one and one with a
    problem are left alone; a linked user the directory no longer has (full cycle) is out of
    scope; a link disabled earlier is deprovisioned."""
    links = {
        a.anchor: a
        for a in (
            link("ann"),
            link("bob"),
            link("cy"),
            link("dee"),
            link("eve"),
            link("gus", LinkState.DISABLED),
            link("hal"),
        )
    }
    plan = Plan(
        actions=(
            act(ActionKind.DISABLE, Reason.DISABLED_IN_DIRECTORY, "bob", webex=True),
            act(ActionKind.DELETE, Reason.DELETED_IN_DIRECTORY, "cy", webex=True),
            act(ActionKind.CREATE, Reason.ENTERED_SCOPE, "new"),
        ),
        held=(act(ActionKind.DISABLE, Reason.LEFT_SCOPE, "dee", webex=True),),
        problems=(Problem(ProblemKind.INVALID, "a-hal", "uid=hal", "hal@example.com", "bad"),),
    )
    seen = {
        "a-ann": frozenset({LABEL}),
        "a-bob": None,
        "a-new": frozenset(),
        "a-dee": None,
        "a-gus": None,
        "a-hal": frozenset(),
    }
    where = standings(seen, links, plan, full=True)
    person = People(links, plan, seen, where)
    found = {a: person(a) for a in where.anchors()}
    assert found["a-ann"].standing is Standing.ACTIVE and found["a-ann"].labels == {LABEL}
    assert found["a-bob"].standing is Standing.DEPROVISIONED
    assert found["a-new"].standing is Standing.ACTIVE and found["a-new"].webex_id is None
    assert found["a-eve"].standing is Standing.OUT_OF_SCOPE
    assert found["a-gus"].standing is Standing.DEPROVISIONED
    assert not {"a-cy", "a-dee", "a-hal"} & found.keys()


def test_an_incremental_cycle_looks_only_at_the_users_it_read() -> None:
    """Without a full read, a linked user the cycle did not read is not looked at (its licences
    are not reclaimed because it was not seen)."""
    links = {"a-ann": link("ann"), "a-bob": link("bob")}
    found = standings({"a-ann": frozenset()}, links, Plan(), full=False)
    assert found.anchors() == {"a-ann"}


# -- needs -----------------------------------------------------------------------------------------


def test_the_grant_index_tells_ours_from_others_and_shares_the_links_anchors() -> None:
    """Among any anchors, ``ours_among`` gives those holding the licence because this tool
    assigned it (not those who held it before, nor non-holders); built with the links, each
    anchor kept is the link's own string, not a second copy read from the state."""
    links = {f"a-{n}": link(n) for n in ("ann", "bob", "cid")}
    read = grants(("ann", "lic-m", True), ("bob", "lic-m", False), ("cid", "lic-x", True))
    copies = [Grant("".join(g.anchor), g.license_id, g.ours) for held in read.values() for g in held]
    assert all(g.anchor is not links[g.anchor].anchor for g in copies)
    index = GrantIndex.build(copies, links)
    assert index.ours_among("lic-m", set(links)) == {"a-ann"}
    assert index.ours_among("lic-x", {"a-ann", "a-bob"}) == set()
    assert index.ours_among("lic-none", set(links)) == set()
    kept = [a for anchors in index.holders.values() for a in anchors]
    assert len(kept) == 3 and all(a is links[a].anchor for a in kept)
    assert index.without({"a-ann": frozenset({"lic-m"})}).ours_among("lic-m", set(links)) == set()


def test_a_user_needs_what_its_rules_ask_for_and_it_does_not_hold() -> None:
    """A licence recorded (ours or not) is not asked for again; a licence Webex refused under
    these rules neither."""
    users = [user("ann", Standing.ACTIVE, LABEL), user("bob", Standing.ACTIVE, LABEL)]
    needs = needs_of(
        users,
        grants(("ann", "lic-meet", False)),
        rules(),
        LicenseOptions(),
        refused=frozenset({("a-bob", "lic-msg")}),
    )
    assert [(n.user.anchor, n.kind, [i.license_id for i in n.items]) for n in needs] == [
        ("a-ann", ActionKind.ASSIGN_LICENSE, ["lic-msg"]),
        ("a-bob", ActionKind.ASSIGN_LICENSE, ["lic-meet"]),
    ]
    assert needs[0].items[0].why == MEMBERS.title


def test_only_licences_this_tool_assigned_are_reclaimed() -> None:
    """A user that left the group gives back the licence this tool assigned, never one an
    administrator assigned (not ours)."""
    needs = needs_of(
        [user("ann")],
        grants(("ann", "lic-meet", True), ("ann", "lic-msg", True), ("ann", "lic-other", False)),
        rules(),
        LicenseOptions(),
        names={"lic-other": "Other"},
    )
    (need,) = needs
    assert need.kind is ActionKind.RECLAIM_LICENSE and need.reason is Reason.NO_RULE_MATCHES
    assert [i.license_id for i in need.items] == ["lic-msg"]


@pytest.mark.parametrize(
    ("standing", "reclaim", "on_disable", "expected"),
    [
        (Standing.DEPROVISIONED, False, True, Reason.USER_DEPROVISIONED),
        (Standing.DEPROVISIONED, True, False, None),
        (Standing.OUT_OF_SCOPE, True, False, Reason.NO_RULE_MATCHES),
        (Standing.OUT_OF_SCOPE, False, True, None),
    ],
)
def test_reclaim_settings(
    standing: Standing, reclaim: bool, on_disable: bool, expected: Reason | None
) -> None:
    """``reclaim_on_disable`` governs deprovisioned users, ``reclaim`` the others (out of scope,
    or no rule asks any more)."""
    needs = needs_of(
        [user("ann", standing)],
        grants(("ann", "lic-meet", True)),
        rules(),
        LicenseOptions(reclaim, on_disable),
    )
    assert [n.reason for n in needs] == ([expected] if expected else [])


def test_nothing_is_reclaimed_from_an_untrusted_read_or_incomplete_rules() -> None:
    """A read that cannot be trusted, or a rule naming a licence that cannot be found (a
    renamed licence), reclaims nothing; assignments still go ahead."""
    owned = grants(("ann", "lic-msg", True))
    untrusted = needs_of([user("ann")], owned, rules(), LicenseOptions(trusted=False))
    assert [n.kind for n in untrusted] == [ActionKind.ASSIGN_LICENSE]
    broken = rules(EVERYONE, LicenseRuleSpec(2, LABEL, "group", ("Renamed Messaging",)))
    needs = needs_of([user("ann")], owned, broken, LicenseOptions())
    assert [n.kind for n in needs] == [ActionKind.ASSIGN_LICENSE]


# -- allocation ------------------------------------------------------------------------------------


def assign_needs(*names: str, labels: tuple[str, ...] = (LABEL,)) -> list[Need]:
    return needs_of([user(n, Standing.ACTIVE, *labels) for n in names], {}, rules(MEMBERS), LicenseOptions())


def test_assignments_beyond_the_free_units_are_shortfalls() -> None:
    """With 2 free units of Messaging, the first two users (by e-mail) get it and the third is
    reported as left without, naming the licence and its units."""
    planned = allocate(assign_needs("cy", "ann", "bob"), BY_ID, {}, NO_GUARD, rules(MEMBERS))
    assert [a.email for a in planned.actions] == ["ann@example.com", "bob@example.com"]
    (problem,) = planned.problems
    assert problem.kind is ProblemKind.SHORTFALL and problem.email == "cy@example.com"
    assert "no free units of Webex Messaging (3 of 5 units used)" in problem.detail
    (row,) = planned.capacity
    assert (row.total, row.consumed, row.assign, row.reclaim, row.shortfall) == (5, 3, 2, 0, 1)


def test_reclaims_free_units_for_assignments_in_the_same_cycle() -> None:
    """A reclaim is sent first and its unit counts as free for the assignments after it."""
    full = License("lic-msg", "Webex Messaging", total=3, consumed=3)
    needs = assign_needs("ann") + needs_of(
        [user("zed")], grants(("zed", "lic-msg", True)), rules(MEMBERS), LicenseOptions()
    )
    planned = allocate(needs, {"lic-msg": full}, {}, NO_GUARD, rules(MEMBERS, catalog=[full]))
    assert [a.kind for a in planned.actions] == [ActionKind.RECLAIM_LICENSE, ActionKind.ASSIGN_LICENSE]
    assert not planned.problems


def test_a_licence_already_held_is_noted_not_sent() -> None:
    """A licence the user already holds in Webex is recorded as not ours, sent to nobody, and
    takes no unit."""
    planned = allocate(
        assign_needs("ann", "bob"),
        BY_ID,
        {"a-ann": frozenset({"lic-msg"})},
        NO_GUARD,
        rules(MEMBERS),
    )
    assert [a.email for a in planned.actions] == ["bob@example.com"]
    (noted,) = planned.noted
    assert noted.anchor == "a-ann" and noted.license_ids == ("lic-msg",) and "not ours" in noted.detail
    assert planned.capacity[0].assign == 1


def test_reclaims_beyond_the_limits_are_held_unless_approved() -> None:
    """More reclaims than ``max_deprovisions`` allows for the licensed users are all held; an
    approved one goes ahead; held reclaims free no unit."""
    owned = grants(*((n, "lic-msg", True) for n in ("a", "b", "c")))
    needs = needs_of([user(n) for n in ("a", "b", "c")], owned, rules(MEMBERS), LicenseOptions())
    guard = ReclaimGuard(DeprovisionLimits(1, None), 3, approved={("a-b", ActionKind.RECLAIM_LICENSE)})
    planned = allocate(needs, BY_ID, {}, guard, rules(MEMBERS))
    assert [a.anchor for a in planned.actions] == ["a-b"]
    assert [a.anchor for a in planned.held] == ["a-a", "a-c"]
    assert planned.capacity[0].reclaim == 1


def test_webex_refusals_that_stand_and_the_read_strategy() -> None:
    """Documented codes of a lasting cause stand until the rules change; an unknown licence
    (400000) or no code does not. Holdings are read by listing holders only when that takes
    fewer requests than reading each user."""
    assert refusal_lasts(400404) and refusal_lasts(400411) and refusal_lasts(700005)
    assert not refusal_lasts(400000) and not refusal_lasts(None)
    big = License("x", "X", 100_000, 90_000)
    assert not read_by_listing(5, [big])
    assert read_by_listing(5_000, [big])


def test_reclaims_of_deprovisioned_users_follow_the_deprovision_guard() -> None:
    """A deprovisioned user's licences go back whatever the reclaim limits: its deprovision was
    guarded (and approved) already."""
    owned = grants(*((n, "lic-msg", True) for n in ("a", "b", "c")))
    users = [user(n, Standing.DEPROVISIONED) for n in ("a", "b", "c")]
    needs = needs_of(users, owned, rules(MEMBERS), LicenseOptions())
    planned = allocate(needs, BY_ID, {}, ReclaimGuard(DeprovisionLimits(1, None), 3), rules(MEMBERS))
    assert len(planned.actions) == 3 and not planned.held
