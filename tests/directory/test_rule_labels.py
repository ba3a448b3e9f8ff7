"""The licence rules' labels a full read and ``find_user`` put on users, against Example Corp in a
real slapd: a rule's group (direct and nested members, nested groups off), a rule's filter (matched
by the server), both, the errors of a missing group and a refused filter, the labels crossing the
reader process, and the searches labels cost (none without labels)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.directory.helpers import ENGINEERING, MAPPED, SRE, by_uid, config_for, dn
from webex_provisioner.config.ldap_filter import all_of
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.connection import Connection
from webex_provisioner.errors import DirectoryError
from webex_provisioner.model import DirectoryUser
from webex_provisioner.model.licenses import filter_label, group_label
from webex_provisioner.sandbox import SUFFIX, TARGETED_GROUP, Company, ThrowawaySlapd

ENGINEERS = filter_label("(title=*Engineer)")
IN_ENGINEERING = group_label(ENGINEERING)


def read(slapd: ThrowawaySlapd, labels: list[str], **overrides: Any) -> dict[str, DirectoryUser]:
    with LdapDirectory(
        config_for(slapd, **overrides), MAPPED, read_process=False, labels=labels
    ) as directory:
        return by_uid(directory.read_users())


def people(company: Company, group: str) -> set[str]:
    """The uids of the people listed directly in a group of Example Corp."""
    listed = set(company.group(group).members)
    return {p.uid for p in company.people if p.dn in listed}


def carrying(users: dict[str, DirectoryUser], label: str) -> set[str]:
    return {uid for uid, user in users.items() if label in user.labels}


def test_a_rule_groups_direct_and_nested_members_carry_its_label(
    shared_slapd: ThrowawaySlapd, company: Company
) -> None:
    """With nested groups on, exactly engineering's direct members and those of sre (nested in
    it, and nesting it back) carry engineering's label; nobody else does."""
    users = read(shared_slapd, [IN_ENGINEERING])
    direct, nested = people(company, "engineering"), people(company, "sre")
    assert direct and nested and not direct & nested
    assert carrying(users, IN_ENGINEERING) == direct | nested
    assert users["tmueller"].labels == {IN_ENGINEERING} and users["awong"].labels == {IN_ENGINEERING}
    assert users["ahart"].labels == frozenset()


def test_with_nested_groups_off_only_direct_members_carry_it(
    shared_slapd: ThrowawaySlapd, company: Company
) -> None:
    """With ``scope.nested_groups: false`` a rule's group counts its direct members only."""
    users = read(shared_slapd, [IN_ENGINEERING], scope={"groups": [TARGETED_GROUP], "nested_groups": False})
    assert carrying(users, IN_ENGINEERING) == people(company, "engineering")
    assert "awong" not in carrying(users, IN_ENGINEERING)


