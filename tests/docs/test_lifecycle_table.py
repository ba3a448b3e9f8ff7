"""docs/lifecycle.md's tables are the planner's rules: every row is run through the planner.

Each row names its case in its first column (`new`, `left-scope`, ...). Here each case builds the
situation its row describes (directory users, links, Webex users; several situations when the
row names several, e.g. "out of scope, disabled or gone"), and the row's last column says what
the planner must plan:

* the actions in order, each written `` `kind` (reason) ``, optionally followed by ``active`` or
  ``inactive``; or ``nothing``;
* the problems, written as their kind in backticks (`` reported as `conflict` ``); none otherwise;
* after ``; with `setting: value`, ...`` the same under other ``provisioning:`` settings.

A row this test cannot read, a case it does not know and a case without a row all fail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tests.docs.markdown_text import DOCS, Row, tables
from webex_provisioner.config import ProvisioningConfig
from webex_provisioner.model import (
    ActionKind,
    DirectoryUser,
    Link,
    LinkState,
    Plan,
    ProblemKind,
    Reason,
    WebexUser,
)
from webex_provisioner.model.keys import fingerprint, fold_email
from webex_provisioner.rules.mapping import MappingRule, compile_mapping
from webex_provisioner.rules.planner import PlanOptions, assess, finish

LIFECYCLE = DOCS / "lifecycle.md"
HEADER = ("case", "directory user", "link", "Webex", "action (reason)")

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MAPPING = compile_mapping(
    {
        "email": MappingRule(source="mail"),
        "firstName": MappingRule(source="givenName"),
        "title": MappingRule(source="title"),
    }
)

# -- reading the rows -------------------------------------------------------------------------

ACTION_KINDS = {kind.value for kind in ActionKind}
PROBLEM_KINDS = {kind.value for kind in ProblemKind}
REASONS = {reason.value for reason in Reason}

_CASE = re.compile(r"^`(?P<case>[a-z0-9][a-z0-9-]*)`$")
_ACTION = re.compile(r"`(?P<kind>[a-z_]+)`\s*\((?P<reason>[a-z_]+)\)(?:,?\s+(?P<active>active|inactive)\b)?")
_SETTING = r"`\w+:[^`]*`"
_WITH = re.compile(
    rf"^with\s+(?P<settings>{_SETTING}(?:(?:\s*,\s*|\s+and\s+){_SETTING})*)[^,`]*,\s*(?P<outcome>.+)$",
    re.S,
)
_CODE = re.compile(r"`([^`]+)`")


class UnreadableRowError(Exception):
    """A row of the table that does not say what the planner plans in a form this test reads."""


@dataclass(frozen=True)
class Expected:
    """What a row says the planner plans: (kind, reason, active or None when not said), problems."""

    actions: tuple[tuple[str, str, bool | None], ...]
    problems: frozenset[str]


@dataclass(frozen=True)
class Variant:
    """One outcome of a row: under the default settings, or under ``settings`` (provisioning:)."""

    settings: Mapping[str, Any]
    expected: Expected


@dataclass(frozen=True)
class CaseRow:
    case: str
    line: int
    variants: tuple[Variant, ...]


def lifecycle_rows() -> list[Row]:
    """Every row of every table of docs/lifecycle.md with the lifecycle header."""
    return [
        row
        for table in tables(LIFECYCLE.read_text(encoding="utf-8"))
        if table.header == HEADER
        for row in table.rows
    ]


def row_case(row: Row) -> str | None:
    match = _CASE.match(row.cells[0]) if row.cells else None
    return match["case"] if match else None


def parse_outcome(text: str) -> Expected:
    text = text.strip()
    actions = []
    for match in _ACTION.finditer(text):
        if match["kind"] not in ACTION_KINDS:
            continue
        if match["reason"] not in REASONS:
            raise UnreadableRowError(
                f"({match['reason']}) is not a reason; the reasons are {sorted(REASONS)}"
            )
        active = None if match["active"] is None else match["active"] == "active"
        actions.append((match["kind"], match["reason"], active))
    named = [code for code in _CODE.findall(text) if code in ACTION_KINDS]
    if len(named) != len(actions):
        raise UnreadableRowError(
            f"{text!r} names an action without its reason; write each as `kind` (reason)"
        )
    says_nothing = text.lower().startswith("nothing")
    if says_nothing == bool(actions):
        raise UnreadableRowError(
            f"{text!r} must either start with 'nothing' or list actions as `kind` (reason), not both"
        )
    problems = frozenset(code for code in _CODE.findall(text) if code in PROBLEM_KINDS)
    return Expected(tuple(actions), problems)


def parse_settings(text: str) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for code in _CODE.findall(text):
        parsed = yaml.safe_load("{" + code + "}")
        if not isinstance(parsed, dict):
            raise UnreadableRowError(f"`{code}` is not a provisioning: setting written `name: value`")
        settings.update(parsed)
    return settings


def parse_row(row: Row) -> CaseRow:
    """The row's case and outcomes; ``UnreadableRowError`` says what is wrong with it."""
    if len(row.cells) != len(HEADER):
        raise UnreadableRowError(f"has {len(row.cells)} cells, the table {len(HEADER)}")
    case = row_case(row)
    if case is None:
        raise UnreadableRowError(f"its first cell {row.cells[0]!r} is not a case id like `left-scope`")
    chunks = re.split(r";\s*(?=with\s+`)", row.cells[-1])
    variants = [Variant({}, parse_outcome(chunks[0]))]
    for chunk in chunks[1:]:
        match = _WITH.match(chunk.strip())
        if not match:
            raise UnreadableRowError(f"{chunk!r} is not 'with `setting: value`, outcome'")
        variants.append(Variant(parse_settings(match["settings"]), parse_outcome(match["outcome"])))
    return CaseRow(case, row.line, tuple(variants))


