"""read_users against Example Corp: scope by group (direct, nested, cycles), by filter, or none;
disabled labels; attribute decoding; the anchor."""

from __future__ import annotations

import pytest
import structlog

from tests.directory.helpers import (
    CONTRACTORS,
    ENGINEERING,
    MAPPED,
    PEOPLE,
    SALES,
    SRE,
    config_for,
    dn,
    read_all,
)
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.connection import Connection
from webex_provisioner.errors import DirectoryError
from webex_provisioner.model import DirectoryUser
from webex_provisioner.sandbox import SUFFIX, TARGETED_GROUP, Company, ThrowawaySlapd
from webex_provisioner.sandbox.company import DISABLED, UPPER_CASE_MAIL, WITHOUT_MAIL


def test_every_person_under_the_base_dn_is_read_once(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """All 64 people are read, each once, and nothing that does not match the user filter
    (the service account, the groups) even when the base DN is the whole suffix."""
    users = read_all(config_for(shared_slapd, base_dn=SUFFIX))
    assert set(users) == {p.uid for p in company.people}
    assert len(users) == 64


def test_direct_members_of_the_targeted_group_are_in_scope(shared_slapd: ThrowawaySlapd) -> None:
    """A direct member is in scope, and the reason names the targeted group only."""
    users = read_all(config_for(shared_slapd))
    assert users["ahart"].in_scope
    assert users["ahart"].scope_reason == f"member of {TARGETED_GROUP}"


def test_nested_members_are_in_scope_with_the_path(shared_slapd: ThrowawaySlapd) -> None:
    """Members of nested groups (groupOfNames and groupOfUniqueNames, two levels deep) are in
    scope, and the reason names the path of groups."""
    users = read_all(config_for(shared_slapd))
    assert users["tmueller"].scope_reason == f"member of {TARGETED_GROUP} via {ENGINEERING}"
    assert users["awong"].scope_reason == f"member of {TARGETED_GROUP} via {ENGINEERING} > {SRE}"
    assert users["cmartin"].scope_reason == f"member of {TARGETED_GROUP} via {SALES}"
    assert all(users[uid].in_scope for uid in ("tmueller", "awong", "cmartin"))


def test_direct_membership_is_the_reason_when_also_nested(shared_slapd: ThrowawaySlapd) -> None:
    """Priya Sharma is in webex-users directly and through engineering: the direct one is reported."""
    users = read_all(config_for(shared_slapd))
    assert users["psharma"].scope_reason == f"member of {TARGETED_GROUP}"


def test_scope_is_exactly_the_company_scope(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """The in-scope set is the 59 people Example Corp targets; the contractors (another group) and
    the people in no group are out, with the reason saying so."""
    users = read_all(config_for(shared_slapd))
    assert {uid for uid, user in users.items() if user.in_scope} == company.in_scope
    assert len(company.in_scope) == 59
    for uid in company.out_of_scope:
        assert not users[uid].in_scope
        assert users[uid].scope_reason == "not a member of any targeted group"


@pytest.mark.timeout(30)
def test_a_group_cycle_is_expanded_once(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """sre contains engineering, which contains sre: targeting sre terminates, counts each member
    once, and reaches engineering's members through the cycle."""
    users = read_all(config_for(shared_slapd, scope={"groups": [SRE]}))
    in_scope = {uid for uid, user in users.items() if user.in_scope}
    engineering = {p.uid for p in company.people if p.department == "42" and p.uid != "tnewman"}
    sre = {p.uid for p in company.people if p.department == "43"}
    assert in_scope == engineering | sre
    assert users["awong"].scope_reason == f"member of {SRE}"
    assert users["rchen"].scope_reason == f"member of {SRE} via {ENGINEERING}"


def test_nested_groups_off_counts_direct_members_only(shared_slapd: ThrowawaySlapd) -> None:
    """With nested_groups false, members of engineering and sales are out of scope (and told why);
    direct members, including Priya Sharma, stay in."""
    users = read_all(config_for(shared_slapd, scope={"groups": [TARGETED_GROUP], "nested_groups": False}))
    for uid in ("tmueller", "awong", "cmartin"):
        assert not users[uid].in_scope
        assert users[uid].scope_reason == "not a direct member of any targeted group (nested groups are off)"
    assert users["psharma"].in_scope
    assert users["ahart"].in_scope


def test_several_targeted_groups_add_up(shared_slapd: ThrowawaySlapd) -> None:
    """Targeting webex-users and contractors puts the contractors in scope, through their group."""
    users = read_all(config_for(shared_slapd, scope={"groups": [TARGETED_GROUP, CONTRACTORS]}))
    assert users["bwhite"].in_scope
    assert users["bwhite"].scope_reason == f"member of {CONTRACTORS}"
    assert users["ahart"].scope_reason == f"member of {TARGETED_GROUP}"
    assert not users["tnewman"].in_scope


def test_nested_groups_are_found_without_the_root_dse(
    shared_slapd: ThrowawaySlapd, company: Company, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the root DSE names no naming context, nested groups are still found (every member
    that is not a directory user is read instead) and the scope is the same."""
    monkeypatch.setattr(Connection, "root_dse", lambda self: {})
    users = read_all(config_for(shared_slapd))
    assert {uid for uid, user in users.items() if user.in_scope} == company.in_scope
    assert users["awong"].scope_reason == f"member of {TARGETED_GROUP} via {ENGINEERING} > {SRE}"


def test_a_missing_targeted_group_is_an_error_not_an_empty_scope(shared_slapd: ThrowawaySlapd) -> None:
    """A targeted group that does not exist raises DirectoryError before any user is yielded:
    an empty scope would deprovision everyone."""
    missing = f"cn=webex-userz,ou=groups,{SUFFIX}"
    config = config_for(shared_slapd, scope={"groups": [TARGETED_GROUP, missing]})
    yielded: list[DirectoryUser] = []
    with LdapDirectory(config, MAPPED) as directory, pytest.raises(DirectoryError) as caught:
        yielded.extend(directory.read_users())
    assert yielded == []
    assert missing in caught.value.message
    assert "does not exist" in caught.value.message
    assert "directory.scope.groups" in caught.value.message
    assert not caught.value.retryable


def test_a_targeted_entry_that_is_not_a_group_is_an_error(shared_slapd: ThrowawaySlapd) -> None:
    """Targeting an entry that does not match group_filter (here a person) raises DirectoryError."""
    config = config_for(shared_slapd, scope={"groups": [dn("ahart")]})
    with LdapDirectory(config) as directory, pytest.raises(DirectoryError, match="group_filter"):
        list(directory.read_users())


def test_scope_by_filter(shared_slapd: ThrowawaySlapd, company: Company) -> None:
    """With scope.filter, exactly the users matching (&user_filter scope.filter) are in scope,
    whatever their groups, with the filter as the reason."""
    users = read_all(config_for(shared_slapd, scope={"filter": "(departmentNumber=42)"}))
    assert {uid for uid, user in users.items() if user.in_scope} == {
        p.uid for p in company.people if p.department == "42"
    }
    assert users["tnewman"].scope_reason == "matches scope filter (departmentNumber=42)"
    assert not users["ahart"].in_scope
    assert users["ahart"].scope_reason == "does not match scope filter (departmentNumber=42)"


def test_no_scope_means_everyone_under_the_base_dn(shared_slapd: ThrowawaySlapd) -> None:
    """Without groups or filter every directory user is in scope, and the reason names the base DN."""
    users = read_all(config_for(shared_slapd, scope={}))
    assert len(users) == 64
    assert all(user.in_scope for user in users.values())
    assert PEOPLE in users["bwhite"].scope_reason


def test_disabled_users_are_labelled(shared_slapd: ThrowawaySlapd) -> None:
    """Exactly the users matching disabled_filter are disabled; they keep their scope label."""
    users = read_all(config_for(shared_slapd))
    assert {uid for uid, user in users.items() if user.disabled} == DISABLED
    assert all(users[uid].in_scope for uid in DISABLED)


def test_without_disabled_filter_nobody_is_disabled(shared_slapd: ThrowawaySlapd) -> None:
    """With no disabled_filter configured, no user is labelled disabled."""
    users = read_all(config_for(shared_slapd, disabled_filter=None))
    assert not any(user.disabled for user in users.values())


def test_attributes_are_lower_cased_decoded_and_carry_the_anchor(
    shared_slapd: ThrowawaySlapd, company: Company
) -> None:
    """Attribute names are lower-case, values UTF-8 text (non-ASCII intact, case kept), only the
    requested attributes are read, and the anchor is the entryUUID, also under its own name."""
    users = read_all(config_for(shared_slapd))
    mueller = users["tmueller"]
    assert mueller.anchor == company.person("tmueller").entry_uuid
    assert mueller.attributes["sn"] == ("Müller",)
    assert mueller.attributes["entryuuid"] == (mueller.anchor,)
    assert set(mueller.attributes) <= {name.lower() for name in MAPPED} | {"entryuuid"}
    assert "uid" not in mueller.attributes
    assert users[UPPER_CASE_MAIL[0]].first("mail") == UPPER_CASE_MAIL[1]
    assert users[WITHOUT_MAIL].values("mail") == ()
    assert users[WITHOUT_MAIL].in_scope
    assert mueller.undecodable == frozenset()


def test_entries_without_the_anchor_are_skipped_and_reported(
    shared_slapd: ThrowawaySlapd, company: Company
) -> None:
    """An entry without the anchor attribute is not yielded, and a warning names its DN."""
    with structlog.testing.capture_logs() as logs:
        users = read_all(config_for(shared_slapd, anchor="mobile"))
    with_mobile = {p.uid for p in company.people if p.mobile}
    assert set(users) == with_mobile
    skipped = {entry["dn"] for entry in logs if entry["event"] == "directory.user_without_anchor"}
    assert skipped == {p.dn for p in company.people if not p.mobile}


def test_undecodable_values_are_named_not_sent(own_slapd: ThrowawaySlapd) -> None:
    """A value that is not UTF-8 leaves its attribute out of ``attributes`` and names it in
    ``undecodable``; the user's other attributes are still decoded."""
    own_slapd.modify(dn("ahart"), {"jpegPhoto": [b"\xff\xd8\xff\xe0not-utf8"]})
    users = read_all(config_for(own_slapd), [*MAPPED, "jpegPhoto"])
    assert users["ahart"].undecodable == frozenset({"jpegphoto"})
    assert "jpegphoto" not in users["ahart"].attributes
    assert users["ahart"].first("mail") == "amelia.hart@example.com"
    assert users["gmoore"].undecodable == frozenset()
