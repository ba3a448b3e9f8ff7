"""Bearer tokens and the OAuth refresh grant of ``POST /v1/access_token`` (docs/emulator.md).

A static token (``--token``) works until a test revokes it. Access tokens issued by the refresh
grant expire after ``token_lifetime`` seconds; with ``rotate_refresh_tokens`` on (the default) each
use of a refresh token returns a new one and invalidates the old.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from webex_provisioner.emulator.errors import ScimError

REFRESH_TOKEN_LIFETIME = 7_776_000  # 90 days, as in Webex's service-app example
SCOPE = "identity:people_rw identity:people_read"


class TokenError(ScimError):
    """A refused token request; ``error`` is the OAuth 2.0 error code (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(status, detail)
        self.error = error


class TokenAuthority:
    """Which bearer tokens are valid, and the refresh grant that issues new ones."""

    def __init__(
        self,
        token: str | None,
        *,
        oauth_clients: Mapping[str, str] | None = None,
        refresh_tokens: Iterable[str] = (),
        token_lifetime: int = 3600,
        rotate_refresh_tokens: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._static = token
        self._clients = dict(oauth_clients or {})
        self._initial_refresh_tokens = list(refresh_tokens)
        self.token_lifetime = token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Back to the start: the static token valid, only the initial refresh tokens, nothing issued."""
        with self._lock:
            self._valid_static = {self._static} if self._static else set()
            self._access: dict[str, float] = {}
            self._refresh = set(self._initial_refresh_tokens)

    def accepts(self, token: str) -> bool:
        """Whether ``token`` is a valid, unexpired bearer token."""
        if token in self._valid_static:
            return True
        expiry = self._access.get(token)
        return expiry is not None and self._clock() < expiry

    def revoke(self, token: str) -> None:
        """Make ``token`` (static, access or refresh) invalid from now on."""
        with self._lock:
            self._valid_static.discard(token)
            self._access.pop(token, None)
            self._refresh.discard(token)

    def expire_access_tokens(self) -> None:
        """Expire every access token issued so far (the static token is not affected)."""
        with self._lock:
            now = self._clock()
            self._access = dict.fromkeys(self._access, now)

    def add_refresh_token(self, refresh_token: str) -> None:
        """Accept one more refresh token."""
        with self._lock:
            self._refresh.add(refresh_token)

    def grant(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Serve a token request (form fields); raises ``TokenError``."""
        grant_type = form.get("grant_type")
        if grant_type != "refresh_token":
            raise TokenError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if (
            not client_id
            or client_id not in self._clients
            or not secrets.compare_digest(self._clients[client_id], secret or "")
        ):
            raise TokenError(401, "invalid_client", "the client id or secret is wrong")
        old = form.get("refresh_token")
        if not old:
            raise TokenError(400, "invalid_request", "refresh_token is required")
        with self._lock:
            if old not in self._refresh:
                raise TokenError(400, "invalid_grant", "the refresh token is invalid or was already used")
            new = old
            if self.rotate_refresh_tokens:
                self._refresh.discard(old)
                new = secrets.token_urlsafe(48)
                self._refresh.add(new)
            access = secrets.token_urlsafe(48)
            now = self._clock()
            self._access = {t: e for t, e in self._access.items() if e > now}
            self._access[access] = now + self.token_lifetime
        return {
            "access_token": access,
            "expires_in": self.token_lifetime,
            "refresh_token": new,
            "refresh_token_expires_in": REFRESH_TOKEN_LIFETIME,
            "token_type": "Bearer",
            "scope": SCOPE,
        }
