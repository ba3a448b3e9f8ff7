"""``NotifierContract``: what every notification channel promises, checked through the port.

Subclass it and give the fixtures: ``notifier`` (a channel whose far end takes messages),
``received`` (a callable returning, oldest first, the text of each message that reached the far
end: a webhook's body, an e-mail's source, a space's markdown), ``refusing_notifier`` (its far
end answers an error) and ``unreachable_notifier`` (nothing listens where it sends). Optionally
``secrets``: values that must never appear in an error (tokens, passwords), and ``timeout``: the
channel's configured timeout in seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest

from webex_provisioner.errors import NotificationError
from webex_provisioner.model.notifications import OutboundMessage
from webex_provisioner.ports import Notifier

CHANNELS = ("webhook", "email", "webex")


def message(cycle_id: str, summary: str) -> OutboundMessage:
    """A message in every form, each carrying ``cycle_id`` and ``summary``."""
    return OutboundMessage(
        subject=f"[webex-provisioner] held ({cycle_id})",
        text=f"{summary}\nCycle {cycle_id}.\n",
        markdown=f"**held**\n\n{summary}\n\ncycle `{cycle_id}`",
        html=f"<p>{summary}</p><p>cycle <code>{cycle_id}</code></p>",
        payload={"event": "held", "cycle_id": cycle_id, "summary": summary, "counts": {"held": 3}},
        cycle_id=cycle_id,
    )


HELD = message("20240501T120000-c0ffee01", "3 deprovision(s) are held by the guard")


class NotifierContract:
    """A notifier delivers each message once, or raises ``NotificationError`` in time, saying
    what failed and naming no secret."""

    @pytest.fixture
    def secrets(self) -> Sequence[str]:
        return ()

    @pytest.fixture
    def timeout(self) -> float:
        return 10.0

    def test_the_channel_has_a_known_name(self, notifier: Notifier) -> None:
        """``channel`` is webhook, email or webex (logs, metrics and the state use it)."""
        assert notifier.channel in CHANNELS

    def test_a_message_reaches_the_far_end_once(
        self, notifier: Notifier, received: Callable[[], list[str]]
    ) -> None:
        """One send, one message received, carrying the cycle id and the summary."""
        notifier.send(HELD)

        arrived = received()
        assert len(arrived) == 1
        assert HELD.cycle_id in arrived[0] and "deprovision(s) are held by the guard" in arrived[0]

    def test_messages_arrive_in_the_order_sent(
        self, notifier: Notifier, received: Callable[[], list[str]]
    ) -> None:
        """Two sends arrive as two messages, in order."""
        notifier.send(HELD)
        notifier.send(message("cycle-two", "No action is held any more"))

        arrived = received()
        assert len(arrived) == 2
        assert HELD.cycle_id in arrived[0] and "cycle-two" in arrived[1]

    def test_a_refusal_raises_notification_error_naming_the_channel(
        self, refusing_notifier: Notifier, secrets: Sequence[str]
    ) -> None:
        """An error answer is a ``NotificationError`` of this channel, whose message says what
        happened and holds none of the secrets."""
        with pytest.raises(NotificationError) as raised:
            refusing_notifier.send(HELD)

        assert raised.value.channel == refusing_notifier.channel
        assert raised.value.message
        assert not [s for s in secrets if s in raised.value.message]

    def test_an_unreachable_far_end_raises_notification_error_in_time(
        self, unreachable_notifier: Notifier, secrets: Sequence[str], timeout: float
    ) -> None:
        """Nothing listening is a ``NotificationError`` (never another exception), within the
        channel's timeout."""
        started = time.monotonic()
        with pytest.raises(NotificationError) as raised:
            unreachable_notifier.send(HELD)

        assert time.monotonic() - started < timeout + 2
        assert raised.value.channel == unreachable_notifier.channel
        assert not [s for s in secrets if s in raised.value.message]
