"""find_user: one directory user by DN, anchor or e-mail, labelled like read_users, with filter
metacharacters in the key matching nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.directory.helpers import ENGINEERING, MAPPED, SRE, config_for, dn
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.errors import DirectoryError
from webex_provisioner.sandbox import SERVICE_DN, TARGETED_GROUP, Company, ThrowawaySlapd


@pytest.fixture
def directory(shared_slapd: ThrowawaySlapd) -> Iterator[LdapDirectory]:
    with LdapDirectory(config_for(shared_slapd), MAPPED) as found:
        yield found


def test_find_by_dn(directory: LdapDirectory, company: Company) -> None:
    """A DN under the base DN finds the user, whatever the case and spacing of the DN."""
    user = directory.find_user(dn("awong"))
    assert user is not None
    assert user.anchor == company.person("awong").entry_uuid
    again = directory.find_user("UID=awong, OU=People,DC=example,DC=com")
    assert again is not None
    assert again.anchor == user.anchor


def test_find_by_anchor(directory: LdapDirectory, company: Company) -> None:
    """The entryUUID finds the user."""
    person = company.person("tmueller")
    user = directory.find_user(person.entry_uuid)
    assert user is not None
    assert user.dn == person.dn
    assert user.attributes["sn"] == ("Müller",)


def test_find_by_email_ignores_case_and_spaces(directory: LdapDirectory) -> None:
    """The mapped e-mail attribute matches case-insensitively, after trimming the key."""
    user = directory.find_user("  maria.garcia@EXAMPLE.com ")
    assert user is not None
    assert user.dn == dn("mgarcia")
    assert user.first("mail") == "Maria.GARCIA@Example.com"


def test_find_by_another_email_attribute(shared_slapd: ThrowawaySlapd) -> None:
    """``email_attribute`` chooses the attribute an e-mail key is matched against."""
    directory = LdapDirectory(config_for(shared_slapd), MAPPED, email_attribute="telephoneNumber")
    assert directory.find_user("maria.garcia@example.com") is None
    user = directory.find_user("+1 415 555 1033")
    assert user is not None
    assert user.dn == dn("mgarcia")


@pytest.mark.parametrize("key", ["*)(uid=*", "*", "maria*", "*)(|(mail=*)", "\\2a", "(uid=ahart)", "   "])
def test_filter_metacharacters_match_nothing(directory: LdapDirectory, key: str) -> None:
    """Keys made of filter syntax are escaped: they find no one (and never several users)."""
    assert directory.find_user(key) is None


def test_unknown_keys_find_nothing(directory: LdapDirectory, company: Company) -> None:
    """An unknown e-mail, anchor or DN, a DN outside the base DN, and an entry that is not a
    directory user all give None."""
    assert directory.find_user("nobody@example.com") is None
    assert directory.find_user("00000000-0000-4000-8000-000000000000") is None
    assert directory.find_user(dn("nobody")) is None
    assert directory.find_user(SERVICE_DN) is None  # outside ou=people
    assert directory.find_user(TARGETED_GROUP) is None


def test_found_users_are_labelled_like_read_users(directory: LdapDirectory) -> None:
    """find_user computes disabled and in_scope (nested groups included) as read_users does."""
    nested = directory.find_user(dn("awong"))
    disabled = directory.find_user(dn("lrossi"))
    outside = directory.find_user(dn("bwhite"))
    assert nested is not None and disabled is not None and outside is not None
    assert nested.in_scope and not nested.disabled
    assert nested.scope_reason == f"member of {TARGETED_GROUP} via {ENGINEERING} > {SRE}"
    assert disabled.disabled and disabled.in_scope
    assert not outside.in_scope
    assert outside.scope_reason == "not a member of any targeted group"


def test_found_users_are_labelled_by_the_scope_filter(shared_slapd: ThrowawaySlapd) -> None:
    """With a scope filter, find_user checks the user against (&user_filter scope.filter)."""
    directory = LdapDirectory(config_for(shared_slapd, scope={"filter": "(departmentNumber=42)"}), MAPPED)
    engineer = directory.find_user(dn("tnewman"))
    other = directory.find_user(dn("ahart"))
    assert engineer is not None and other is not None
    assert engineer.in_scope and engineer.scope_reason == "matches scope filter (departmentNumber=42)"
    assert not other.in_scope


def test_find_user_reports_a_missing_targeted_group(shared_slapd: ThrowawaySlapd) -> None:
    """find_user on a scope with a missing group raises, as read_users does."""
    config = config_for(shared_slapd, scope={"groups": ["cn=gone,ou=groups,dc=example,dc=com"]})
    with pytest.raises(DirectoryError, match="does not exist"):
        LdapDirectory(config).find_user(dn("ahart"))


def test_a_shared_email_is_reported_not_guessed(own_slapd: ThrowawaySlapd) -> None:
    """When two directory users have the e-mail, find_user raises DirectoryError naming both DNs
    (a conflict), while the anchor of either still finds exactly one."""
    own_slapd.modify(dn("gmoore"), {"mail": "Eva.Novak@example.com"})
    directory = LdapDirectory(config_for(own_slapd), MAPPED)
    with pytest.raises(DirectoryError) as caught:
        directory.find_user("eva.novak@example.com")
    assert dn("gmoore") in caught.value.message
    assert dn("enovak") in caught.value.message
    eva = directory.find_user(dn("enovak"))
    assert eva is not None
    found = directory.find_user(eva.anchor)
    assert found is not None
    assert found.dn == dn("enovak")


def test_find_user_during_a_read_does_not_break_its_paging(shared_slapd: ThrowawaySlapd) -> None:
    """Looking users up between pages of a read (same connection) leaves the read complete."""
    with LdapDirectory(config_for(shared_slapd, page_size=5), MAPPED) as directory:
        count = 0
        for _user in directory.read_users():
            count += 1
            if count % 5 == 0:
                assert directory.find_user("amelia.hart@example.com") is not None
                assert directory.find_user(dn("awong")) is not None
    assert count == 64


def test_find_user_sees_membership_changes_once_the_reuse_window_is_over(own_slapd: ThrowawaySlapd) -> None:
    """With membership_max_age 0, find_user recomputes the group membership: a person removed
    from the targeted group after a read is reported out of scope."""
    with LdapDirectory(config_for(own_slapd), MAPPED, membership_max_age=0) as directory:
        assert sum(1 for _ in directory.read_users()) == 64
        own_slapd.modify(TARGETED_GROUP, [("delete", "member", dn("ahart"))])
        user = directory.find_user(dn("ahart"))
    assert user is not None
    assert not user.in_scope
