"""What to tell operators after a cycle, and when (docs/notifications.md). Pure: no I/O, no clock.

``decide`` looks at a cycle's ``CycleOutcome``, the configured events and the conditions still
open, and returns the notices to send and the conditions to keep:

* a condition the cycle finds is told once, when it appears, and again (a reminder) once
  ``repeat_after`` has passed while it is still there;
* a condition the cycle finds gone is closed, with a ``recovered`` notice when asked for;
* a condition the cycle cannot judge (a failed cycle says nothing of held deprovisions or of the
  users) stays as it was.

The outbox functions keep what each channel has not taken yet, with a growing wait between
attempts (``retry_delay``): a channel that fails never holds the others, or the cycle, back.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from webex_provisioner.model.notifications import (
    RECOVERED,
    Condition,
    Notice,
    OpenCondition,
    PendingNotice,
)

MAX_DETAILS = 10
"""Users named in one notice (the rest are counted): a message stays readable and small."""
MAX_DETAIL_CHARS = 200
MAX_SUMMARY_CHARS = 600
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)

COMMANDS: Mapping[Condition, str] = {
    Condition.FAILED: "webex-provisioner check",
    Condition.HELD: "webex-provisioner sync --approve-held",
    Condition.USER_FAILURES: "webex-provisioner status",
    Condition.DRIFT: "webex-provisioner plan",
}
ADVICE: Mapping[Condition, str] = {
    Condition.FAILED: "Fix the cause named above; `webex-provisioner check` tests the directory and Webex. "
    "'run' retries by itself; after a failed 'sync', run it again.",
    Condition.HELD: "Review them with `webex-provisioner plan`, then apply them with "
    "`webex-provisioner sync --approve-held` (or drop them with `webex-provisioner sync --discard-held`).",
    Condition.USER_FAILURES: "See `webex-provisioner status`, and `webex-provisioner users explain EMAIL` "
    "for one user; fix the directory data, the next cycles retry.",
    Condition.DRIFT: "See what the next cycle would change with `webex-provisioner plan`.",
}
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/@:]*(?::[^\s/@]*)?@")


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """What a cycle says about each condition, built from its report (``engine.notifications``).

    ``held`` describes the actions held after the cycle (``None``: not known), ``held_others``
    how many of them are not deprovisions (re-creations and reactivations of users changed in
    Webex, which the same guard holds). ``users_known``
    is false when the cycle cannot say how the users fared (it failed, or read one user only).
    ``drift`` counts the Webex users changed outside the directory, for a report that carries
    drift counts (``None``: the cycle did not look).
    """

    cycle_id: str
    at: datetime
    error: str | None = None
    held: tuple[str, ...] | None = None
    held_others: int = 0
    failed_users: tuple[str, ...] = ()
    left_alone: tuple[str, ...] = ()
    users_known: bool = True
    drift: tuple[str, ...] | None = None
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition as a cycle found it: there or not, and how to tell it."""

    active: bool
    summary: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """The notices to send, the conditions still open, and those closed by this cycle."""

    notices: tuple[Notice, ...]
    conditions: tuple[OpenCondition, ...]
    closed: frozenset[Condition] = frozenset()


