"""One HTTP session with Webex: the shared httpx client, the token, retries and error mapping.

``ScimSession.send`` returns a final 2xx answer (or an allowed 404) or raises a ``WebexError``.
Reads, PATCH and DELETE are retried on throttling, 5xx and network errors (``webex.retry``); a
POST whose outcome is unknown is never sent twice: ``WebexOutcomeUnknownError``. A write sent
with ``lost_is_unknown`` (an idempotent one, such as a licence change) is retried, and raises
``WebexOutcomeUnknownError`` when the retries end on an attempt that may have been applied. A
401 renews the token once (OAuth refresh or token file re-read) and repeats the request. Paths
are below the SCIM base unless a request names another base (the ``/v1`` APIs).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from webex_provisioner.config import WebexConfig
from webex_provisioner.errors import (
    ConfigError,
    WebexError,
    WebexOutcomeUnknownError,
    WebexUnavailableError,
)
from webex_provisioner.webex.auth import TokenProvider, token_provider
from webex_provisioner.webex.body import UnreadableBodyError, decode_json, read_capped
from webex_provisioner.webex.failures import (
    USER_ADVICE,
    Advice,
    ErrorInfo,
    error_for_status,
    parse_error_body,
    tracking_id_of,
)
from webex_provisioner.webex.retry import (
    Failure,
    RetryPolicy,
    failure_for_status,
    may_have_applied,
    parse_retry_after,
)
from webex_provisioner.webex.stats import RequestStats

log = logging.getLogger(__name__)

JSON = "application/json"
USER_AGENT = "webex-provisioner/0.1"


def _verify(config: WebexConfig) -> ssl.SSLContext | bool:
    if not config.tls_verify:
        log.warning(
            "TLS certificate verification for %s is off (webex.tls_verify: false): anyone on the "
            "network path can impersonate Webex and read the token; set webex.ca_file instead",
            config.url,
        )
        return False
    if config.ca_file is not None:
        try:
            return ssl.create_default_context(cafile=str(config.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                [f"webex.ca_file: {config.ca_file} cannot be loaded ({exc}); give the PEM file of your CA"]
            ) from exc
    return True


def _failure_of(exc: httpx.HTTPError) -> Failure:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.ProxyError):
        return Failure.NOT_SENT
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    return Failure.DROPPED


def _untrusted_certificate(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure behind an httpx error, if that is what it is."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_Read = TypeVar("_Read")


@dataclass(frozen=True, slots=True)
class _Target:
    """Where one request goes, whether a lost answer leaves its outcome unknown, and what its
    errors advise."""

    url: httpx.URL
    unknown_when_lost: bool
    advice: Advice


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_URLS_KEPT = 64


def _json_bytes(body: Mapping[str, Any]) -> bytes:
    """A request body as httpx would encode ``json=body``."""
    return _ENCODER.encode(body).encode()


def _scrub(exc: WebexError, tokens: list[str]) -> None:
    """Mask the tokens sent should an answer have echoed one into the message (defence in depth)."""
    if not exc.args:
        return
    message = str(exc.args[0])
    for token in set(tokens):
        if token:
            message = message.replace(token, "<token>")
    exc.args = (message, *exc.args[1:])


class ScimSession:
    """Requests to ``base_url`` with auth, TrackingID, retries and stats; thread-safe.

    One ``httpx.Client`` (HTTP/1.1 keep-alive, ``webex.concurrency`` pooled connections, timeout
    ``webex.timeout``, TLS verified unless ``webex.tls_verify`` is false, ``webex.ca_file`` trusted).
    """

    def __init__(
        self,
        config: WebexConfig,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        refresh_token: str | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url
        self.stats = RequestStats()
        self._policy = RetryPolicy(max_retries=config.max_retries, max_wait=config.max_retry_wait)
        self._sleep = sleep
        self._max_bytes = config.max_response_bytes
        # A 429 slows the whole client down, not just the request that got it: every worker
        # waits until Webex's Retry-After has passed before its next request (a shared gate).
        self._gate = threading.Lock()
        self._paused_until = 0.0
        self._waited = threading.local()
        # SCIM requests go straight to the transport (the client's redirect, cookie and auth
        # layers cost a fifth of the engine's processor time per create and are not used); the
        # client serves the token endpoint.
        self._transport = transport or httpx.HTTPTransport(
            verify=_verify(config),
            limits=httpx.Limits(
                max_connections=config.concurrency + 2, max_keepalive_connections=config.concurrency
            ),
        )
        self._extensions = {"timeout": httpx.Timeout(config.timeout).as_dict()}
        self._urls: dict[str, httpx.URL] = {}
        self._http = httpx.Client(
            transport=self._transport,
            timeout=httpx.Timeout(config.timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        try:
            self.auth: TokenProvider = token_provider(
                config, self._http, refresh_token=refresh_token, on_refresh_token=on_refresh_token
            )
        except BaseException:
            self._http.close()
            raise

    def close(self) -> None:
        self._http.close()

    def send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        allow_404: bool = False,
        advice: Advice = USER_ADVICE,
        base: str | None = None,
        lost_is_unknown: bool = False,
    ) -> httpx.Response:
        """Send until a final answer; return a 2xx (or an allowed 404), raise a ``WebexError``
        whose advice is ``advice`` (what to do about a user, by default, a group or a licence).

        ``path`` is below ``base`` (the SCIM base when not given). With ``lost_is_unknown`` a
        request whose retries end on an attempt that may have been applied (no answer, a 5xx)
        or whose answer could not be read raises ``WebexOutcomeUnknownError``."""
        sent: list[str] = []
        target = _Target(self._url(path, base), lost_is_unknown or method == "POST", advice)
        try:
            return self._send(method, target, what, params, body, allow_404, sent)
        except WebexError as exc:
            _scrub(exc, sent)
            raise

    def _send(
        self,
        method: str,
        target: _Target,
        what: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        allow_404: bool,
        sent: list[str],
    ) -> httpx.Response:
        url, advice = target.url, target.advice
        content = None if body is None else _json_bytes(body)
        attempt = 0
        renewed = False
        while True:
            self._wait_for_gate()
            token = self.auth.token()
            sent.append(token)
            tracking = f"WEBEXPROV_{uuid.uuid4()}"
            headers = {
                "Authorization": f"Bearer {token}",
                "TrackingID": tracking,
                "Accept": JSON,
                "Accept-Encoding": "gzip, deflate",
                "Content-Type": JSON,
                "User-Agent": USER_AGENT,
            }
            request = httpx.Request(
                method, url, params=params, content=content, headers=headers, extensions=self._extensions
            )
            started = time.perf_counter()
            try:
                response = self._transport.handle_request(request)
                try:
                    read_capped(response, self._max_bytes)
                finally:
                    response.close()
            except UnreadableBodyError as exc:
                self.stats.record(method, exc.status, time.perf_counter() - started)
                raise self._unreadable(target, what, exc, tracking) from None
            except httpx.HTTPError as exc:
                self.stats.record(method, None, time.perf_counter() - started)
                untrusted = _untrusted_certificate(exc)
                if untrusted is not None:  # retrying cannot help: say what to configure
                    raise WebexUnavailableError(
                        f"{what} failed: the TLS certificate of {_origin(str(url))} is not trusted "
                        f"({untrusted.verify_message}); set webex.ca_file to the PEM file of the CA "
                        "that signed it and use a host name in webex.url that the certificate names "
                        "(webex.tls_verify: false only to try things out)",
                        retryable=False,
                    ) from exc
                cause = f"{type(exc).__name__}: {exc}".rstrip(": ")
                failure = _failure_of(exc)
                self._retry_or_raise(method, target, what, attempt, failure, None, cause, tracking, exc)
                attempt += 1
                continue
            self.stats.record(method, response.status_code, time.perf_counter() - started)
            status = response.status_code
            if status < 400 or (status == 404 and allow_404):
                return response
            if status == 401 and not renewed:
                renewed = True
                if self.auth.refresh(token):
                    log.info("%s: Webex refused the token (401); retrying with a renewed one", what)
                    continue
            transient = failure_for_status(status)
            if transient is None:
                raise self._error(what, response, tracking, advice)
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self._retry_or_raise(
                method, target, what, attempt, transient, retry_after, None, tracking, response
            )
            attempt += 1

    def _unreadable(self, target: _Target, what: str, exc: UnreadableBodyError, tracking: str) -> WebexError:
        """The error of an answer whose body was not read (too large, or an encoding not asked
        for): retrying gets the same. A create (or a write sent with ``lost_is_unknown``) may
        have been applied all the same."""
        message = (
            f"{what}: {exc.reason} (webex.max_response_bytes: {self._max_bytes}) [Webex tracking id "
            f"{tracking}]; check that webex.url points at Webex and that no proxy answers in its place"
        )
        if target.unknown_when_lost:
            return WebexOutcomeUnknownError(
                f"{message}; it may or may not have been applied: {target.advice.look_up}",
                status=exc.status,
                tracking_id=tracking,
            )
        return WebexError(message, status=exc.status, tracking_id=tracking, retryable=False)

    def _url(self, path: str, base: str | None = None) -> httpx.URL:
        """The URL of ``path`` below ``base`` (the SCIM base by default), parsed once for the
        collection paths used again and again (``/Users``, ``/Bulk``), not for each user's own."""
        text = (base or self.base_url) + path
        url = self._urls.get(text)
        if url is None:
            url = httpx.URL(text)
            if path.count("/") == 1 and len(self._urls) < _URLS_KEPT:
                self._urls[text] = url
        return url

    def _retry_or_raise(
        self,
        method: str,
        target: _Target,
        what: str,
        attempt: int,
        failure: Failure,
        retry_after: float | None,
        cause: str | None,
        tracking: str,
        source: httpx.Response | Exception,
    ) -> None:
        """Sleep before the next attempt, or raise the error that ends the request: at once for
        a POST that may have been applied (never sent twice), once the retries are spent for
        the others."""
        response = source if isinstance(source, httpx.Response) else None
        status = response.status_code if response is not None else 0
        outcome = cause or f"HTTP {status} {response.reason_phrase if response is not None else ''}".strip()
        chained = source if isinstance(source, Exception) else None
        applied = target.unknown_when_lost and may_have_applied(failure, retry_after=retry_after is not None)
        delay = None if method == "POST" and applied else self._policy.delay(attempt, failure, retry_after)
        if delay is None and applied:
            info = parse_error_body(response.content) if response is not None else ErrorInfo()
            tid = tracking_id_of(info, response.headers, tracking) if response is not None else tracking
            raise WebexOutcomeUnknownError(
                f"{what}: the request was sent but no usable answer came back ({outcome}"
                f"{f' after {attempt + 1} attempts' if attempt else ''}) [Webex tracking id {tid}]; "
                f"it may or may not have been applied: {target.advice.look_up}",
                status=status,
                tracking_id=tid,
                code=info.code,
            ) from chained
        if delay is None:
            raise self._gave_up(what, attempt, failure, retry_after, outcome, tracking, response) from chained
        log.log(
            logging.INFO if failure is Failure.THROTTLED else logging.WARNING,
            "%s: %s (attempt %d); retrying in %.1f s [tracking id %s]",
            what,
            outcome,
            attempt + 1,
            delay,
            tracking,
        )
        self.stats.retried()
        if failure is Failure.THROTTLED:
            with self._gate:
                self._paused_until = max(self._paused_until, time.monotonic() + delay)
                self._waited.until = self._paused_until
        self._sleep(delay)

    def _wait_for_gate(self) -> None:
        """Wait out a Retry-After another worker got, unless this worker already waited it out."""
        with self._gate:
            until = self._paused_until
        if until <= getattr(self._waited, "until", 0.0):
            return
        self._waited.until = until
        remaining = until - time.monotonic()
        if remaining > 0:
            self._sleep(remaining)

    def _gave_up(
        self,
        what: str,
        attempt: int,
        failure: Failure,
        retry_after: float | None,
        outcome: str,
        tracking: str,
        response: httpx.Response | None,
    ) -> WebexUnavailableError:
        tid = tracking
        detail = ""
        info = ErrorInfo()
        if response is not None:
            info = parse_error_body(response.content)
            tid = tracking_id_of(info, response.headers, tracking)
            detail = f": {info.detail}" if info.detail else ""
        if attempt < self._policy.max_retries and retry_after is not None:
            advice = (
                f"Webex asked to wait {retry_after:.0f} s (Retry-After), more than webex.max_retry_wait "
                f"({self._policy.max_wait:.0f} s); the next cycle retries, or raise webex.max_retry_wait"
            )
        elif failure is Failure.THROTTLED:
            advice = "Webex kept rate-limiting; lower webex.concurrency or raise webex.max_retries"
        else:
            advice = (
                f"Webex at {_origin(self.base_url)} is unreachable or failing; the next cycle retries "
                "(check webex.url and the network)"
            )
        return WebexUnavailableError(
            f"{what} failed after {attempt + 1} attempt(s): {outcome}{detail} "
            f"[Webex tracking id {tid}]; {advice}",
            status=response.status_code if response is not None else 0,
            tracking_id=tid,
            code=info.code,
        )

    def _error(self, what: str, response: httpx.Response, tracking: str, advice: Advice) -> WebexError:
        info = parse_error_body(response.content)
        tid = tracking_id_of(info, response.headers, tracking)
        return error_for_status(
            what,
            response.status_code,
            response.reason_phrase,
            info,
            tid,
            auth_advice=self.auth.advice,
            advice=advice,
        )

    @classmethod
    def written(
        cls, response: httpx.Response, what: str, read: Callable[[dict[str, Any]], _Read], *, probably: str
    ) -> _Read:
        """What ``read`` makes of the answer to a write that Webex accepted; when the answer
        cannot be read (``WebexError``), the write was probably applied all the same:
        ``WebexOutcomeUnknownError``, its message ending with ``probably`` (what to do)."""
        try:
            return read(cls.json(response, what))
        except WebexError as exc:
            raise WebexOutcomeUnknownError(
                f"{exc}; {probably}",
                status=response.status_code,
                tracking_id=response.headers.get("TrackingID"),
            ) from exc

    @staticmethod
    def json(response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = decode_json(response.content)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
            data = None
        if not isinstance(data, dict):
            raise ScimSession.not_json(response, what)
        return data

    @staticmethod
    def not_json(response: httpx.Response, what: str) -> WebexError:
        """The error of an answer whose body is not a JSON object."""
        return WebexError(
            f"{what}: Webex answered HTTP {response.status_code} with a body that is not a JSON object; "
            "check that webex.url points at the Webex API",
            status=response.status_code,
            tracking_id=response.headers.get("TrackingID"),
        )
