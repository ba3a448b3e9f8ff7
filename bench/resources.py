"""The cost of the resources beside users: pushed groups and licences by rule.

Run on emulator A once its users exist (the state ``single``), each measurement next to a full
cycle without the resource, so that the machine's mood weighs on both:

* **groups**: ``groups:`` selects ``GROUPS_PER_USERS`` of the users' count in synthetic groups
  (``cn=team0000`` …, ``GROUP_MEMBERS`` members each, every tenth nesting the next). The first
  push's requests are compared with ``groups + memberships / 100`` (one create with its first
  100 members, then a request per further 100); then ``NOOP_PAIRS`` pairs of full cycles with
  nothing changed, without groups then with them (the pair with the median ratio is reported).
* **drift** (on emulator B, which holds just the N users): a first check (every user compared,
  what it verified kept), then ``NOOP_PAIRS`` no-op full cycles with
  ``drift: {check: never}``, each followed by one with ``check: full`` (the pair with the median
  ratio is reported), the requests the check adds (target: one per page of Webex users), and the
  Webex listing floor (``bench.floors.listing_floor``): a check that overlaps the listing with
  the directory read perfectly takes the longer of the two.
* **licences**: ``licenses:`` gives everyone one licence and the members of one group another.
  The first cycle assigns them (one request per user, after reading the catalogue and the
  holders); then ``NOOP_PAIRS`` pairs of full cycles with nothing changed, without licences then
  with them (the median pair is reported), and the requests the second sends beyond the first's
  (target: none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.floors import listing_floor
from bench.processes import BenchError, EmulatorProcess
from webex_provisioner.sandbox import ThrowawaySlapd
from webex_provisioner.webex.client import PAGE_SIZE as WEBEX_PAGE

GROUPS_PER_USERS = 100
"""One group per this many users (1,000 at 100,000 users)."""
GROUP_MEMBERS = 300
MEETINGS = "Webex Meetings - Enterprise"
MESSAGING = "Webex Messaging"


def group_count(users: int) -> int:
    return max(1, users // GROUPS_PER_USERS)


def group_members(users: int) -> int:
    return min(GROUP_MEMBERS, users)


def emulator_licenses(users: int) -> dict[str, int]:
    """The licences emulator A holds: enough units for everyone."""
    return {MEETINGS: users * 2, MESSAGING: users}


GROUPS: dict[str, Any] = {
    "groups": {"base_dn": "ou=groups,dc=example,dc=com", "filter": "(cn=team*)", "members_per_request": 100}
}
LICENSES: dict[str, Any] = {
    "licenses": {
        "rules": [
            {"when": {"everyone": True}, "assign": [MEETINGS]},
            {"when": {"group": "cn=team0001,ou=groups,dc=example,dc=com"}, "assign": [MESSAGING]},
        ]
    }
}

Cycle = Callable[..., Any]
ConfigFile = Callable[..., Path]


def measure_resources(
    bench: Any, slapd: ThrowawaySlapd, env: Mapping[str, str], emulator: EmulatorProcess
) -> None:
    """The groups and licences measurements (see the module docstring), in ``bench.result``."""
    plain = bench.config_file("single", slapd, emulator, bulk=False)
    groups = bench.config_file("groups", slapd, emulator, bulk=False, state="single", extra=GROUPS)
    licensed = bench.config_file("licensed", slapd, emulator, bulk=False, state="single", extra=LICENSES)
    users = bench.users
    first = bench.cycle("groups_first", groups, env, emulator, "--full")
    pushed = first.count("create_group")
    if pushed != group_count(users):
        raise BenchError(
            f"the first cycle with groups created {pushed} groups; expected {group_count(users)}"
        )
    keep_median_pair(bench, ("resource_baseline_groups", "groups_unchanged"), (plain, groups), env, emulator)
    assigned = bench.cycle("licenses_first", licensed, env, emulator, "--full")
    if assigned.count("assign_license") < users:
        raise BenchError(
            f"the first cycle with licences assigned to {assigned.count('assign_license')} users; "
            f"expected {users}"
        )
    keep_median_pair(
        bench, ("resource_baseline_licenses", "licenses_unchanged"), (plain, licensed), env, emulator
    )


NOOP_PAIRS = 3
"""No-op full cycles without and with a resource, back to back, this many times: on a shared
machine two no-op cycles of one configuration differ by up to 20 %, so one pair decides nothing."""


def noop_pairs(
    bench: Any,
    names: tuple[str, str],
    configs: tuple[Path, Path],
    env: Mapping[str, str],
    emulator: EmulatorProcess,
    pairs: int = NOOP_PAIRS,
) -> list[tuple[Any, Any]]:
    """``pairs`` times a no-op full cycle with ``configs[0]`` (named ``names[0]_N``) then one with
    ``configs[1]``; a second cycle that applies anything is an error (something was not in step)."""
    found = []
    for n in range(1, pairs + 1):
        pair = (
            bench.cycle(f"{names[0]}_{n}", configs[0], env, emulator, "--full"),
            bench.cycle(f"{names[1]}_{n}", configs[1], env, emulator, "--full"),
        )
        if pair[1].applied:
            raise BenchError(f"the no-op cycle {names[1]}_{n} applied {pair[1].applied}")
        found.append(pair)
    return found


def keep_median_pair(
    bench: Any,
    names: tuple[str, str],
    configs: tuple[Path, Path],
    env: Mapping[str, str],
    emulator: EmulatorProcess,
) -> None:
    """Runs ``noop_pairs`` and keeps, under ``names``, the pair with the median ratio (second /
    first); the others are dropped from the results."""
    pairs = noop_pairs(bench, names, configs, env, emulator)
    ranked = sorted(pairs, key=lambda pair: pair[1].cycle_seconds / pair[0].cycle_seconds)
    first, second = ranked[len(pairs) // 2]
    for cycle in (c for pair in pairs for c in pair):
        del bench.result.cycles[cycle.name]
    bench.result.cycles[names[0]] = replace(first, name=names[0])
    bench.result.cycles[names[1]] = replace(second, name=names[1])


def measure_drift(
    bench: Any, slapd: ThrowawaySlapd, env: Mapping[str, str], emulator: EmulatorProcess
) -> None:
    """The drift check's cost, on the state ``bulk`` (see the module docstring)."""
    configs = tuple(
        bench.config_file(
            f"drift_{check}", slapd, emulator, bulk=True, state="bulk", extra={"drift": {"check": check}}
        )
        for check in ("never", "full")
    )
    bench.cycle("drift_first", configs[1], env, emulator, "--full")  # compares all, keeps what it verified
    keep_median_pair(bench, ("drift_never", "drift_full"), (configs[0], configs[1]), env, emulator)
    bench.result.listing_floor = listing_floor(emulator.scim_url, emulator.token, WEBEX_PAGE)
    bench.say(f"  Webex listing floor: {bench.result.listing_floor:.2f} s")


