"""``RecordingNotifier``: the ``Notifier`` port in memory: keeps what it was sent, and fails
when a test says so (the next N sends, or every send until told otherwise)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from webex_provisioner.errors import NotificationError
from webex_provisioner.model.notifications import OutboundMessage

if TYPE_CHECKING:
    from webex_provisioner.ports import Notifier


class RecordingNotifier:
    """A channel named ``channel`` whose far end is this object: ``sent`` holds what it took."""

    def __init__(self, channel: str = "webhook") -> None:
        self.channel = channel
        self.sent: list[OutboundMessage] = []
        self.attempts = 0
        self._failures = 0
        self._failing = False
        self._error = ""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RecordingNotifier({self.channel!r}, {len(self.sent)} sent)"

    def fail_next(self, count: int = 1, error: str = "answered 503 Service Unavailable") -> None:
        """The next ``count`` sends raise ``NotificationError`` with ``error``."""
        with self._lock:
            self._failures, self._error = count, error

    def fail_always(self, failing: bool = True, error: str = "could not be reached") -> None:
        """Every send fails (until called with ``False``)."""
        with self._lock:
            self._failing, self._error = failing, error

    def send(self, message: OutboundMessage) -> None:
        with self._lock:
            self.attempts += 1
            if self._failing or self._failures > 0:
                self._failures = max(0, self._failures - 1)
                raise NotificationError(self.channel, f"the {self.channel} channel {self._error}")
            self.sent.append(message)

    def close(self) -> None:
        """Nothing to release."""


if TYPE_CHECKING:

    def _implements_the_port(notifier: RecordingNotifier) -> Notifier:
        return notifier
