"""Large and hostile values through every parser and pattern that sees data: DNs, e-mails,
filters, SCIM answers, directory entries, configuration strings. Each case must finish in well
under ``BOUND``: a correctness guard against quadratic backtracking (a DN of 20,000 spaces once
took seconds in one regular expression), not a benchmark. A normal value costs microseconds.

``python -m tests.test_hostile_values`` prints every case with its time, slowest first.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import pytest

from webex_provisioner.config.ldap_filter import check_filter, equals
from webex_provisioner.config.loading import resolve_env
from webex_provisioner.config.values import check_dn, listen_address, parse_duration
from webex_provisioner.directory.ad import bind_subcode
from webex_provisioner.directory.dn import is_under
from webex_provisioner.directory.entries import anchor_value, to_user
from webex_provisioner.directory.groups import Membership, member_values
from webex_provisioner.emulator.filters import parse as parse_scim_filter
from webex_provisioner.emulator.resources import build as build_emulator_user
from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.keys import fold_email, is_dn, normalize_dn
from webex_provisioner.rules.mapping import MappingRule, compile_mapping, desired_user
from webex_provisioner.state.migrations.link_keys import dn_key_0004
from webex_provisioner.webex.failures import parse_error_body
from webex_provisioner.webex.scim import email_filter, from_resource

BOUND = 0.05
"""Seconds one hostile case may take (normal values take microseconds; the quadratic cases this
guards against took seconds)."""

KB100 = 100_000
SPACES = " " * 10_000
BLANK_RDN = "uid=a" + " " * 20_000 + "b,dc=example,dc=com"

MAPPING = compile_mapping(
    {
        key: MappingRule.model_validate(MappingRule.parse(rule))
        for key, rule in {
            "email": "mail",
            "displayName": "{{ displayName or givenName ~ ' ' ~ sn }}",
            "title": {"from": "title", "multi": "join"},
            "department": "departmentNumber",
            "manager": {"from": "manager", "unresolved": "omit"},
        }.items()
    }
)


def _user(dn: str = "uid=x,dc=example,dc=com", **attributes: str | tuple[str, ...]) -> DirectoryUser:
    values = {k.lower(): (v,) if isinstance(v, str) else v for k, v in attributes.items()}
    return DirectoryUser(anchor="hostile", dn=dn, attributes=values)


def _mapped(user: DirectoryUser) -> object:
    return desired_user(user, MAPPING, manager_ids={}, pending_dns=frozenset())


MEMBERSHIP = Membership(reasons={"uid=a,dc=x": "member of g"}, groups=("cn=g,dc=x",), nested=True)

CASES: dict[str, Callable[[], object]] = {
    # DNs: the normalizer, its parser, the scope checks, the 0004 key of the migrations
    "normalize_dn: 10,000 spaces": lambda: normalize_dn(SPACES),
    "normalize_dn: 20,000 blanks inside an RDN": lambda: normalize_dn(BLANK_RDN),
    "normalize_dn: a 100 KB value": lambda: normalize_dn("cn=" + "x" * KB100 + ",dc=x"),
    "normalize_dn: 8,000 escaped commas": lambda: normalize_dn("cn=" + "\\," * 8_000 + ",dc=x"),
    "normalize_dn: 100 KB of '=,'": lambda: normalize_dn("=," * (KB100 // 2)),
    "normalize_dn: 50,000 uniqueMember uid starts": lambda: normalize_dn("#'" * (KB100 // 2)),
    "normalize_dn: 3,000-valued RDN": lambda: normalize_dn("cn=a" + "+cn=b" * 3_000 + ",dc=x"),
    "is_dn: 100 KB of blanks after uid=": lambda: is_dn("uid=" + " " * KB100),
    "is_under: 20,000 blanks inside an RDN": lambda: is_under(BLANK_RDN, "dc=example,dc=com"),
    "Membership.reason: 20,000 blanks inside an RDN": lambda: MEMBERSHIP.reason(BLANK_RDN),
    "check_dn: 20,000 blanks inside an RDN": lambda: check_dn(BLANK_RDN),
    "dn_key_0004: 20,000 blanks inside an RDN": lambda: dn_key_0004(BLANK_RDN),
    "dn_key_0004: 10,000 spaces": lambda: dn_key_0004(SPACES),
    # e-mails and the filters built from data
    "fold_email: 100 KB": lambda: fold_email(" " * KB100 + "A" * KB100),
    "email_filter: 100 KB of quotes and backslashes": lambda: email_filter('"\\' * (KB100 // 2)),
    "LDAP equals(): 100 KB of filter syntax": lambda: equals("mail", "*()\\" * (KB100 // 4)),
    # the mapping: e-mail checks, limits, templates, multi-valued attributes, managers
    "mapping: 100 KB e-mail": lambda: _mapped(_user(mail="a" * KB100 + "@example.com")),
    "mapping: e-mail of 100,000 dots": lambda: _mapped(_user(mail="a@" + "." * KB100)),
    "mapping: e-mail of 10,000 @": lambda: _mapped(_user(mail="@" * 10_000)),
    "mapping: 100 KB display name through a template": lambda: _mapped(
        _user(mail="a@example.com", givenName="g" * KB100, sn="s" * KB100)
    ),
    "mapping: 10,000 titles joined": lambda: _mapped(_user(mail="a@example.com", title=("t",) * 10_000)),
    "mapping: 10,000 distinct departments": lambda: _mapped(
        _user(mail="a@example.com", departmentNumber=tuple(map(str, range(10_000))))
    ),
    "mapping: manager DN with 20,000 blanks": lambda: _mapped(_user(mail="a@example.com", manager=BLANK_RDN)),
    "mapping: DN of 10,000 spaces": lambda: _mapped(_user(SPACES, mail="a@example.com")),
    # directory entries as the adapter decodes them
    "to_user: 100 KB values, 10,000 values, binary": lambda: to_user(
        SPACES,
        {"mail": [b"x" * KB100], "title": [b"t" * 100] * 10_000, "cn": [b"\xff" * KB100]},
        "entryUUID",
        "hostile",
        disabled=False,
        in_scope=True,
        scope_reason="",
    ),
    "anchor_value: 100 KB anchor": lambda: anchor_value({"entryUUID": [b" " * KB100 + b"x"]}, "entryUUID"),
    "member_values: 10,000 members and a 100 KB option": lambda: member_values(
        None,  # type: ignore[arg-type]  # no further range is asked for: the option is not one
        "cn=g,dc=x",
        {"member": [b"uid=m,dc=x"] * 10_000, "member;x-" + "9" * KB100: [b"uid=n,dc=x"]},
        ["member"],
    ),
    "bind_subcode: 100 KB diagnostic": lambda: bind_subcode("data " * (KB100 // 5)),
    # Webex answers
    "from_resource: 100 KB values, 10,000 e-mails and phones": lambda: from_resource(
        {
            "id": "x",
            "userName": "a" * KB100,
            "emails": [{"type": "work", "value": "x"}] * 10_000,
            "phoneNumbers": [{"type": "work"}] * 10_000,
        }
    ),
    "parse_error_body: 100 KB detail, 10,000 schemas": lambda: parse_error_body(
        json.dumps({"detail": "x" * KB100, "schemas": ["s"] * 10_000}).encode()
    ),
    # the emulator's SCIM filters and user names
    "emulator filter: 100 KB unterminated string": lambda: parse_scim_filter('userName eq "' + "a" * KB100),
    "emulator filter: 100 KB of blanks then a quote": lambda: parse_scim_filter(" " * KB100 + '"'),
    "emulator filter: 5,000 nested parentheses": lambda: parse_scim_filter(
        "(" * 5_000 + 'userName eq "a"' + ")" * 5_000
    ),
    "emulator filter: 50,000 escaped quotes": lambda: parse_scim_filter(
        'userName eq "' + '\\"' * (KB100 // 2) + '"'
    ),
    "emulator userName: a@ and 100,000 dots": lambda: build_emulator_user(
        {"userName": "a@" + "a." * (KB100 // 2) + "@"},
        user_id="u",
        org_id="o",
        created="",
        modified="",
        version=1,
    ),
    # configuration strings (the operator's, but parsed by the same kind of code)
    "resolve_env: 20,000 unclosed ${A:-": lambda: resolve_env("${A:-" * 20_000, {}, []),
    "parse_duration: 100 KB of blanks": lambda: parse_duration(" " * KB100 + "1"),
    "check_filter: 100 KB attribute": lambda: check_filter("(" + "a;" * (KB100 // 2) + ")"),
    "check_filter: 5,000 nested filters": lambda: check_filter("(&" * 5_000 + "(a=b)" + ")" * 5_000),
    "listen_address: 100 KB of colons": lambda: listen_address(":" * KB100),
}


def run_case(case: Callable[[], object]) -> float:
    """The best of three runs, in seconds; what the case raises is its business (a problem
    reported, a value refused), only the time counts here."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        try:
            case()
        except (ValueError, LookupError, TypeError):
            pass
        except Exception as exc:
            if type(exc).__name__ not in ("ScimError", "DirectoryIncompleteError"):
                raise
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_hostile_value_is_handled_in_bounded_time(name: str) -> None:
    """The case finishes (or is refused) in well under BOUND: no quadratic backtracking, no
    recursion without a limit."""
    elapsed = run_case(CASES[name])
    assert elapsed < BOUND, f"{name}: {elapsed * 1000:.1f} ms"


def test_dn_key_0004_gives_the_key_revision_0004_gave() -> None:
    """The linear DN key of the migrations equals revision 0004's expression on every kind of DN."""

    def revision_0004(dn: str) -> str:
        dn = dn.strip()
        return re.sub(r"\s*([,=+])\s*", r"\1", dn).lower() if re.search(r"\s", dn) else dn.lower()

    samples = [
        "uid=Plain,ou=People,dc=Example,dc=com",
        "uid=Spaced , ou = People,  dc=example ,dc=com  ",
        "uid=jd + cn=Doe\\, John , ou=People",
        " , = + ,",
        "cn=a\tb,\n dc=x",
        "cn=a\u00a0,\u2003dc=x",
        "uid=a" + " " * 50 + "b,dc=x",
        "",
        "   ",
    ]
    for dn in samples:
        assert dn_key_0004(dn) == revision_0004(dn), dn


if __name__ == "__main__":
    timings = sorted(((run_case(case), name) for name, case in CASES.items()), reverse=True)
    for elapsed, name in timings:
        print(f"{elapsed * 1000:8.2f} ms  {name}")
    print(f"{len(timings)} hostile cases; the slowest took {timings[0][0] * 1000:.2f} ms ({timings[0][1]})")
