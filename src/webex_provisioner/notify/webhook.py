"""``WebhookNotifier``: a notice as a JSON POST to ``notify.webhook.url`` (docs/notifications.md).

Any 2xx answer is delivery; anything else, a timeout or no connection is a ``NotificationError``
naming the webhook by its origin only (a webhook's path or query often is its secret) and never
the headers (which carry the credentials).
"""

from __future__ import annotations

import ssl

import httpx

from webex_provisioner.config.notify import WebhookChannel
from webex_provisioner.errors import NotificationError
from webex_provisioner.model.notifications import OutboundMessage
from webex_provisioner.notify.tls import USER_AGENT, origin

CHANNEL = "webhook"


class WebhookNotifier:
    """POSTs the JSON body of each message to one URL, with the configured headers."""

    channel = CHANNEL

    def __init__(
        self,
        config: WebhookChannel,
        *,
        timeout: float,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = config.url
        self._where = origin(config.url)
        self._timeout = timeout
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
        headers.update({name: value.get_secret_value() for name, value in config.headers.items()})
        self._client = httpx.Client(
            timeout=timeout, verify=verify, headers=headers, transport=transport, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier({self._where!r})"

    def send(self, message: OutboundMessage) -> None:
        try:
            response = self._client.post(self._url, json=dict(message.payload))
        except httpx.TimeoutException as exc:
            raise NotificationError(
                CHANNEL,
                f"the webhook at {self._where} did not answer within {self._timeout:g}s; it is tried "
                "again later (notify.timeout sets the wait)",
            ) from exc
        except httpx.HTTPError as exc:
            raise NotificationError(
                CHANNEL,
                f"the webhook at {self._where} could not be reached ({_kind(exc)}); check "
                "notify.webhook.url, that the receiver is up, and for https a certificate your CAs (or "
                "notify.ca_file) trust",
            ) from exc
        if not 200 <= response.status_code < 300:
            raise NotificationError(
                CHANNEL,
                f"the webhook at {self._where} answered {response.status_code} {response.reason_phrase}; "
                + _advice(response.status_code),
            )

    def close(self) -> None:
        self._client.close()


def _kind(exc: httpx.HTTPError) -> str:
    """What went wrong, without the URL an httpx message may carry."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "its certificate is not trusted"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or failed"
    return type(exc).__name__


def _advice(status: int) -> str:
    if status in (401, 403):
        return "check the credentials in notify.webhook.headers"
    if status in (404, 405, 410):
        return "check notify.webhook.url"
    if 300 <= status < 400:
        return "redirects are not followed: set notify.webhook.url to the final address"
    return "it is tried again later"
