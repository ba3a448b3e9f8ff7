"""The 389ds preset against a real 389 Directory Server (Debian's 389-ds-base): the nsUniqueId
anchor, nsAccountLock as the disabled flag, nsPerson users, and what probe says."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import ldap
import pytest

from tests.directory.helpers import add_389ds_people
from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.model import DirectoryUser
from webex_provisioner.sandbox.dirsrv import SUFFIX, ThrowawayDirSrv, dirsrv_missing

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def dirsrv() -> Iterator[ThrowawayDirSrv]:
    missing = dirsrv_missing()
    if missing:
        pytest.skip(f"no 389 Directory Server here: {missing} (scripts/system-deps.sh installs it)")
    with ThrowawayDirSrv() as server:
        yield server


@pytest.fixture
def people(dirsrv: ThrowawayDirSrv) -> str:
    """A fresh OU per test, holding an inetOrgPerson, a dsidm-style nsPerson and a locked user."""
    ou = dirsrv.add(f"ou=p{uuid.uuid4().hex[:8]},{SUFFIX}", {"objectClass": "organizationalUnit"})
    add_389ds_people(dirsrv, ou)
    return ou


def config(dirsrv: ThrowawayDirSrv, base: str, **extra: object) -> DirectoryConfig:
    raw = {
        "type": "389ds",
        "url": dirsrv.uri,
        "bind_dn": dirsrv.root_dn,
        "bind_password": dirsrv.root_pw,
        "base_dn": base,
    }
    return DirectoryConfig.model_validate({**raw, **extra})


def read(dirsrv: ThrowawayDirSrv, base: str) -> dict[str, DirectoryUser]:
    with LdapDirectory(config(dirsrv, base), ["mail"]) as directory:
        return {u.dn.split(",", 1)[0][4:]: u for u in directory.read_users()}


def test_anchor_is_nsuniqueid_and_survives_a_rename(dirsrv: ThrowawayDirSrv, people: str) -> None:
    """inetOrgPerson and nsPerson users are read, anchored on nsUniqueId, which a rename keeps."""
    before = read(dirsrv, people)
    assert set(before) == {"ann", "ben", "cid"}
    conn = dirsrv.connect()
    try:
        stored = conn.search_s(f"uid=ann,{people}", ldap.SCOPE_BASE, "(objectClass=*)", ["nsUniqueId"])
    finally:
        conn.unbind_s()
    assert before["ann"].anchor == stored[0][1]["nsUniqueId"][0].decode()
    dirsrv.rename(f"uid=ann,{people}", "uid=anna")
    after = read(dirsrv, people)
    assert after["anna"].anchor == before["ann"].anchor


def test_nsaccountlock_is_the_disabled_flag(dirsrv: ThrowawayDirSrv, people: str) -> None:
    """A user with nsAccountLock true (any case) is disabled; locking and unlocking show up."""
    users = read(dirsrv, people)
    assert {n: u.disabled for n, u in users.items()} == {"ann": False, "ben": False, "cid": True}
    dirsrv.modify(f"uid=ben,{people}", [(ldap.MOD_ADD, "nsAccountLock", "TRUE")])
    dirsrv.modify(f"uid=cid,{people}", [(ldap.MOD_DELETE, "nsAccountLock", None)])
    users = read(dirsrv, people)
    assert {n: u.disabled for n, u in users.items()} == {"ann": False, "ben": True, "cid": False}


def test_probe_recognises_389_and_hints_at_the_type(dirsrv: ThrowawayDirSrv, people: str) -> None:
    """probe says 389ds; configured as openldap, it adds a type_hint naming the type to set."""
    with LdapDirectory(config(dirsrv, people)) as directory:
        probe = directory.probe()
    assert probe["server_kind"] == "389ds"
    assert "type_hint" not in probe
    assert probe["change_detection"].startswith("modifyTimestamp polling")
    with LdapDirectory(config(dirsrv, people, type="openldap", anchor="nsUniqueId")) as directory:
        hinted = directory.probe()
    assert hinted["type_hint"] == "the server looks like 389ds; set directory.type: 389ds"