# -- building the situations ------------------------------------------------------------------


def options(settings: Mapping[str, Any], **base: Any) -> PlanOptions:
    """PlanOptions from ``provisioning:`` settings, spelled and validated as in the configuration
    (``base`` first, then the row's ``settings``)."""
    merged = {**base, **settings}
    provisioning = ProvisioningConfig.model_validate(merged)
    values = {name: getattr(provisioning, name) for name in merged}
    if "protected" in values:
        values["protected"] = frozenset(fold_email(x) for x in values["protected"])
    return replace(PlanOptions(), **values)


def person(
    anchor: str,
    mail: str | tuple[str, ...] | None = "",
    *,
    given: str = "Ann",
    title: str | None = "Engineer",
    in_scope: bool = True,
    disabled: bool = False,
    dn: str | None = None,
) -> DirectoryUser:
    """A directory user; ``mail`` defaults to ``{anchor}@example.com``, None leaves it out, a
    tuple gives several values."""
    values: dict[str, tuple[str, ...]] = {"givenname": (given,)}
    if isinstance(mail, tuple):
        values["mail"] = mail
    elif mail is not None:
        values["mail"] = (mail or f"{anchor}@example.com",)
    if title is not None:
        values["title"] = (title,)
    return DirectoryUser(
        anchor=anchor,
        dn=dn or f"uid={anchor},ou=people,dc=example,dc=com",
        attributes=values,
        disabled=disabled,
        in_scope=in_scope,
    )


def desired(user: DirectoryUser) -> dict[str, str]:
    """What MAPPING makes of ``user`` (plus the anchor as externalId)."""
    result = {
        "email": user.first("mail") or "",
        "firstName": user.first("givenName") or "",
        "externalId": user.anchor,
    }
    if user.first("title") is not None:
        result["title"] = user.first("title") or ""
    return result