def test_a_rule_group_labels_users_whatever_the_scope(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """A rule's group labels its members also when the scope is not by group (its nested groups
    are still found) and when they are out of scope."""
    users = read(shared_slapd, [group_label(SRE)], scope={"filter": "(departmentNumber=43)"})
    assert carrying(users, group_label(SRE)) == people(company, "sre") | people(company, "engineering")
    assert not users["tmueller"].in_scope and group_label(SRE) in users["tmueller"].labels


def test_a_rule_filter_labels_the_users_it_matches_and_labels_stack(
    shared_slapd: ThrowawaySlapd, company: Company
) -> None:
    """A rule's filter labels exactly the users it matches (in scope or not); a user in the
    rule's group who matches the filter carries both labels, one who matches neither none."""
    users = read(shared_slapd, [IN_ENGINEERING, ENGINEERS])
    assert carrying(users, ENGINEERS) == {p.uid for p in company.people if p.title.endswith("Engineer")}
    assert users["tmueller"].labels == {IN_ENGINEERING, ENGINEERS}
    assert users["cmartin"].labels == {ENGINEERS}  # a sales engineer
    assert users["rchen"].labels == {IN_ENGINEERING}  # VP Engineering
    assert users["ahart"].labels == frozenset()


def test_the_labels_cross_the_reader_process(shared_slapd: ThrowawaySlapd) -> None:
    """A read in a reader process gives every user the labels a read in this process gives."""
    labels = [IN_ENGINEERING, ENGINEERS]
    here = read(shared_slapd, labels)
    config = config_for(shared_slapd)
    with LdapDirectory(config, MAPPED, read_process=True, labels=labels) as directory:
        there = by_uid(directory.read_users())
    assert {uid: u.labels for uid, u in there.items()} == {uid: u.labels for uid, u in here.items()}
    assert carrying(there, IN_ENGINEERING) and carrying(there, ENGINEERS)


@pytest.mark.parametrize("after_a_read", [False, True], ids=["alone", "after-a-read"])
def test_find_user_labels_its_user_as_a_read_does(shared_slapd: ThrowawaySlapd, after_a_read: bool) -> None:
    """``find_user`` (by DN or e-mail) gives each user the labels a full read gives, on its own
    (expanding the rule's group) or reusing the groups of a read just made."""
    labels = [IN_ENGINEERING, ENGINEERS]
    users = read(shared_slapd, labels)
    with LdapDirectory(config_for(shared_slapd), MAPPED, read_process=False, labels=labels) as directory:
        if after_a_read:
            list(directory.read_users())
        for uid in ("tmueller", "awong", "cmartin", "rchen", "ahart"):
            found = directory.find_user(dn(uid))
            assert found is not None and found.labels == users[uid].labels, uid
        by_mail = directory.find_user(users["cmartin"].values("mail")[0])
        assert by_mail is not None and by_mail.labels == {ENGINEERS}


MISSING_GROUP = f"cn=no-such-licence-group,ou=groups,{SUFFIX}"
BROKEN_FILTER = "(departmentNumber=42"


@pytest.mark.parametrize(
    ("label", "named", "why"),
    [
        (group_label(MISSING_GROUP), MISSING_GROUP, "does not exist"),
        (filter_label(BROKEN_FILTER), BROKEN_FILTER, "refused"),
    ],
    ids=["missing-group", "refused-filter"],
)
def test_a_missing_rule_group_or_a_refused_filter_fails_before_any_user(
    shared_slapd: ThrowawaySlapd, label: str, named: str, why: str
) -> None:
    """A rule's group that does not exist (a missing group would take its licences from every
    member), or a rule's filter the directory cannot use (here one LDAP cannot parse, handed over
    as a label), raises ``DirectoryError`` naming it and ``licenses.rules``, in a read before any
    user is yielded and in ``find_user``."""
    yielded: list[DirectoryUser] = []
    directory = LdapDirectory(config_for(shared_slapd), MAPPED, read_process=False, labels=[label])
    with directory, pytest.raises(DirectoryError) as caught:
        yielded.extend(directory.read_users())
    assert yielded == []
    assert named in caught.value.message and "licenses.rules" in caught.value.message
    assert why in caught.value.message and not caught.value.retryable
    with directory, pytest.raises(DirectoryError, match=r"licenses\.rules"):
        directory.find_user(dn("ahart"))


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[tuple[str, str, str, tuple[str, ...]]]]:
    """Every subtree search and entry read a ``Connection`` makes: (kind, base, filter, attributes)."""
    made: Counter[tuple[str, str, str, tuple[str, ...]]] = Counter()
    search_pages, read_entry = Connection.search_pages, Connection.read

    def pages(self: Connection, base: str, filterstr: str, attributes: Any, *, what: str, **kw: Any) -> Any:
        made["search", base, filterstr, tuple(attributes)] += 1
        return search_pages(self, base, filterstr, attributes, what=what, **kw)

    def read_one(self: Connection, dn: str, filterstr: str, attributes: Any, *, what: str) -> Any:
        made["read", dn, filterstr, tuple(attributes)] += 1
        return read_entry(self, dn, filterstr, attributes, what=what)

    monkeypatch.setattr(Connection, "search_pages", pages)
    monkeypatch.setattr(Connection, "read", read_one)
    yield made


def test_labels_cost_a_few_searches_and_none_without_labels(
    shared_slapd: ThrowawaySlapd, searches: Counter[tuple[str, str, str, tuple[str, ...]]]
) -> None:
    """A read with a rule's group and a rule's filter makes, beyond a read without labels, one
    DN-only search of the filter's users, one listing of the group DNs and reads of the rule's
    groups (engineering, sre nested in it), never a search or read per user; a read without
    labels makes none of them."""
    config = config_for(shared_slapd)
    read(shared_slapd, [])
    without = Counter(searches)
    searches.clear()
    read(shared_slapd, [IN_ENGINEERING, ENGINEERS])
    extra = searches - without
    assert not without - searches  # nothing a read without labels makes is left out
    rule_filter = all_of(config.user_filter, "(title=*Engineer)")
    assert extra[("search", config.base_dn, rule_filter, ("1.1",))] == 1
    assert Counter(kind for kind, *_ in extra.elements()) == {"search": 2, "read": 2}
    assert {base for kind, base, *_ in extra if kind == "read"} == {ENGINEERING, SRE}
    assert not any(rule_filter in f or "Engineer" in f for _kind, _base, f, _attrs in without)
