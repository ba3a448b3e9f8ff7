"""A refused bind to Active Directory says why (the AD sub-code) and what to do."""

from __future__ import annotations

from collections.abc import Iterator

import ldap
import pytest

from tests.ad.conftest import Tree, ad_directory
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.errors import DirectoryAuthError
from webex_provisioner.sandbox.samba import ThrowawaySambaDC

pytestmark = [pytest.mark.ad, pytest.mark.timeout(180)]

PASSWORD = "Svc-Passw0rd!a1"


def bind_error(tree: Tree, dn: str, password: str) -> str:
    with (
        LdapDirectory(ad_directory(tree, bind_dn=dn, bind_password=password)) as directory,
        pytest.raises(DirectoryAuthError) as raised,
    ):
        directory.probe()
    return raised.value.message


@pytest.fixture
def domain_policy(samba_dc: ThrowawaySambaDC) -> Iterator[ThrowawaySambaDC]:
    """Lets a test change the domain's lockout policy; restores it afterwards."""
    names = ["lockoutThreshold"]
    conn = samba_dc.connect()
    try:
        saved = conn.search_s(samba_dc.base_dn, ldap.SCOPE_BASE, "(objectClass=*)", names)[0][1]
    finally:
        conn.unbind_s()
    yield samba_dc
    samba_dc.modify(samba_dc.base_dn, [(ldap.MOD_REPLACE, n, saved[n]) for n in names if n in saved])


def test_wrong_password_52e(tree: Tree) -> None:
    """A wrong password names code 52e and the keys to check."""
    dn = tree.user("svc", password=PASSWORD)
    message = bind_error(tree, dn, "not-the-password")
    assert "the password is wrong" in message
    assert "code 52e" in message
    assert "directory.bind_password" in message
    assert dn in message


def test_disabled_account_533(tree: Tree) -> None:
    """A disabled service account is reported as disabled (533), with how to enable it."""
    dn = tree.user("svc", password=PASSWORD, disabled=True)
    message = bind_error(tree, dn, PASSWORD)
    assert "the account is disabled (Active Directory code 533)" in message
    assert "Enable-ADAccount" in message


def test_password_must_change_773(tree: Tree) -> None:
    """An account that must change its password at next logon is reported as such (773)."""
    dn = tree.user("svc", password=PASSWORD)
    tree.dc.modify(dn, [(ldap.MOD_REPLACE, "pwdLastSet", "0")])
    message = bind_error(tree, dn, PASSWORD)
    assert "must be changed" in message
    assert "code 773" in message


def test_locked_out_account_775(tree: Tree, domain_policy: ThrowawaySambaDC) -> None:
    """After too many wrong passwords, the right one is refused as locked out (775)."""
    domain_policy.modify(domain_policy.base_dn, [(ldap.MOD_REPLACE, "lockoutThreshold", "2")])
    dn = tree.user("svc", password=PASSWORD)
    for _ in range(2):
        bind_error(tree, dn, "wrong")
    message = bind_error(tree, dn, PASSWORD)
    assert "locked out" in message
    assert "code 775" in message
    assert "Unlock-ADAccount" in message


def test_expired_account_701(tree: Tree) -> None:
    """An account past its expiry date (accountExpires) is reported as expired (701)."""
    dn = tree.user("svc", password=PASSWORD)
    tree.dc.modify(dn, [(ldap.MOD_REPLACE, "accountExpires", "1")])
    message = bind_error(tree, dn, PASSWORD)
    assert "the account has expired" in message
    assert "code 701" in message
