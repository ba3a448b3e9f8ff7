"""Where the bearer token comes from: a static token, a token file, or OAuth refresh.

Every provider is thread-safe. ``token()`` gives the access token to send (an OAuth provider
refreshes it about a minute before it expires); ``refresh(refused)`` is called after a 401 with
the token that was refused and says whether a different token is now available. No provider
ever puts a secret in a message, a log line or its ``repr``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import httpx

from webex_provisioner.config import WebexConfig
from webex_provisioner.config.values import header_problem
from webex_provisioner.errors import WebexAuthError, WebexError, WebexUnavailableError
from webex_provisioner.webex.body import UnreadableBodyError, read_capped

log = logging.getLogger(__name__)

REFRESH_MARGIN = 60.0
"""Seconds before expiry at which an OAuth access token is renewed."""
TOKEN_ANSWER_BYTES = 1024 * 1024
"""The largest answer of the token endpoint read (a real one is under 2 KB)."""
JSON = "application/json"


class TokenProvider(Protocol):
    advice: str
    """What to do when Webex refuses the token and ``refresh`` cannot help."""

    def token(self) -> str: ...

    def refresh(self, refused: str) -> bool: ...


class StaticToken:
    """``webex.token``: sent as is; a refused token cannot be renewed."""

    advice = (
        "get a new token and set webex.token / WEBEX_TOKEN, or configure webex.oauth for automatic refresh"
    )

    def __init__(self, token: str) -> None:
        self._token = token.strip()

    def token(self) -> str:
        return self._token

    def refresh(self, refused: str) -> bool:
        return False

    def __repr__(self) -> str:
        return "StaticToken(<hidden>)"


class FileToken:
    """``webex.token_file``: read at start, and read again when Webex refuses the token (an
    external job may have renewed the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.advice = f"write a valid token to {path}, or configure webex.oauth for automatic refresh"
        self._lock = threading.Lock()
        self._token = self._read()

    def _read(self) -> str:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WebexAuthError(
                f"the Webex token file {self.path} cannot be read ({exc.strerror or exc}); "
                "check webex.token_file and the file's permissions"
            ) from exc
        if not token:
            raise WebexAuthError(f"the Webex token file {self.path} is empty; write the access token into it")
        problem = header_problem(token)
        if problem is not None:
            raise WebexAuthError(
                f"the Webex token file {self.path} cannot be used: {problem}; write the token alone into it"
            )
        return token

    def token(self) -> str:
        with self._lock:
            return self._token

    def refresh(self, refused: str) -> bool:
        with self._lock:
            if self._token != refused:
                return True
            self._token = self._read()
            return self._token != refused

    def __repr__(self) -> str:
        return f"FileToken(path={str(self.path)!r})"


class OAuthToken:
    """``webex.oauth``: access tokens from ``POST {url}/v1/access_token`` (grant_type=refresh_token).

    Refreshes before expiry and after a 401, one refresh at a time. When Webex answers with a
    new refresh token, ``on_refresh_token`` receives it so the engine can persist it.
    """

    advice = (
        "the OAuth refresh token may have expired or been revoked: re-authorize the integration "
        "and set webex.oauth.refresh_token"
    )

    def __init__(
        self,
        http: httpx.Client,
        url: str,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        on_refresh_token: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._on_refresh_token = on_refresh_token
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at: float | None = None
        self.refreshes = 0

    def token(self) -> str:
        with self._lock:
            if self._access is None or self._expiring():
                self._renew()
            assert self._access is not None
            return self._access

    def refresh(self, refused: str) -> bool:
        with self._lock:
            if self._access is not None and self._access != refused:
                return True  # another thread renewed it meanwhile
            self._renew()
            return True

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at - REFRESH_MARGIN

    def _renew(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        try:
            with self._http.stream("POST", self._url, data=form, headers={"Accept": JSON}) as response:
                read_capped(response, TOKEN_ANSWER_BYTES)
        except httpx.HTTPError as exc:
            raise WebexUnavailableError(
                f"renewing the Webex access token at {self._url} failed ({type(exc).__name__}); "
                "check webex.url and the network, the next request retries"
            ) from None
        except UnreadableBodyError as exc:
            raise WebexError(
                f"renewing the Webex access token at {self._url} failed: {exc.reason}; check that "
                "webex.url points at Webex and that no proxy answers in its place",
                status=exc.status,
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise WebexUnavailableError(
                f"renewing the Webex access token at {self._url} failed: HTTP {response.status_code}; "
                "Webex is unavailable, the next request retries",
                status=response.status_code,
            )
        body = _json(response)
        access = body.get("access_token") if body else None
        if response.status_code >= 400 or not isinstance(access, str) or not access:
            raise WebexAuthError(
                f"renewing the Webex access token at {self._url} failed: HTTP {response.status_code}"
                f"{_reason(body)}; {self.advice} (check webex.oauth.client_id and client_secret too)",
                status=response.status_code if response.status_code >= 400 else 0,
            )
        problem = header_problem(access)
        if problem is not None:
            raise WebexAuthError(
                f"renewing the Webex access token at {self._url}: the token Webex answered cannot be "
                f"sent: {problem}; check that webex.url points at Webex"
            )
        self._access = access
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            self._expires_at = self._clock() + float(expires_in)
        else:
            self._expires_at = None  # unknown lifetime: renew on 401 only
        self.refreshes += 1
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
            self._refresh_token = rotated
            log.info("Webex issued a new OAuth refresh token; handing it over to be stored")
            if self._on_refresh_token is not None:
                try:
                    self._on_refresh_token(rotated)
                except Exception as exc:
                    log.error(
                        "storing the new OAuth refresh token failed (%s); it is kept in memory, "
                        "but a restart will use the previous one",
                        type(exc).__name__,
                    )

    def __repr__(self) -> str:
        return f"OAuthToken(url={self._url!r}, client_id={self._client_id!r})"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        return {}
    return data if isinstance(data, dict) else {}


def _reason(body: dict[str, Any]) -> str:
    """The error text of a token answer, never echoing token fields."""
    for key in ("error_description", "message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return f" ({value[:200]})"
    return ""


def token_provider(
    config: WebexConfig,
    http: httpx.Client,
    *,
    refresh_token: str | None = None,
    on_refresh_token: Callable[[str], None] | None = None,
) -> TokenProvider:
    """The provider for whichever credential the configuration gives (it validates exactly one)."""
    if config.oauth is not None:
        return OAuthToken(
            http,
            f"{config.url}/v1/access_token",
            client_id=config.oauth.client_id,
            client_secret=config.oauth.client_secret.get_secret_value(),
            refresh_token=refresh_token or config.oauth.refresh_token.get_secret_value(),
            on_refresh_token=on_refresh_token,
        )
    if config.token_file is not None:
        return FileToken(config.token_file)
    if config.token is not None:
        return StaticToken(config.token.get_secret_value())
    raise WebexAuthError(
        "no Webex credential is configured; set webex.token, webex.token_file or webex.oauth"
    )
