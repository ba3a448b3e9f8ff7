"""``SqlNotifications``: the ``NotificationBookkeeping`` port in SQL.

The open conditions are rows of ``notification_conditions``; the notices not delivered yet are
rows of ``notification_outbox``, the notice itself as JSON (its times as ISO 8601 in UTC). Setting
the state replaces both tables in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from webex_provisioner.errors import StateError
from webex_provisioner.model.notifications import (
    Condition,
    Notice,
    NotificationState,
    OpenCondition,
    PendingNotice,
)
from webex_provisioner.state import schema
from webex_provisioner.state.base import SqlBase


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise StateError(f"naive datetime {value.isoformat()} of {what} cannot be stored; give it a timezone")
    return value.astimezone(UTC)


def notice_json(notice: Notice) -> dict[str, Any]:
    """A notice as the JSON the outbox keeps."""
    return {
        "event": notice.event,
        "condition": notice.condition.value,
        "cycle_id": notice.cycle_id,
        "since": _utc(notice.since, "a notice").isoformat(),
        "at": _utc(notice.at, "a notice").isoformat(),
        "summary": notice.summary,
        "counts": dict(notice.counts),
        "details": list(notice.details),
        "command": notice.command,
        "reminder": notice.reminder,
    }


def notice_from(data: Mapping[str, Any]) -> Notice:
    """The notice a row's JSON holds (``ValueError`` when it holds no notice)."""
    try:
        return _notice(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"a stored notice cannot be read ({exc!r})") from exc


def _notice(data: Mapping[str, Any]) -> Notice:
    return Notice(
        event=str(data["event"]),
        condition=Condition(data["condition"]),
        cycle_id=str(data["cycle_id"]),
        since=datetime.fromisoformat(data["since"]).astimezone(UTC),
        at=datetime.fromisoformat(data["at"]).astimezone(UTC),
        summary=str(data["summary"]),
        counts={str(k): int(v) for k, v in data.get("counts", {}).items()},
        details=tuple(str(d) for d in data.get("details", ())),
        command=str(data.get("command", "")),
        reminder=bool(data.get("reminder", False)),
    )


class SqlNotifications(SqlBase):
    """The open conditions and the notices not delivered yet."""

    def notification_state(self) -> NotificationState:
        conditions, outbox = schema.notification_conditions, schema.notification_outbox
        with self._transaction("read the notifications' state") as conn:
            opened = [
                OpenCondition(Condition(r["condition"]), r["since"], r["cycle_id"], r["notified_at"])
                for r in conn.execute(select(conditions)).mappings()
            ]
            pending = tuple(
                PendingNotice(
                    r["channel"], notice_from(r["notice"]), r["next_attempt"], r["attempts"], r["last_error"]
                )
                for r in conn.execute(select(outbox).order_by(outbox.c.position)).mappings()
            )
        order = list(Condition)
        return NotificationState(tuple(sorted(opened, key=lambda c: order.index(c.condition))), pending)

    def set_notification_state(self, state: NotificationState) -> None:
        conditions = [
            {
                "condition": c.condition.value,
                "since": c.since,
                "cycle_id": c.cycle_id,
                "notified_at": c.notified_at,
            }
            for c in state.conditions
        ]
        outbox = [
            {
                "channel": p.channel,
                "condition": p.notice.condition.value,
                "position": position,
                "notice": notice_json(p.notice),
                "attempts": p.attempts,
                "next_attempt": p.next_attempt,
                "last_error": p.last_error,
            }
            for position, p in enumerate(state.outbox)
        ]
        with self._transaction("save the notifications' state", write=True) as conn:
            conn.execute(delete(schema.notification_outbox))
            conn.execute(delete(schema.notification_conditions))
            if conditions:
                conn.execute(insert(schema.notification_conditions), conditions)
            if outbox:
                conn.execute(insert(schema.notification_outbox), outbox)