def resource_ratios(
    cycles: Mapping[str, Any], users: int, read_floor: float | None, listing: float | None = None
) -> dict[str, float | None]:
    """Groups and licences against the full cycle run just before without them (and the full
    cycle with groups against the ``ldapsearch`` floor)."""

    def div(a: str, b: str) -> float | None:
        x, y = cycles.get(a), cycles.get(b)
        return (
            round(x.cycle_seconds / y.cycle_seconds, 3) if x is not None and y and y.cycle_seconds else None
        )

    first = cycles.get("groups_first")
    bound = group_count(users) + group_count(users) * group_members(users) / 100
    licences, baseline = cycles.get("licenses_unchanged"), cycles.get("resource_baseline_licenses")
    grouped = cycles.get("groups_unchanged")
    never, checked = cycles.get("drift_never"), cycles.get("drift_full")
    pages = math.ceil(users / WEBEX_PAGE)
    return {
        "drift_full_over_never": div("drift_full", "drift_never"),
        "drift_full_over_floor": (
            round(checked.cycle_seconds / max(never.cycle_seconds, listing), 3)
            if checked is not None and never is not None and listing
            else None
        ),
        "drift_requests_over_pages": (
            round((checked.requests - never.requests) / pages, 3)
            if checked is not None and never is not None
            else None
        ),
        "groups_unchanged_over_ldapsearch": (
            round(grouped.cycle_seconds / read_floor, 3) if grouped is not None and read_floor else None
        ),
        "groups_unchanged_over_full": div("groups_unchanged", "resource_baseline_groups"),
        "licenses_unchanged_over_full": div("licenses_unchanged", "resource_baseline_licenses"),
        "groups_first_requests_over_bound": round(first.requests / bound, 3) if first is not None else None,
        "licenses_unchanged_extra_requests": (
            float(licences.requests - baseline.requests)
            if licences is not None and baseline is not None
            else None
        ),
    }