def scrub(text: str, secrets: Collection[str] = ()) -> str:
    """``text`` without the credentials of URLs (``scheme://user:password@``) and without any
    of ``secrets`` (replaced by ``***``)."""
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _clip(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _listed(items: Sequence[str]) -> tuple[str, ...]:
    shown = tuple(_clip(item, MAX_DETAIL_CHARS) for item in items[:MAX_DETAILS])
    more = len(items) - len(shown)
    return (*shown, f"… and {more} more") if more > 0 else shown


def _held_summary(held: int, others: int) -> str:
    """What the held actions are: deprovisions keep their users' accounts until approved;
    re-creations and reactivations of users changed in Webex are not done until then."""
    deprovisions = held - others
    if not others:
        return (
            f"{deprovisions} deprovision(s) are held by the guard (safety.max_deprovisions) and wait "
            "for an approval; until then these users keep their Webex accounts."
        )
    parts = [f"{deprovisions} deprovision(s), whose users keep their Webex accounts until then"]
    parts = parts if deprovisions else []
    parts.append(f"{others} re-creation(s) or reactivation(s) of users changed in Webex, not done until then")
    return (
        f"{held} action(s) are held by the guard (safety.max_deprovisions) and wait for an "
        f"approval: {' and '.join(parts)}."
    )


def findings(outcome: CycleOutcome) -> dict[Condition, Finding]:
    """Each condition the cycle can judge, found or not; the others are left out."""
    found: dict[Condition, Finding] = {}
    error = outcome.error
    found[Condition.FAILED] = Finding(error is not None, f"A cycle failed: {_clip(error or '', 500)}")
    if error is not None:
        return found
    if outcome.held is not None:
        held = outcome.held
        found[Condition.HELD] = Finding(
            bool(held), _held_summary(len(held), outcome.held_others), _listed(held)
        )
    if outcome.users_known:
        failed, alone = outcome.failed_users, outcome.left_alone
        found[Condition.USER_FAILURES] = Finding(
            bool(failed or alone),
            f"{len(failed)} user(s) failed and {len(alone)} were left alone "
            "(a conflict, invalid data or a failed lookup).",
            _listed([*failed, *alone]),
        )
    if outcome.drift is not None:
        drift = outcome.drift
        found[Condition.DRIFT] = Finding(
            bool(drift), f"{len(drift)} Webex user(s) differ from the directory.", _listed(drift)
        )
    return found


def decide(
    outcome: CycleOutcome,
    events: Collection[str],
    conditions: Iterable[OpenCondition],
    *,
    now: datetime,
    repeat_after: timedelta,
) -> Decision:
    """The notices this cycle calls for, and the conditions still open after it.

    Only conditions named in ``events`` are followed; ``recovered`` in ``events`` tells when a
    condition that was told clears."""
    before = {c.condition: c for c in conditions}
    still_open = {c: open_ for c, open_ in before.items() if c.value in events}
    notices: list[Notice] = []
    for condition, finding in findings(outcome).items():
        if condition.value not in events:
            continue
        current = still_open.pop(condition, None)
        if finding.active:
            current = current or OpenCondition(condition, outcome.at, outcome.cycle_id)
            reminder = current.notified_at is not None
            if current.notified_at is None or now - current.notified_at >= repeat_after:
                notices.append(_notice(condition, condition.value, finding, current, outcome, reminder))
                current = replace(current, notified_at=now)
            still_open[condition] = current
        elif current is not None and current.notified_at is not None and RECOVERED in events:
            notices.append(_recovered(current, outcome))
    ordered = tuple(still_open[c] for c in Condition if c in still_open)
    return Decision(tuple(notices), ordered, frozenset(before) - frozenset(still_open))


def _notice(
    condition: Condition,
    event: str,
    finding: Finding,
    current: OpenCondition,
    outcome: CycleOutcome,
    reminder: bool,
) -> Notice:
    return Notice(
        event=event,
        condition=condition,
        cycle_id=outcome.cycle_id,
        since=current.since,
        at=outcome.at,
        summary=_clip(finding.summary, MAX_SUMMARY_CHARS),
        counts=dict(outcome.counts),
        details=finding.details,
        command=COMMANDS[condition],
        reminder=reminder,
    )


_CLEARED: Mapping[Condition, str] = {
    Condition.FAILED: "Cycles succeed again",
    Condition.HELD: "No action is held any more",
    Condition.USER_FAILURES: "No user fails or is left alone any more",
    Condition.DRIFT: "Webex matches the directory again",
}


def _recovered(current: OpenCondition, outcome: CycleOutcome) -> Notice:
    summary = (
        f"{_CLEARED[current.condition]} (reported as {current.condition.value} since cycle "
        f"{current.cycle_id})."
    )
    return Notice(
        event=RECOVERED,
        condition=current.condition,
        cycle_id=outcome.cycle_id,
        since=current.since,
        at=outcome.at,
        summary=summary,
        counts=dict(outcome.counts),
    )


# -- the outbox ------------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """How long a channel waits after ``attempts`` failed attempts in a row: 1 min, 2, 4, ... 1 h."""
    doublings = min(max(0, attempts - 1), 10)
    return min(LAST_RETRY, FIRST_RETRY * (1 << doublings))


def enqueue(
    outbox: Iterable[PendingNotice],
    notices: Iterable[Notice],
    channels: Sequence[str],
    closed: Collection[Condition],
    *,
    now: datetime,
) -> tuple[PendingNotice, ...]:
    """The outbox with each notice queued for every channel, due now. A channel keeps one notice
    per condition (a newer one replaces it); notices of channels no longer configured, and of
    conditions ``closed`` without a notice of their own, are dropped."""
    new = {(channel, n.condition): PendingNotice(channel, n, now) for n in notices for channel in channels}
    kept = {
        (p.channel, p.notice.condition): p
        for p in outbox
        if p.channel in channels and p.notice.condition not in closed
    }
    kept.update(new)
    return tuple(sorted(kept.values(), key=lambda p: (p.notice.at, channels.index(p.channel))))


def due(outbox: Iterable[PendingNotice], channel: str, now: datetime) -> list[PendingNotice]:
    """What ``channel`` should be sent now, oldest first."""
    return [p for p in outbox if p.channel == channel and p.next_attempt <= now]


def after_attempt(
    outbox: Iterable[PendingNotice], sent: PendingNotice, error: str | None, now: datetime
) -> tuple[PendingNotice, ...]:
    """The outbox once ``sent`` was tried: gone if the channel took it, else waiting longer."""
    result = []
    for pending in outbox:
        if pending != sent:
            result.append(pending)
        elif error is not None:
            attempts = pending.attempts + 1
            result.append(
                replace(
                    pending, attempts=attempts, next_attempt=now + retry_delay(attempts), last_error=error
                )
            )
    return tuple(result)
