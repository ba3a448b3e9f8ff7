"""The ``NotificationBookkeeping`` part of the state contract: the conditions operators were told
about and the notices not delivered yet, replaced as a whole and read back equal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.model import ActionKind
from webex_provisioner.model.notifications import (
    Condition,
    Notice,
    NotificationState,
    OpenCondition,
    PendingNotice,
)
from webex_provisioner.ports import StateStore
from webex_provisioner.testing.contracts.samples import T0, later

HELD_NOTICE = Notice(
    event="held",
    condition=Condition.HELD,
    cycle_id="20240501T120000-aaaa0001",
    since=T0,
    at=later(60),
    summary="3 deprovision(s) are held ✗ <b>",
    counts={"held": 3, "planned_disable": 3},
    details=("disable ann@example.com (left_scope)", "delete *bo*@example.com (deleted_in_directory)"),
    command="webex-provisioner sync --approve-held",
)
RECOVERED_NOTICE = Notice("recovered", Condition.FAILED, "c-2", T0, later(120), "Cycles succeed again.")
STATE = NotificationState(
    conditions=(
        OpenCondition(Condition.FAILED, T0, "c-1", later(5)),
        OpenCondition(Condition.HELD, later(60), "c-2"),
    ),
    outbox=(
        PendingNotice("webhook", HELD_NOTICE, later(60)),
        PendingNotice("email", HELD_NOTICE, later(180), attempts=2, last_error="answered 503"),
        PendingNotice("webex", RECOVERED_NOTICE, later(120)),
    ),
)


class NotificationBookkeepingContract:
    """Open conditions and undelivered notices: replaced as a whole, read back equal, in UTC."""

    def test_nothing_is_stored_at_first(self, store: StateStore) -> None:
        """A new store has no open condition and no notice waiting."""
        assert store.notification_state() == NotificationState()

    def test_the_state_reads_back_equal_and_in_order(self, store: StateStore) -> None:
        """Conditions (a never-told one too) and pending notices (counts, details, attempts, the
        last error, non-ASCII text) read back equal; notices in the order stored."""
        store.set_notification_state(STATE)

        assert store.notification_state() == STATE

    def test_setting_replaces_everything_and_empty_clears(self, store: StateStore) -> None:
        """Each set replaces conditions and outbox together; an empty state clears both."""
        store.set_notification_state(STATE)
        smaller = NotificationState(STATE.conditions[1:], STATE.outbox[2:])
        store.set_notification_state(smaller)
        assert store.notification_state() == smaller

        store.set_notification_state(NotificationState())
        assert store.notification_state() == NotificationState()

    def test_times_come_back_in_utc(self, store: StateStore) -> None:
        """Times given in another zone come back as the same instants, in UTC."""
        paris = timezone(timedelta(hours=2))
        local = datetime(2024, 5, 1, 14, 0, tzinfo=paris)  # T0
        notice = replace(HELD_NOTICE, since=local, at=local)
        store.set_notification_state(
            NotificationState(
                (OpenCondition(Condition.HELD, local, "c", local),), (PendingNotice("webex", notice, local),)
            )
        )

        got = store.notification_state()

        assert got.conditions[0].since == T0 and got.conditions[0].since.tzinfo == UTC
        assert got.conditions[0].notified_at == T0
        pending = got.outbox[0]
        assert (pending.next_attempt, pending.notice.since, pending.notice.at) == (T0, T0, T0)
        assert pending.notice.since.tzinfo == UTC and pending.next_attempt.tzinfo == UTC

    @pytest.mark.parametrize("where", ["condition", "notice", "next_attempt"])
    def test_a_naive_time_is_refused_and_nothing_is_written(self, store: StateStore, where: str) -> None:
        """A naive datetime anywhere is refused with ``StateError``; what was stored stays."""
        store.set_notification_state(STATE)
        naive = datetime(2024, 5, 1, 12, 0)
        condition, pending = STATE.conditions[0], STATE.outbox[0]
        if where == "condition":
            bad = replace(STATE, conditions=(replace(condition, since=naive),))
        elif where == "notice":
            bad = replace(STATE, outbox=(replace(pending, notice=replace(pending.notice, at=naive)),))
        else:
            bad = replace(STATE, outbox=(replace(pending, next_attempt=naive),))

        with pytest.raises(StateError):
            store.set_notification_state(bad)

        assert store.notification_state() == STATE

    def test_notifications_are_kept_apart_from_the_other_bookkeeping(self, store: StateStore) -> None:
        """Setting or clearing the notifications' state leaves held actions and approvals alone,
        and the other way round."""
        store.set_approvals([("a1", ActionKind.DISABLE)])
        store.set_notification_state(STATE)
        store.set_approvals([])
        assert store.notification_state() == STATE

        store.set_approvals([("a1", ActionKind.DISABLE)])
        store.set_notification_state(NotificationState())
        assert store.approvals() == {("a1", ActionKind.DISABLE)}

    def test_what_was_handed_in_is_copied(self, store: StateStore) -> None:
        """Changing the counts of a notice after handing it in changes nothing stored."""
        counts = {"held": 3}
        notice = replace(HELD_NOTICE, counts=counts)
        store.set_notification_state(NotificationState((), (PendingNotice("webhook", notice, T0),)))
        counts["held"] = 99

        assert store.notification_state().outbox[0].notice.counts == {"held": 3}
