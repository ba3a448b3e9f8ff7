"""One bound python-ldap connection: options, TLS, bind, paged search, and error translation.

Every python-ldap exception stops here and leaves as a ``DirectoryError`` subclass whose message
says what failed, against which URL (and base DN), and what to do. Passwords never appear.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import ldap
import structlog
from ldap.controls import SimplePagedResultsControl

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.ad import bind_failure, page_size
from webex_provisioner.errors import (
    DirectoryAuthError,
    DirectoryError,
    DirectoryIncompleteError,
    DirectoryUnavailableError,
)

log = structlog.get_logger()

# (dn, {attribute name as the server spells it: [raw values]})
Entry = tuple[str, dict[str, list[bytes]]]

PAGED_RESULTS_OID = SimplePagedResultsControl.controlType
_UNREACHABLE = (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT, ldap.BUSY, ldap.UNAVAILABLE)
_LIMITS = (ldap.SIZELIMIT_EXCEEDED, ldap.TIMELIMIT_EXCEEDED, ldap.ADMINLIMIT_EXCEEDED)
_LIMIT_ADVICE = (
    "the server stopped the search at one of its limits; raise the limit for the bind DN "
    "(OpenLDAP: 'limits dn.exact=\"<bind DN>\" size=unlimited time=unlimited'; AD: MaxPageSize/"
    "MaxQueryDuration) or lower directory.page_size"
)


def describe(exc: ldap.LDAPError) -> str:
    """python-ldap's description and diagnostic text of an error, e.g. 'Protocol error (cookie ...)'."""
    details: dict[str, Any] = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    desc = str(details.get("desc") or type(exc).__name__)
    info = str(details.get("info") or "").strip()
    return f"{desc} ({info})" if info else desc


def _is_tls_failure(exc: ldap.LDAPError) -> bool:
    text = describe(exc).lower()
    return any(word in text for word in ("certificate", "tls", "ssl", "handshake"))


def _tcp_reachable(url: str, timeout: float) -> bool:
    """Whether a plain TCP connection to the URL's host and port succeeds (to tell a TLS failure,
    which libldap reports like a down server, from a server that is really unreachable)."""
    parts = urlsplit(url)
    try:
        port = parts.port or (636 if parts.scheme == "ldaps" else 389)
        with socket.create_connection((parts.hostname or "localhost", port), timeout=min(timeout, 5.0)):
            return True
    except (OSError, ValueError):
        return False


def translate(  # noqa: PLR0911 - a table: one answer per kind of LDAP failure
    exc: ldap.LDAPError, doing: str, config: DirectoryConfig, *, tls_handshake: bool = False
) -> DirectoryError:
    """The ``DirectoryError`` for ``exc`` raised while ``doing`` (e.g. 'searching users under X').

    ``tls_handshake`` says the caller knows the failure happened in the TLS handshake.
    """
    url = config.url
    what = f"{doing} at {url} failed: {describe(exc)}"
    if isinstance(exc, ldap.INVALID_CREDENTIALS):
        who = config.bind_dn or "(anonymous)"
        ad_reason = bind_failure(describe(exc))  # Active Directory says why in a sub-code
        if ad_reason is not None:
            return DirectoryAuthError(f"the directory at {url} refused the bind of {who}: {ad_reason}")
        return DirectoryAuthError(
            f"the directory at {url} refused the bind of {who}: invalid credentials; check "
            "directory.bind_dn and directory.bind_password (and that the account is not locked)"
        )
    if isinstance(exc, ldap.INAPPROPRIATE_AUTH | ldap.UNWILLING_TO_PERFORM) and doing.startswith("binding"):
        return DirectoryAuthError(
            f"{what}; set directory.bind_dn and directory.bind_password to a service account"
        )
    if isinstance(exc, ldap.STRONG_AUTH_REQUIRED | ldap.CONFIDENTIALITY_REQUIRED):
        return DirectoryError(
            f"{what}; the server requires TLS: set directory.start_tls: true or use an ldaps:// URL"
        )
    if tls_handshake or (isinstance(exc, ldap.CONNECT_ERROR | ldap.SERVER_DOWN) and _is_tls_failure(exc)):
        return DirectoryError(
            f"{what}; the TLS handshake failed, most likely the server certificate was not trusted: set "
            "directory.ca_file to the PEM file of the CA that signed it, and use a host name in "
            "directory.url that the certificate names (tls_verify: false only to try things out)"
        )
    if isinstance(exc, _UNREACHABLE):
        return DirectoryUnavailableError(
            f"{what}; check directory.url and that the server is up and reachable"
        )
    if isinstance(exc, _LIMITS):
        return DirectoryIncompleteError(f"{what}; {_LIMIT_ADVICE}")
    if isinstance(exc, ldap.INSUFFICIENT_ACCESS):
        return DirectoryError(f"{what}; grant the bind DN {config.bind_dn or '(anonymous)'} read access")
    if isinstance(exc, ldap.NO_SUCH_OBJECT):
        return DirectoryError(
            f"{what}; the entry does not exist (or the bind DN may not see it): check directory.base_dn"
        )
    if isinstance(exc, ldap.FILTER_ERROR):
        return DirectoryError(
            f"{what}; check directory.user_filter, disabled_filter, group_filter and scope.filter"
        )
    if isinstance(exc, ldap.UNAVAILABLE_CRITICAL_EXTENSION):
        return DirectoryError(
            f"{what}; the server does not offer paged results (RFC 2696), which is required"
        )
    return DirectoryError(f"{what}; check the directory settings and the server log")


