"""``WebexSpaceNotifier``: a notice as a markdown message in a Webex space, posted by a bot
(``POST {webex.url}/v1/messages`` with ``notify.webex.room_id`` and ``notify.webex.token``)."""

from __future__ import annotations

import ssl

import httpx

from webex_provisioner.config.notify import WebexChannel
from webex_provisioner.errors import NotificationError
from webex_provisioner.model.notifications import OutboundMessage
from webex_provisioner.notify.tls import USER_AGENT, origin

CHANNEL = "webex"


class WebexSpaceNotifier:
    """Posts each message's markdown to one space."""

    channel = CHANNEL

    def __init__(
        self,
        config: WebexChannel,
        *,
        base_url: str,
        timeout: float,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._room_id = config.room_id
        self._url = f"{base_url.rstrip('/')}/v1/messages"
        self._where = origin(base_url)
        self._timeout = timeout
        headers = {"User-Agent": USER_AGENT, "Authorization": f"Bearer {config.token.get_secret_value()}"}
        self._client = httpx.Client(
            timeout=timeout, verify=verify, headers=headers, transport=transport, follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"WebexSpaceNotifier({self._where!r})"

    def send(self, message: OutboundMessage) -> None:
        body = {"roomId": self._room_id, "markdown": message.markdown}
        try:
            response = self._client.post(self._url, json=body)
        except httpx.TimeoutException as exc:
            raise NotificationError(
                CHANNEL, f"Webex ({self._where}) did not answer within {self._timeout:g}s; tried again later"
            ) from exc
        except httpx.HTTPError as exc:
            raise NotificationError(
                CHANNEL,
                f"Webex ({self._where}) could not be reached ({type(exc).__name__}); tried again later",
            ) from exc
        if not 200 <= response.status_code < 300:
            tracking = response.headers.get("TrackingID")
            raise NotificationError(
                CHANNEL,
                f"Webex ({self._where}) answered {response.status_code} to the message"
                + (f" (TrackingID {tracking})" if tracking else "")
                + f"; {_advice(response.status_code)}",
            )

    def close(self) -> None:
        self._client.close()


def _advice(status: int) -> str:
    if status == 401:
        return "the bot token was refused: check notify.webex.token"
    if status == 403:
        return "the token may not post there: make the bot a member of the space"
    if status == 404:
        return "no such space for this token: check notify.webex.room_id and that the bot is in the space"
    if status == 400:
        return "Webex refused the message as invalid"
    return "it is tried again later"
