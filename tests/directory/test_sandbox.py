"""ThrowawaySlapd and the sample company: the test bed other tests, the demo and the benchmarks rely on."""

from __future__ import annotations

import os
from pathlib import Path

import ldap
import pytest

from tests.directory.helpers import ENGINEERING, MAPPED, SRE, config_for, dn
from webex_provisioner.config import GroupsConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.sandbox import (
    SUFFIX,
    TARGETED_GROUP,
    Company,
    SandboxError,
    ThrowawaySlapd,
    synthetic_groups_ldif,
    synthetic_ldif,
    write_ldif,
)
from webex_provisioner.sandbox.company import DISABLED, LOCKED, UPPER_CASE_MAIL, WITHOUT_MAIL


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


@pytest.mark.server
def test_restart_keeps_data_and_port_and_close_leaves_nothing(company: Company) -> None:
    """restart() serves the same data on the same port; stop() ends the process (by PID);
    close() removes the temporary directory."""
    server = ThrowawaySlapd()
    server.load_ldif(company.ldif())
    server.start()
    uri, pid, workdir = server.uri, server.pid, server.workdir
    assert pid is not None
    server.modify(dn("ahart"), {"title": "Chair"})
    server.restart()
    assert server.uri == uri
    assert server.pid != pid
    assert not _alive(pid)
    conn = server.connect()
    [(_, attrs)] = conn.search_s(dn("ahart"), ldap.SCOPE_BASE, "(objectClass=*)", ["title"])
    conn.unbind_s()
    assert attrs["title"] == [b"Chair"]
    new_pid = server.pid
    assert new_pid is not None
    server.close()
    assert not _alive(new_pid)
    assert not workdir.exists()


def test_listens_on_loopback_only(shared_slapd: ThrowawaySlapd) -> None:
    """Every listener slapd was given is on 127.0.0.1."""
    assert shared_slapd.pid is not None
    argv = Path(f"/proc/{shared_slapd.pid}/cmdline").read_bytes().split(b"\0")
    urls = argv[argv.index(b"-h") + 1].decode().split()
    assert urls
    assert all(url.startswith(("ldap://127.0.0.1:", "ldaps://127.0.0.1:")) for url in urls)


def test_load_ldif_needs_the_server_stopped(own_slapd: ThrowawaySlapd) -> None:
    """slapadd cannot run under a live slapd: load_ldif refuses, saying what to do."""
    with pytest.raises(SandboxError, match="stop"):
        own_slapd.load_ldif("dn: ou=x,dc=example,dc=com\nobjectClass: organizationalUnit\nou: x\n")


@pytest.mark.server
def test_a_slapd_that_does_not_start_is_reported_with_its_log(tmp_path: Path) -> None:
    """A server that exits at once makes start() raise SandboxError quickly, with the exit status."""
    server = ThrowawaySlapd(slapd="/bin/false", workdir=tmp_path, start_timeout=5)
    with pytest.raises(SandboxError, match="exited with status 1"):
        server.start()
    server.close()


def test_kill_keeps_committed_data(own_slapd: ThrowawaySlapd) -> None:
    """After kill() (SIGKILL, a crash) the next start() serves the committed changes."""
    own_slapd.delete(dn("lpark"))
    own_slapd.kill()
    own_slapd.start()
    with LdapDirectory(config_for(own_slapd)) as directory:
        assert directory.find_user(dn("lpark")) is None
        assert directory.find_user(dn("ahart")) is not None


def test_add_rename_delete_helpers(own_slapd: ThrowawaySlapd) -> None:
    """add() takes LDIF, rename() moves an entry and returns the new DN, delete() removes it."""
    added = own_slapd.add(
        f"dn: uid=newbie,ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: newbie\ncn:: TsOpbw==\nsn: N\n"
    )
    assert added == [dn("newbie")]
    own_slapd.add(f"dn: ou=alumni,{SUFFIX}\nobjectClass: organizationalUnit\nou: alumni\n")
    moved = own_slapd.rename(dn("newbie"), "uid=newbie2", f"ou=alumni,{SUFFIX}")
    assert moved == f"uid=newbie2,ou=alumni,{SUFFIX}"
    assert own_slapd.rename(moved, "uid=newbie3") == f"uid=newbie3,ou=alumni,{SUFFIX}"
    own_slapd.delete(f"uid=newbie3,ou=alumni,{SUFFIX}")
    conn = own_slapd.connect()
    assert conn.search_s(f"ou=alumni,{SUFFIX}", ldap.SCOPE_ONELEVEL, "(uid=*)") == []
    conn.unbind_s()


