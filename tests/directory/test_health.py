"""The directory health contract: a read that cannot complete raises (after yielding what it got),
every python-ldap error is translated, and no message carries the password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ldap
import pytest

from tests.directory.helpers import MAPPED, config_for
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.errors import (
    DirectoryAuthError,
    DirectoryError,
    DirectoryIncompleteError,
    DirectoryUnavailableError,
)
from webex_provisioner.model import DirectoryUser
from webex_provisioner.sandbox import SERVICE_DN, Company, ThrowawaySlapd

pytestmark = pytest.mark.server


def consume(users: Iterator[DirectoryUser], into: list[DirectoryUser]) -> None:
    for user in users:
        into.append(user)


@pytest.fixture(scope="module")
def limited_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp behind a server-wide size limit of 10 entries (the root DN is exempt), one
    for the module: its tests only read it."""
    with ThrowawaySlapd(sizelimit=10) as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_a_size_limit_after_the_first_page_is_an_incomplete_read(
    limited_slapd: ThrowawaySlapd, process: bool
) -> None:
    """With pages of 5 and a limit of 10, the first 10 users are yielded, then
    DirectoryIncompleteError (retryable) says a limit stopped the read."""
    config = config_for(limited_slapd, scope={}, disabled_filter=None, page_size=5)
    got: list[DirectoryUser] = []
    with (
        LdapDirectory(config, MAPPED, read_process=process) as directory,
        pytest.raises(DirectoryIncompleteError) as caught,
    ):
        consume(directory.read_users(), got)
    assert len(got) == 10
    assert "limit" in caught.value.message.lower()
    assert caught.value.retryable


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_a_size_limit_on_the_first_page_is_an_incomplete_read(
    limited_slapd: ThrowawaySlapd, process: bool
) -> None:
    """A page larger than the limit fails at once, still as DirectoryIncompleteError."""
    config = config_for(limited_slapd, scope={}, disabled_filter=None, page_size=50)
    got: list[DirectoryUser] = []
    with (
        LdapDirectory(config, MAPPED, read_process=process) as directory,
        pytest.raises(DirectoryIncompleteError, match="limit"),
    ):
        consume(directory.read_users(), got)
    assert got == []


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_a_size_limit_in_a_label_search_is_an_incomplete_read(
    limited_slapd: ThrowawaySlapd, process: bool
) -> None:
    """The anchor-only searches that compute the labels obey the same contract: when the scope
    filter search is truncated, the read raises before yielding anyone."""
    config = config_for(limited_slapd, scope={"filter": "(sn=*)"}, page_size=5)
    got: list[DirectoryUser] = []
    with (
        LdapDirectory(config, MAPPED, read_process=process) as directory,
        pytest.raises(DirectoryIncompleteError),
    ):
        consume(directory.read_users(), got)
    assert got == []


def test_a_server_stopped_mid_read_raises_after_the_partial_yield(own_slapd: ThrowawaySlapd) -> None:
    """Stopping slapd after the first page: the first page's users were yielded, then the read
    raises DirectoryIncompleteError; once the server is back the same LdapDirectory reconnects."""
    config = config_for(own_slapd, page_size=5)
    with LdapDirectory(config, MAPPED, read_process=False) as directory:  # stops between pages here
        users = directory.read_users()
        got = [next(users) for _ in range(5)]
        own_slapd.stop()
        with pytest.raises(DirectoryIncompleteError) as caught:
            consume(users, got)
        assert len(got) == 5
        assert "incomplete" in caught.value.message
        assert config.url in caught.value.message
        own_slapd.start()
        assert len(list(directory.read_users())) == 64


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_an_unreachable_server_is_unavailable(own_slapd: ThrowawaySlapd, process: bool) -> None:
    """Nothing listening: DirectoryUnavailableError (retryable), naming the URL."""
    config = config_for(own_slapd)
    own_slapd.stop()
    with (
        LdapDirectory(config, read_process=process) as directory,
        pytest.raises(DirectoryUnavailableError) as caught,
    ):
        list(directory.read_users())
    assert caught.value.retryable
    assert config.url in caught.value.message
    if not process:  # a reader process hands over the error, not python-ldap's exception
        assert isinstance(caught.value.__cause__, ldap.LDAPError)


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_a_wrong_password_is_an_auth_error_without_the_password(
    shared_slapd: ThrowawaySlapd, process: bool
) -> None:
    """A refused bind raises DirectoryAuthError naming the bind DN and the settings to fix, and
    never the password."""
    password = "Tr0ub4dor&3-wrong"
    config = config_for(shared_slapd, bind_password=password)
    with (
        LdapDirectory(config, read_process=process) as directory,
        pytest.raises(DirectoryAuthError) as caught,
    ):
        list(directory.read_users())
    message = caught.value.message
    assert password not in message
    assert password not in repr(caught.value.__cause__)
    assert SERVICE_DN in message
    assert "directory.bind_password" in message
    assert not caught.value.retryable


@pytest.mark.parametrize("process", [False, True], ids=["here", "reader-process"])
def test_a_missing_base_dn_is_an_error_naming_it(shared_slapd: ThrowawaySlapd, process: bool) -> None:
    """A base DN that does not exist raises DirectoryError naming it and directory.base_dn."""
    config = config_for(shared_slapd, base_dn="ou=staff,dc=example,dc=com", scope={})
    with LdapDirectory(config, read_process=process) as directory, pytest.raises(DirectoryError) as caught:
        list(directory.read_users())
    assert "ou=staff,dc=example,dc=com" in caught.value.message
    assert "directory.base_dn" in caught.value.message


class _Tampering:
    """A python-ldap connection proxy that spoils the paging of the second page on."""

    def __init__(self, real: Any, mode: str) -> None:
        self._real = real
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def search_ext(self, *args: Any, serverctrls: list[Any], **kwargs: Any) -> Any:
        if self._mode == "cookie" and serverctrls[0].cookie:
            serverctrls[0].cookie = b"not-a-cookie"
        return self._real.search_ext(*args, serverctrls=serverctrls, **kwargs)

    def result3(self, *args: Any, **kwargs: Any) -> Any:
        rtype, data, msgid, controls = self._real.result3(*args, **kwargs)
        if self._mode == "control":
            controls = []
        return rtype, data, msgid, controls


def test_a_rejected_paging_cookie_is_an_incomplete_read(shared_slapd: ThrowawaySlapd) -> None:
    """slapd refuses a cookie it did not issue: the first page is yielded, then
    DirectoryIncompleteError."""
    config = config_for(shared_slapd, scope={}, disabled_filter=None, page_size=5)
    got: list[DirectoryUser] = []
    with LdapDirectory(config, MAPPED, read_process=False) as directory:  # tampered here
        connection = directory._connection()
        connection._ldap = _Tampering(connection._ldap, "cookie")
        with pytest.raises(DirectoryIncompleteError, match="cookie"):
            consume(directory.read_users(), got)
    assert len(got) == 5


def test_a_lost_paging_control_is_an_incomplete_read(shared_slapd: ThrowawaySlapd) -> None:
    """A response without the paged-results control leaves the rest unknown: the page is yielded,
    then DirectoryIncompleteError, rather than a silent end of the read."""
    config = config_for(shared_slapd, scope={}, disabled_filter=None, page_size=5)
    got: list[DirectoryUser] = []
    with LdapDirectory(config, MAPPED, read_process=False) as directory:  # tampered here
        connection = directory._connection()
        connection._ldap = _Tampering(connection._ldap, "control")
        with pytest.raises(DirectoryIncompleteError, match="paged-results control"):
            consume(directory.read_users(), got)
    assert len(got) == 5