class Connection:
    """A bound connection to ``config.url``; opened on creation, one per ``LdapDirectory``."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.broken = False
        self._ldap = self._open()

    def _open(self) -> Any:
        config = self.config
        try:
            conn = ldap.initialize(config.url)
            conn.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
            conn.set_option(ldap.OPT_REFERRALS, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, config.timeout)
            conn.set_option(ldap.OPT_TIMEOUT, config.timeout)
            if config.url.startswith("ldaps://") or config.start_tls:
                self._configure_tls(conn)
        except ldap.LDAPError as exc:
            raise translate(exc, "setting up the connection", config) from exc
        if config.start_tls:
            if config.url.startswith("ldaps://"):
                raise DirectoryError(
                    f"directory.start_tls is set but {config.url} is already TLS (ldaps://); "
                    "drop start_tls or use an ldap:// URL"
                )
            try:
                conn.start_tls_s()
            except ldap.LDAPError as exc:
                handshake = isinstance(exc, ldap.CONNECT_ERROR)  # the server answered, TLS failed
                raise translate(exc, "StartTLS", config, tls_handshake=handshake) from exc
        password = config.bind_password.get_secret_value() if config.bind_password else ""
        try:
            conn.simple_bind_s(config.bind_dn or "", password)
        except ldap.LDAPError as exc:
            handshake = (
                config.url.startswith("ldaps://")
                and isinstance(exc, ldap.SERVER_DOWN)
                and _tcp_reachable(config.url, config.timeout)
            )
            doing = f"binding as {config.bind_dn or '(anonymous)'}"
            raise translate(exc, doing, config, tls_handshake=handshake) from exc
        return conn

    def _configure_tls(self, conn: Any) -> None:
        config = self.config
        if config.tls_verify:
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        else:
            log.warning(
                "directory.tls_verify_off",
                url=config.url,
                detail="the server certificate is not verified: anyone on the path can read the traffic; "
                "set directory.ca_file and tls_verify: true",
            )
            conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_ALLOW)
        if config.ca_file is not None:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(config.ca_file))
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # apply the TLS options above to this connection

    def _failed(self, exc: ldap.LDAPError, doing: str) -> DirectoryError:
        if isinstance(exc, _UNREACHABLE):
            self.broken = True
        return translate(exc, doing, self.config)

    def search_pages(
        self, base: str, filterstr: str, attributes: Sequence[str], *, what: str, at_most: int | None = None
    ) -> Iterator[list[Entry]]:
        """Page by page (``config.page_size`` entries each, or ``at_most`` when fewer: a page of
        large groups holds all their member values): a subtree search with paged results.

        Any failure after the first page, and a server that stops returning the paging control
        or a cookie it accepts, or returns a cookie it returned before (it would page forever),
        raises ``DirectoryIncompleteError``: the caller has seen part of the result only.
        """
        doing = f"searching {what} under {base} with {filterstr}"
        size = page_size(self.config.type, self.config.page_size)
        size = size if at_most is None else min(size, at_most)
        control = SimplePagedResultsControl(True, size=size, cookie=b"")
        pages = 0
        cookies: set[bytes] = set()
        while True:
            try:
                msgid = self._ldap.search_ext(
                    base, ldap.SCOPE_SUBTREE, filterstr, list(attributes), serverctrls=[control]
                )
                _type, data, _msgid, controls = self._ldap.result3(msgid, timeout=self.config.timeout)
            except ldap.LDAPError as exc:
                error = self._failed(exc, doing)
                if pages and not isinstance(error, DirectoryIncompleteError):
                    raise DirectoryIncompleteError(
                        f"the read is incomplete, it stopped after {pages} page(s) of "
                        f"{size} entries: {error.message}"
                    ) from exc
                raise error from exc
            pages += 1
            page = [(dn, attrs) for dn, attrs in data if dn is not None]  # skip search references
            del data  # neither this page nor the server's answer is kept while the next is read
            yield page
            del page
            paged = [c for c in controls if c.controlType == PAGED_RESULTS_OID]
            if not paged:
                raise DirectoryIncompleteError(
                    f"{doing} at {self.config.url}: the server did not return the paged-results control "
                    f"with page {pages}, so the rest of the result is unknown; check that the server "
                    "supports paged results (RFC 2696) and is not behind a proxy that drops controls"
                )
            if not paged[0].cookie:
                return
            if paged[0].cookie in cookies:
                raise DirectoryIncompleteError(
                    f"{doing} at {self.config.url}: the server returned a paging cookie it had already "
                    f"returned (after page {pages}), so the search would never end; the read is "
                    "incomplete, nothing was concluded from it. Check the server (or a proxy in between)"
                )
            cookies.add(paged[0].cookie)
            control.cookie = paged[0].cookie

    def search_all(
        self, base: str, filterstr: str, attributes: Sequence[str], *, what: str, at_most: int | None = None
    ) -> Iterator[Entry]:
        """``search_pages`` flattened."""
        for page in self.search_pages(base, filterstr, attributes, what=what, at_most=at_most):
            yield from page
            del page

    def search_few(
        self, base: str, filterstr: str, attributes: Sequence[str], *, what: str, limit: int
    ) -> list[Entry]:
        """A small subtree search without paging (so a paged read in progress on this connection
        keeps its cookie). More than ``limit`` matches raises ``DirectoryError``."""
        try:
            found = self._ldap.search_ext_s(
                base,
                ldap.SCOPE_SUBTREE,
                filterstr,
                list(attributes),
                timeout=self.config.timeout,
                sizelimit=limit,
            )
        except ldap.SIZELIMIT_EXCEEDED as exc:
            raise DirectoryError(
                f"searching {what} under {base} with {filterstr} at {self.config.url} matched more than "
                f"{limit} entries; use a more specific key"
            ) from exc
        except ldap.LDAPError as exc:
            raise self._failed(exc, f"searching {what} under {base} with {filterstr}") from exc
        return [(dn, attrs) for dn, attrs in found if dn is not None]

    def search_with_controls(
        self,
        base: str,
        filterstr: str,
        attributes: Sequence[str],
        controls: Sequence[Any],
        response_controls: Mapping[str, Any] | None = None,
        *,
        what: str,
        base_only: bool = False,
    ) -> tuple[list[Entry], list[Any]]:
        """One unpaged subtree (or ``base_only``) search with request controls (DirSync, Show
        Deleted): the entries (search references skipped) and the response controls, decoded with
        ``response_controls`` (OID -> class). Failures leave as ``DirectoryError`` with the
        python-ldap error as cause."""
        doing = f"searching {what} under {base} with {filterstr}"
        scope = ldap.SCOPE_BASE if base_only else ldap.SCOPE_SUBTREE
        try:
            msgid = self._ldap.search_ext(
                base, scope, filterstr, list(attributes), serverctrls=list(controls)
            )
            _type, data, _msgid, answered = self._ldap.result3(
                msgid, timeout=self.config.timeout, resp_ctrl_classes=response_controls
            )
        except ldap.LDAPError as exc:
            raise self._failed(exc, doing) from exc
        return [(dn, attrs) for dn, attrs in data if dn is not None], list(answered)

    def read(self, dn: str, filterstr: str, attributes: Sequence[str], *, what: str) -> Entry | None:
        """The entry at ``dn`` if it matches ``filterstr``; ``None`` if it does not, does not exist,
        or is held by another server (a referral, which is not followed)."""
        try:
            found = self._ldap.search_ext_s(
                dn, ldap.SCOPE_BASE, filterstr, list(attributes), timeout=self.config.timeout
            )
        except ldap.NO_SUCH_OBJECT:
            return None
        except ldap.REFERRAL:
            log.info(
                "directory.entry_elsewhere",
                dn=dn,
                url=self.config.url,
                detail="held by another server; skipped",
            )
            return None
        except ldap.LDAPError as exc:
            raise self._failed(exc, f"reading {what} {dn}") from exc
        entries = [(found_dn, attrs) for found_dn, attrs in found if found_dn is not None]
        return entries[0] if entries else None

    def root_dse(self) -> dict[str, list[bytes]]:
        try:
            found = self._ldap.search_ext_s(
                "", ldap.SCOPE_BASE, "(objectClass=*)", ["*", "+"], timeout=self.config.timeout
            )
        except ldap.LDAPError as exc:
            raise self._failed(exc, "reading the root DSE") from exc
        return dict(found[0][1]) if found else {}

    def close(self) -> None:
        with contextlib.suppress(ldap.LDAPError):  # a dead connection has nothing left to release
            self._ldap.unbind_s()
        self.broken = True
