"""The one exception the emulator's pure modules raise, and the Webex-shaped error bodies.

Filters, PATCH, validation and the store raise ``ScimError``; the app turns it into the SCIM
error body Webex sends (RFC 7644 §3.12 plus Cisco's extension block, docs/emulator.md).
"""

from __future__ import annotations

from typing import Any

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CISCO_ERROR_URN = "urn:scim:schemas:extension:cisco:webexidentity:api:messages:2.0:Error"

# Webex publishes no error-code list for SCIM; these emulator codes are stable so tests can rely on them.
_ERROR_CODES: dict[tuple[int, str | None], str] = {
    (400, "invalidFilter"): "400001",
    (400, "invalidSyntax"): "400002",
    (400, "invalidValue"): "400003",
    (400, "noTarget"): "400004",
    (400, "invalidPath"): "400005",
    (400, "mutability"): "400006",
    (400, "tooMany"): "400007",
    (409, "uniqueness"): "409001",
}


class ScimError(Exception):
    """A request the emulator refuses: HTTP ``status``, a ``detail`` for humans, an RFC 7644 ``scim_type``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    @property
    def error_code(self) -> str:
        """The Cisco ``errorCode``: a six-digit code starting with the HTTP status."""
        return _ERROR_CODES.get((self.status, self.scim_type), f"{self.status}000")


class WebexApiError(ScimError):
    """A refusal of the ``/v1`` APIs: answered in Webex's generic shape, with ``message`` (a short
    summary), the ``detail`` as the error's ``description`` and Webex's numeric ``code`` if any."""

    def __init__(self, status: int, message: str, detail: str | None = None, code: int | None = None) -> None:
        super().__init__(status, detail or message)
        self.message = message
        self.code = code


def invalid_value(detail: str) -> ScimError:
    """A 400 ``invalidValue``: a value breaks the schema (type, length, count, format)."""
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    """A 400 ``invalidSyntax``: the request body is not what the endpoint takes."""
    return ScimError(400, detail, "invalidSyntax")


def not_found(detail: str) -> ScimError:
    """A 404 without ``scimType``."""
    return ScimError(404, detail)


def scim_error_body(error: ScimError, tracking_id: str) -> dict[str, Any]:
    """The SCIM error body with Cisco's extension block (``status`` is a string, as Webex sends it)."""
    body: dict[str, Any] = {
        "schemas": [ERROR_URN],
        "status": str(error.status),
        "detail": error.detail,
    }
    if error.scim_type:
        body["scimType"] = error.scim_type
    body[CISCO_ERROR_URN] = {
        "trackingId": tracking_id,
        "errorCode": error.error_code,
        "details": error.detail,
    }
    return body


def webex_error_body(error: ScimError, tracking_id: str) -> dict[str, Any]:
    """The SCIM error body plus the generic Webex API fields (``message``, ``errors``, ``trackingId``).

    Webex answers gateway-level refusals (a bad token, the token endpoint) in its generic shape
    (docs/emulator.md); carrying both shapes lets any client parser read it.
    """
    body = scim_error_body(error, tracking_id)
    body.update(
        {"message": error.detail, "errors": [{"description": error.detail}], "trackingId": tracking_id}
    )
    return body


def generic_error_body(error: ScimError, tracking_id: str) -> dict[str, Any]:
    """Webex's generic error body of the ``/v1`` APIs: ``message``, ``errors``, ``trackingId``."""
    item: dict[str, Any] = {"description": error.detail}
    message = error.detail
    if isinstance(error, WebexApiError):
        message = error.message
        if error.code is not None:
            item["errorCode"] = error.code
    return {"message": message, "errors": [item], "trackingId": tracking_id}