def link_for(
    user: DirectoryUser,
    *,
    state: LinkState = LinkState.ACTIVE,
    applied: Mapping[str, str] | None = None,
    reason: Reason | None = None,
    since: timedelta | None = None,
) -> Link:
    """The link of ``user``; by default what was applied is what the user maps to now."""
    values = dict(desired(user) if applied is None else applied)
    disabled = state is LinkState.DISABLED
    return Link(
        anchor=user.anchor,
        webex_id=f"w-{user.anchor}",
        email=values["email"],
        dn=f"uid={user.anchor},ou=people,dc=example,dc=com",
        state=state,
        applied=values,
        fingerprint=fingerprint(values),
        deprovisioned_at=NOW - (since or timedelta(days=1)) if disabled else None,
        deprovision_reason=(reason or Reason.LEFT_SCOPE) if disabled else None,
    )


def webex_user(
    user: DirectoryUser, *, active: bool = True, email: str | None = None, **changed: str
) -> WebexUser:
    """A Webex user holding what ``user`` maps to, but for ``email`` and the ``changed`` attributes."""
    values = {**desired(user), **changed}
    if email is not None:
        values["email"] = email
    return WebexUser(f"w-{user.anchor}-webex", values["email"], active, values)


def run(
    opts: PlanOptions,
    users: Iterable[DirectoryUser],
    links: Iterable[Link] = (),
    webex: Iterable[WebexUser] = (),
    *,
    complete: bool = True,
    deleted: Sequence[str] = (),
    failures: Mapping[str, str] | None = None,
) -> Plan:
    """One plan as a cycle makes it: assess, look up the candidates' e-mails, finish."""
    by_anchor = {link.anchor: link for link in links}
    assessment = assess(list(users), by_anchor, MAPPING, opts, now=NOW)
    in_webex = {fold_email(w.email): w for w in webex}
    looked_up = {
        fold_email(e): in_webex[fold_email(e)] for e in assessment.lookup_emails if fold_email(e) in in_webex
    }
    return finish(
        assessment,
        by_anchor,
        looked_up,
        opts,
        now=NOW,
        complete=complete,
        lookup_failures=failures,
        deleted=deleted,
    )


Situations = Callable[[Mapping[str, Any]], list[Plan]]
CASES: dict[str, Situations] = {}


def case(name: str) -> Callable[[Situations], Situations]:
    def register(build: Situations) -> Situations:
        CASES[name] = build
        return build

    return register


@case("new")
def _new(settings: Mapping[str, Any]) -> list[Plan]:
    return [run(options(settings), [person("a")])]


@case("existing")
def _existing(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [a], webex=[webex_user(a)])]


@case("existing-differs")
def _existing_differs(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a", "Ann.Lee@example.com")
    other = webex_user(a, active=False, email="ann.lee@EXAMPLE.com", firstName="Annie")
    return [run(options(settings), [a], webex=[other])]


@case("disabled-new")
def _disabled_new(settings: Mapping[str, Any]) -> list[Plan]:
    return [run(options(settings), [person("a", disabled=True)])]


@case("disabled-existing")
def _disabled_existing(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a", disabled=True)
    return [run(options(settings), [a], webex=[webex_user(a)])]


@case("outside")
def _outside(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a", in_scope=False)
    return [run(options(settings), [a]), run(options(settings), [a], webex=[webex_user(a)])]


@case("unchanged")
def _unchanged(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [a], [link_for(a)])]


@case("changed")
def _changed(settings: Mapping[str, Any]) -> list[Plan]:
    before = person("a")
    now = person("a", given="Anna", title=None)
    return [run(options(settings), [now], [link_for(before)])]


@case("email-changed")
def _email_changed(settings: Mapping[str, Any]) -> list[Plan]:
    before = person("a", "ann@example.com")
    now = person("a", "ann.lee@example.com")
    return [run(options(settings), [now], [link_for(before)])]


@case("moved")
def _moved(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    moved = person("a", dn="uid=a,ou=sales,dc=example,dc=com")
    renamed = person("a", dn="uid=ann.lee,ou=people,dc=example,dc=com")
    return [run(options(settings), [user], [link_for(a)]) for user in (moved, renamed)]


@case("disabled")
def _disabled(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [person("a", disabled=True)], [link_for(a)])]


@case("left-scope")
def _left_scope(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [person("a", in_scope=False)], [link_for(a)])]


@case("deleted")
def _deleted(settings: Mapping[str, Any]) -> list[Plan]:
    a, b = person("a"), person("b")
    links = [link_for(a), link_for(b)]
    return [
        run(options(settings), [b], links, complete=True),
        run(options(settings), [], links, complete=False, deleted=["a"]),
    ]


@case("not-read")
def _not_read(settings: Mapping[str, Any]) -> list[Plan]:
    a, b = person("a"), person("b")
    links = [link_for(a), link_for(b)]
    return [
        run(options(settings), [b], links, complete=False),
        run(options(settings), [], links, complete=False, deleted=["c"]),
    ]


@case("leaving-unmappable")
def _leaving_unmappable(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [person("a", None, disabled=True)], [link_for(a)])]