def test_the_root_dn_sets_and_clears_pwd_account_locked_time(own_slapd: ThrowawaySlapd) -> None:
    """The disabled-user marker: with ppolicy loaded the root DN sets and removes
    pwdAccountLockedTime over LDAP, and (pwdAccountLockedTime=*) follows it."""
    config = config_for(own_slapd)
    own_slapd.modify(dn("ahart"), [("add", "pwdAccountLockedTime", LOCKED)])
    own_slapd.modify(dn("lrossi"), [(ldap.MOD_DELETE, "pwdAccountLockedTime", None)])
    with LdapDirectory(config) as directory:
        disabled = {user.dn for user in directory.read_users() if user.disabled}
    assert disabled == {dn(uid) for uid in (DISABLED - {"lrossi"}) | {"ahart"}}


@pytest.mark.server
def test_synthetic_users_load_in_bulk(tmp_path: Path) -> None:
    """synthetic_ldif(n) streams n users, a group of all of them and every k-th one locked, with
    deterministic anchors; write_ldif writes the stream to a file slapadd loads."""
    path = write_ldif(tmp_path / "users.ldif", synthetic_ldif(300, disabled_every=100, chunk=64))
    with ThrowawaySlapd() as server:
        server.load_ldif(path)
        server.start()
        with LdapDirectory(config_for(server), MAPPED) as directory:
            users = list(directory.read_users())
    assert len(users) == 300
    assert all(user.in_scope for user in users)
    assert sum(user.disabled for user in users) == 3
    assert {user.anchor for user in users} == {f"00000000-0000-4000-8000-{i:012d}" for i in range(300)}


@pytest.mark.server
def test_synthetic_groups_load_and_nest() -> None:
    """synthetic_groups_ldif(n, k, users) makes n groups of k users each (wrapping around the
    users), every nest_every-th group holding the next one as a nested group."""
    with ThrowawaySlapd() as server:
        server.load_ldif(synthetic_ldif(20, group=False))
        server.load_ldif(synthetic_groups_ldif(6, 8, 20, nest_every=3))
        server.start()
        groups = GroupsConfig(base_dn=f"ou=groups,{SUFFIX}", filter="(cn=team*)")
        with LdapDirectory(config_for(server), groups=groups, read_process=False) as directory:
            read = {group.first("cn"): group for group in directory.read_groups().groups}
    users = [normalize_dn(dn(f"user{i % 20:06d}")) for i in range(48)]
    assert sorted(read) == [f"team{g:04d}" for g in range(6)]
    assert read["team0002"].members == set(users[16:24]) and read["team0002"].nested == ()
    assert read["team0003"].members == set(users[24:40])
    assert read["team0003"].nested == (f"cn=team0004,ou=groups,{SUFFIX}",)


def test_example_corp_has_what_the_tests_rely_on(company: Company) -> None:
    """At least 60 people; a nested group cycle; three disabled people in scope; one in-scope
    person without mail; one upper-case mail; a few people out of scope; managers as DNs."""
    assert len(company.people) >= 60
    assert SRE in company.group("engineering").members
    assert ENGINEERING in company.group("sre").members
    assert ENGINEERING in company.group("webex-users").members
    assert company.group("sales").object_class == "groupOfUniqueNames"
    assert company.in_scope >= DISABLED
    assert len(DISABLED) == 3
    assert company.person(WITHOUT_MAIL).mail is None and WITHOUT_MAIL in company.in_scope
    assert company.person(UPPER_CASE_MAIL[0]).mail == UPPER_CASE_MAIL[1]
    assert 3 <= len(company.out_of_scope) <= 10
    assert company.targeted_group == TARGETED_GROUP
    assert sum(1 for p in company.people if p.manager) == len(company.people) - 1
    assert "manager" in dict(company.person("awong").attributes())
