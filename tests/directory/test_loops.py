"""Directory servers that would keep a read going forever: a paging cookie that comes back, an
Active Directory member range that does not advance, a DirSync cookie that comes back while
"more results" is announced. Each is an incomplete read, after a bounded number of requests.
Scripted connections, no server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ldap.controls import SimplePagedResultsControl

from webex_provisioner.config import DirectoryConfig, ScopeConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.ad_changes import DirSyncFeed
from webex_provisioner.directory.adcontrols import DirSyncControl
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.groups import expand_membership
from webex_provisioner.errors import DirectoryIncompleteError

pytestmark = pytest.mark.timeout(20)  # the behaviour guarded against is an endless loop

CONFIG = DirectoryConfig(url="ldap://127.0.0.1:1", base_dn="dc=x", page_size=2)


class _PagingServer:
    """python-ldap's side of a paged search: one page per search, with the scripted cookies."""

    def __init__(self, cookies: list[bytes]) -> None:
        self.cookies = cookies
        self.sent: list[bytes] = []

    def search_ext(self, *args: Any, serverctrls: list[Any], **kwargs: Any) -> int:
        self.sent.append(serverctrls[0].cookie)
        return len(self.sent)

    def result3(self, msgid: int, **kwargs: Any) -> tuple[Any, ...]:
        cookie = self.cookies[min(msgid - 1, len(self.cookies) - 1)]
        page = [(f"uid=u{msgid}-{i},dc=x", {"uid": [b"u"]}) for i in range(2)]
        return 101, page, msgid, [SimplePagedResultsControl(True, size=2, cookie=cookie)]


def _connection(server: object, config: DirectoryConfig = CONFIG) -> Connection:
    connection = Connection.__new__(Connection)
    connection.config, connection.broken, connection._ldap = config, False, server
    return connection


def _pages(connection: Connection) -> Iterator[list[Any]]:
    return connection.search_pages("dc=x", "(uid=*)", ["uid"], what="users")


@pytest.mark.parametrize(
    "cookies", [[b"a", b"a"], [b"a", b"b", b"a"], [b"a", b"b", b"c", b"b"]], ids=["same", "back", "cycle"]
)
def test_a_paging_cookie_that_comes_back_is_an_incomplete_read(cookies: list[bytes]) -> None:
    """The pages before the repeated cookie are yielded, then DirectoryIncompleteError saying
    the search would never end; no further page is asked for."""
    server = _PagingServer(cookies)
    got: list[Any] = []
    with pytest.raises(DirectoryIncompleteError, match="already returned"):
        for page in _pages(_connection(server)):
            got += page
    assert len(server.sent) == len(cookies)
    assert len(got) == 2 * len(cookies)


def test_paging_ends_at_the_empty_cookie() -> None:
    """Distinct cookies, then an empty one: every page is read and the search ends."""
    server = _PagingServer([b"a", b"b", b""])
    assert sum(len(page) for page in _pages(_connection(server))) == 6
    assert server.sent == [b"", b"a", b"b"]


class _Ranges:
    """Active Directory's side of ranged retrieval, answering each request with a scripted
    attribute name (``member;range=...``) and one member."""

    def __init__(self, *answers: str) -> None:
        self.config = CONFIG
        self.answers = list(answers)
        self.asked: list[str] = []

    def read(self, dn: str, filterstr: str, attributes: list[str], *, what: str) -> Any:
        self.asked.append(attributes[0])
        if len(self.asked) == 1:
            return dn, {"member;range=0-1": [b"uid=a,dc=x", b"uid=b,dc=x"]}
        name = self.answers[min(len(self.asked) - 2, len(self.answers) - 1)]
        return dn, {name: [f"uid=m{len(self.asked)},dc=x".encode()]}


def _expand(server: _Ranges) -> object:
    config = DirectoryConfig(
        url="ldap://127.0.0.1:1", base_dn="dc=x", scope=ScopeConfig(groups=["cn=g,dc=x"])
    )
    return expand_membership(server, config, lambda _dn: False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("member;range=0-1", "range=0-1"),  # the first slice again: no progress
        ("member;range=2-1", "range=2-1"),  # ends before it starts
        ("member;range=5-*", "range=5-*"),  # skips values 2 to 4
        ("member;x-unknown", "x-unknown"),  # not a range
    ],
)
def test_a_member_range_that_does_not_continue_is_an_incomplete_read(answer: str, why: str) -> None:
    """A slice must start where the previous one ended and advance; anything else stops the read
    (DirectoryIncompleteError naming what the server answered) after one more request."""
    server = _Ranges(answer)
    with pytest.raises(DirectoryIncompleteError, match="does not continue") as caught:
        _expand(server)
    assert why in caught.value.message
    assert server.asked == ["member", "member;range=2-*"]


def test_member_ranges_that_advance_are_read_to_the_end() -> None:
    """2-3, then 4-*: every member is read."""
    membership = _expand(_Ranges("member;range=2-3", "member;range=4-*"))
    assert len(membership.reasons) == 4  # type: ignore[attr-defined]


class _DirSyncServer:
    """Active Directory's side of DirSync: every answer says more results follow, with the
    scripted cookies."""

    def __init__(self, *cookies: bytes) -> None:
        self.config = DirectoryConfig(type="activedirectory", url="ldap://127.0.0.1:1", base_dn="dc=x")
        self.cookies = list(cookies)
        self.sent: list[bytes] = []

    def root_dse(self) -> dict[str, list[bytes]]:
        return {"namingContexts": [b"dc=x"]}

    def search_with_controls(self, *args: Any, **kwargs: Any) -> tuple[list[Any], list[Any]]:
        self.sent.append(args[3][0].cookie)
        answer = DirSyncControl(self.cookies[min(len(self.sent) - 1, len(self.cookies) - 1)])
        answer.more_results = True
        return [], [answer]


@pytest.mark.parametrize("cookies", [(b"c1", b"c1"), (b"c1", b"c2", b"c1"), (b"start",)], ids=str)
def test_a_dirsync_cookie_that_comes_back_is_an_incomplete_read(cookies: tuple[bytes, ...]) -> None:
    """DirSync announcing more results with a cookie it returned before (or the one it was
    given) fails the read with DirectoryIncompleteError instead of searching forever."""
    server = _DirSyncServer(*cookies)
    feed = DirSyncFeed(server.config, LdapDirectory(server.config))
    with pytest.raises(DirectoryIncompleteError, match="returned before"):
        feed._dirsync(server, b"start", keep=True)  # type: ignore[arg-type]
    assert len(server.sent) == len(cookies)