@case("still-out")
def _still_out(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    disabled = link_for(a, state=LinkState.DISABLED, reason=Reason.LEFT_SCOPE, since=timedelta(days=1))
    out = person("a", in_scope=False)
    return [
        run(options(settings), [out], [disabled]),
        run(options(settings, delete_after="30d"), [out], [disabled]),
    ]


@case("grace-elapsed")
def _grace_elapsed(settings: Mapping[str, Any]) -> list[Plan]:
    a, b = person("a"), person("b")
    opts = options(settings, delete_after="30d")
    plans = []
    for reason, now in (
        (Reason.LEFT_SCOPE, [person("a", in_scope=False), b]),
        (Reason.DISABLED_IN_DIRECTORY, [person("a", disabled=True), b]),
        (Reason.DELETED_IN_DIRECTORY, [b]),
    ):
        disabled = link_for(a, state=LinkState.DISABLED, reason=reason, since=timedelta(days=31))
        plans.append(run(opts, now, [disabled, link_for(b)], complete=True))
    return plans


@case("re-enabled")
def _re_enabled(settings: Mapping[str, Any]) -> list[Plan]:
    before = person("a")
    disabled = link_for(before, state=LinkState.DISABLED, reason=Reason.DISABLED_IN_DIRECTORY)
    return [run(options(settings), [person("a", given="Anna")], [disabled])]


@case("re-entered")
def _re_entered(settings: Mapping[str, Any]) -> list[Plan]:
    before = person("a")
    return [
        run(
            options(settings),
            [person("a", given="Anna")],
            [link_for(before, state=LinkState.DISABLED, reason=reason)],
        )
        for reason in (Reason.LEFT_SCOPE, Reason.DELETED_IN_DIRECTORY)
    ]


@case("shared-email")
def _shared_email(settings: Mapping[str, Any]) -> list[Plan]:
    a, b = person("a", "pat@example.com"), person("b", "Pat@Example.com")
    return [
        run(options(settings), [a, b]),
        run(options(settings), [person("a", "pat@example.com", given="Patricia"), b], [link_for(a)]),
    ]


@case("linked-elsewhere")
def _linked_elsewhere(settings: Mapping[str, Any]) -> list[Plan]:
    departed = person("gone", "pat@example.com")
    old = link_for(departed, state=LinkState.DISABLED)
    reused = person("new", "pat@example.com")
    in_webex = WebexUser(old.webex_id, "pat@example.com", False, desired(departed))
    return [
        run(options(settings), [reused], [old], [in_webex], complete=True),
        run(options(settings), [reused], [old], [in_webex], complete=False),
    ]


@case("lookup-failed")
def _lookup_failed(settings: Mapping[str, Any]) -> list[Plan]:
    a = person("a")
    return [run(options(settings), [a], failures={"a@example.com": "timed out after 30s"})]


@case("unmappable")
def _unmappable(settings: Mapping[str, Any]) -> list[Plan]:
    linked = person("b")
    return [
        run(options(settings), [person("a", None)]),
        run(options(settings), [person("a", "not an e-mail")]),
        run(options(settings), [person("a", ("a@example.com", "ann@example.com"))]),
        run(options(settings), [person("b", None)], [link_for(linked)]),
    ]


@case("protected")
def _protected(settings: Mapping[str, Any]) -> list[Plan]:
    opts = options(settings, protected=["boss@example.com", "b"])
    boss, b = person("boss"), person("b")
    return [
        run(opts, [boss], webex=[webex_user(boss, firstName="Chief")]),
        run(opts, [boss]),
        run(opts, [person("b", given="Bea")], [link_for(b)]),
        run(opts, [person("boss", disabled=True)], [link_for(boss)]),
        run(opts, [person("boss", in_scope=False)], [link_for(boss)]),
        run(opts, [], [link_for(boss)], complete=True),
        run(opts, [], [link_for(boss)], complete=False, deleted=["boss"]),
    ]


# -- the tests --------------------------------------------------------------------------------


def outcome(plan: Plan, expected: Expected) -> Expected:
    """What ``plan`` holds, in the terms of ``expected`` (active only where the row says it)."""
    actions = tuple(
        (
            a.kind.value,
            a.reason.value,
            a.active if i < len(expected.actions) and expected.actions[i][2] is not None else None,
        )
        for i, a in enumerate(plan.actions)
    )
    return Expected(actions, frozenset(p.kind.value for p in plan.problems))


def describe(expected: Expected) -> str:
    actions = ", ".join(
        f"{kind} ({reason}){'' if active is None else ' active' if active else ' inactive'}"
        for kind, reason, active in expected.actions
    )
    problems = f"; problems: {', '.join(sorted(expected.problems))}" if expected.problems else ""
    return (actions or "nothing") + problems


def test_the_lifecycle_tables_are_there() -> None:
    """docs/lifecycle.md holds the rules as tables headed case | directory user | link | Webex |
    action (reason)."""
    assert lifecycle_rows(), f"no table in docs/lifecycle.md is headed {' | '.join(HEADER)}"


def test_every_case_the_planner_is_tested_for_has_a_row() -> None:
    """Every case this test builds is a row of docs/lifecycle.md (a rule dropped from the doc fails),
    and no two rows share a case id."""
    cases = [row_case(row) for row in lifecycle_rows()]
    repeated = sorted({c for c in cases if c is not None and cases.count(c) > 1})
    assert not repeated, f"docs/lifecycle.md names these cases more than once: {repeated}"
    missing = sorted(set(CASES) - set(cases))
    assert not missing, f"docs/lifecycle.md has no row for the case(s) {missing}"


@pytest.mark.parametrize("row", lifecycle_rows(), ids=lambda row: row_case(row) or f"line-{row.line}")
def test_row_matches_the_planner(row: Row) -> None:
    """The planner plans exactly what the row says (actions in order with their reasons, and the
    problems reported), for each situation of the row's case, under the default settings and
    under each 'with `setting: value`' of the row."""
    where = f"docs/lifecycle.md line {row.line}"
    try:
        parsed = parse_row(row)
    except UnreadableRowError as exc:
        unreadable = f"{where}: the row cannot be read: {exc}\n  {' | '.join(row.cells)}"
    else:
        unreadable = ""
    if unreadable:
        pytest.fail(unreadable)
    build = CASES.get(parsed.case)
    if build is None:
        pytest.fail(f"{where}: case `{parsed.case}` is unknown to this test; add a situation for it here")
    wrong = []
    for variant in parsed.variants:
        try:
            plans = build(variant.settings)
        except (ValueError, TypeError) as exc:
            invalid = (
                f"{where}, case `{parsed.case}`: the settings {dict(variant.settings)} are invalid: {exc}"
            )
        else:
            invalid = ""
        if invalid:
            pytest.fail(invalid)
        for number, plan in enumerate(plans, start=1):
            actual = outcome(plan, variant.expected)
            if actual != variant.expected:
                settings = f" with {dict(variant.settings)}" if variant.settings else ""
                wrong.append(
                    f"situation {number}{settings}: the row says {describe(variant.expected)}; "
                    f"the planner plans {describe(actual)}"
                )
    assert not wrong, f"{where}, case `{parsed.case}`:\n  " + "\n  ".join(wrong)
