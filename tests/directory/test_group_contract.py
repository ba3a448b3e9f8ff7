"""LdapDirectory passes the ``GroupSource`` contract against a real slapd holding Example Corp,
every group of ``ou=groups`` selected: nested groups (``engineering`` in ``webex-users``), a
cycle (``engineering`` and ``sre`` list each other), ``groupOfUniqueNames`` (``sales``) and a
member DN that is no entry; flattened, and with direct members only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count

import ldap
import pytest

from tests.directory.helpers import CONTRACTORS, GROUPS, SRE, config_for
from webex_provisioner.config import GroupsConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.sandbox import ThrowawaySlapd
from webex_provisioner.testing.contracts.directory import GroupSourceContract


def _groups(slapd: ThrowawaySlapd, **settings: object) -> LdapDirectory:
    groups = GroupsConfig.model_validate({"base_dn": GROUPS, "filter": "(cn=*)", **settings})
    return LdapDirectory(config_for(slapd), read_process=False, groups=groups)


def _adds_members(slapd: ThrowawaySlapd, group: str) -> Callable[[], str]:
    """Each call adds a new member DN to ``group``; returns the group's anchor."""
    numbers = count()
    with _groups(slapd) as directory:
        found = directory.find_group(group)
    assert found is not None

    def change() -> str:
        member = f"uid=newcomer{next(numbers)},ou=people,dc=example,dc=com"
        slapd.modify(group, [(ldap.MOD_ADD, "member", [member.encode()])])
        return found.anchor

    return change


class TestLdapGroupsFlattened(GroupSourceContract):
    """``groups.nested: flatten`` (the default); the change adds a member to ``sre``."""

    nesting = "flatten"

    @pytest.fixture
    def groups(self, shared_slapd: ThrowawaySlapd) -> Iterator[LdapDirectory]:
        with _groups(shared_slapd) as directory:
            yield directory

    @pytest.fixture
    def change_group(self, shared_slapd: ThrowawaySlapd) -> Callable[[], str]:
        return _adds_members(shared_slapd, SRE)


class TestLdapGroupsDirect(GroupSourceContract):
    """``groups.nested: direct``; the change adds a member to ``contractors``."""

    nesting = "direct"

    @pytest.fixture
    def groups(self, shared_slapd: ThrowawaySlapd) -> Iterator[LdapDirectory]:
        with _groups(shared_slapd, nested="direct") as directory:
            yield directory

    @pytest.fixture
    def change_group(self, shared_slapd: ThrowawaySlapd) -> Callable[[], str]:
        return _adds_members(shared_slapd, CONTRACTORS)
