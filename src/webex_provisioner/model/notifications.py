"""The vocabulary of notifications (docs/notifications.md): conditions an operator must hear
about, the notices that tell them, what is kept between cycles, and a message as sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Condition(StrEnum):
    """Something that needs an operator, from its first cycle until a cycle finds it gone."""

    FAILED = "failed"
    HELD = "held"
    USER_FAILURES = "user_failures"
    DRIFT = "drift"


RECOVERED = "recovered"
"""The event of a notice saying a condition cleared (not a condition itself)."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One thing to tell: ``event`` is a condition's name, or ``recovered``.

    ``summary`` and ``details`` may hold directory values (e-mails, DNs, an error's text): each
    channel escapes them. ``command`` is what to run about it (empty when nothing is needed).
    """

    event: str
    condition: Condition
    cycle_id: str
    since: datetime
    at: datetime
    summary: str
    counts: Mapping[str, int] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    command: str = ""
    reminder: bool = False
    """True when the same unresolved condition is told again (``notify.repeat_after``)."""


@dataclass(frozen=True, slots=True)
class OpenCondition:
    """A condition not resolved yet: since when, the cycle that found it, when it was last told."""

    condition: Condition
    since: datetime
    cycle_id: str
    notified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """A notice a channel has not taken yet: tried ``attempts`` times, next at ``next_attempt``."""

    channel: str
    notice: Notice
    next_attempt: datetime
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class NotificationState:
    """What the notifications keep between cycles: the open conditions and the notices to send."""

    conditions: tuple[OpenCondition, ...] = ()
    outbox: tuple[PendingNotice, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A notice as the channels send it: each takes the form it carries (a subject and text and
    HTML for e-mail, markdown for Webex, ``payload`` as the webhook's JSON body)."""

    subject: str
    text: str
    markdown: str
    html: str
    payload: Mapping[str, Any]
    cycle_id: str = ""
