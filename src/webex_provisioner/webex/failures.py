"""Webex error answers → ``WebexError`` subclasses with messages that say what, which, and what to do.

Pure: reads status, headers and body that the client already has. Understands the SCIM error
body (``detail``, ``scimType``, the Cisco extension's ``details``/``errorCode``/``trackingId``)
and the generic Webex shape (``message``, ``errors[].description``, ``trackingId``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.errors import (
    WebexAuthError,
    WebexConflictError,
    WebexError,
    WebexNotFoundError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.webex.scim import CISCO_ERROR

_MAX_DETAIL = 500
_MAX_CODE_DIGITS = 12


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """What an error answer says, whichever shape it came in."""

    detail: str | None = None
    scim_type: str | None = None
    error_code: str | None = None
    tracking_id: str | None = None

    @property
    def code(self) -> int | None:
        """Webex's ``errorCode`` as a number (what ``WebexError.code`` keeps), ``None`` when the
        answer had none or a code that is not a number of at most ``_MAX_CODE_DIGITS`` digits."""
        text = self.error_code
        if text is None or not text.isascii() or not text.isdigit() or len(text) > _MAX_CODE_DIGITS:
            return None
        return int(text)


def _str(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def parse_error_body(body: bytes | str | None) -> ErrorInfo:
    """Read a Webex error body; unknown or non-JSON bodies give their text (shortened) as detail."""
    if not body:
        return ErrorInfo()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
        return ErrorInfo(detail=_shorten(text))
    if not isinstance(data, Mapping):
        return ErrorInfo(detail=_shorten(text))
    cisco = data.get(CISCO_ERROR)
    cisco = cisco if isinstance(cisco, Mapping) else {}
    errors = [e for e in data.get("errors") or [] if isinstance(e, Mapping)]
    texts = [data.get("detail"), cisco.get("details"), data.get("message")]
    texts.extend(e.get("description") for e in errors)
    details = list(dict.fromkeys(t for t in map(_str, texts) if t))
    codes = [cisco.get("errorCode"), *(e.get("errorCode") for e in errors)]
    return ErrorInfo(
        detail=_shorten("; ".join(details)) if details else None,
        scim_type=_str(data.get("scimType")),
        error_code=next((c for c in map(_str, codes) if c), None),
        tracking_id=_str(cisco.get("trackingId")) or _str(data.get("trackingId")),
    )


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def tracking_id_of(info: ErrorInfo, headers: Mapping[str, str], sent: str) -> str:
    """The Webex tracking id support will ask for: from the body, the response header, or the
    ``TrackingID`` this client sent (Webex logs it)."""
    for name in ("TrackingID", "trackingId", "Tracking-ID"):
        if name in headers:
            header = headers[name]
            break
    else:
        header = None
    return info.tracking_id or _str(header) or sent


_FIX_VALUES = "fix the values named in the detail (see the Webex limits in docs) and let the next cycle retry"


@dataclass(frozen=True, slots=True)
class Advice:
    """What to do after a final error about one kind of resource (users, groups, licences), and
    how to find out whether a write that got no answer was applied."""

    forbidden: str
    not_found: str
    conflict: str
    look_up: str
    rejected: str = _FIX_VALUES


USER_ADVICE = Advice(
    forbidden=(
        "the token's identity lacks a right: it needs the identity:people_rw scope and the "
        "id_full_admin or id_user_admin role in this organization (check webex.org_id too)"
    ),
    not_found=(
        "Webex has no such resource: the user does not exist (any more), "
        "or webex.org_id / webex.url point at the wrong organization"
    ),
    conflict=(
        "another Webex user (possibly in another organization) already has this e-mail; "
        "link the existing user or free the address"
    ),
    look_up="look the user up by e-mail before trying again",
)

GROUP_ADVICE = Advice(
    forbidden=(
        "the token's identity lacks a right: groups need the identity:people_rw scope and the "
        "id_full_admin or id_group_admin role in this organization (check webex.org_id too)"
    ),
    not_found=(
        "Webex has no such group (any more: deleted in Control Hub or by another tool), "
        "or webex.org_id / webex.url point at the wrong organization"
    ),
    conflict=(
        "another Webex group already has this name (Webex compares names ignoring case); "
        "rename one of them, or link the existing group"
    ),
    look_up="look the group up by name before trying again",
)

LICENSE_ADVICE = Advice(
    forbidden=(
        "the token's identity lacks a right: licences need the spark-admin:licenses_read, "
        "spark-admin:people_read and spark-admin:people_write scopes and an administrator role "
        "that may assign licences in this organization (check webex.org_id too)"
    ),
    not_found=(
        "Webex has no such licence or user (any more), or webex.org_id / webex.url point at the "
        "wrong organization"
    ),
    conflict="Webex refused the change as it stands; read the user's licences and try again",
    look_up="read the user's licences, or send the same change again (that is harmless)",
    rejected=(
        "Webex refused the whole change and changed nothing; the detail says why (its errorCode "
        "is kept): fix the licence rules, or assign such a licence by hand in Control Hub"
    ),
)


def describe(what: str, status: int, reason: str, info: ErrorInfo, tracking_id: str) -> str:
    """``<what> failed: HTTP 400 Bad Request (invalidValue, error 200001): <detail> [tracking id …]``."""
    labels = ", ".join(
        x for x in (info.scim_type, f"error {info.error_code}" if info.error_code else None) if x
    )
    text = f"{what} failed: HTTP {status}{' ' + reason if reason else ''}"
    if labels:
        text += f" ({labels})"
    if info.detail:
        text += f": {info.detail}"
    return f"{text} [Webex tracking id {tracking_id}]"


def error_for_status(
    what: str,
    status: int,
    reason: str,
    info: ErrorInfo,
    tracking_id: str,
    *,
    auth_advice: str,
    advice: Advice = USER_ADVICE,
) -> WebexError:
    """The ``WebexError`` for a final (not retried) error answer about a user (or, with
    ``advice``, another kind of resource)."""
    message = describe(what, status, reason, info, tracking_id)
    kwargs: dict[str, Any] = {
        "status": status,
        "tracking_id": tracking_id,
        "scim_type": info.scim_type,
        "code": info.code,
    }
    if status == 401:
        return WebexAuthError(
            f"{message}; the Webex token was refused (expired or revoked): {auth_advice}", **kwargs
        )
    if status == 403:
        return WebexAuthError(f"{message}; {advice.forbidden}", **kwargs)
    if status == 404:
        return WebexNotFoundError(f"{message}; {advice.not_found}", **kwargs)
    if status == 409:
        return WebexConflictError(f"{message}; {advice.conflict}", **kwargs)
    if status >= 500 or status in (423, 429):
        return WebexUnavailableError(f"{message}; Webex is unavailable, the next cycle retries", **kwargs)
    return WebexRejectedError(f"{message}; {advice.rejected}", **kwargs)
