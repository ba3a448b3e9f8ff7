"""What to tell, and when (rules.notifications): once per condition, again after repeat_after,
a recovered notice when asked for, nothing from a cycle that cannot judge; and the outbox that
retries a failing channel with a growing wait."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from webex_provisioner.model.notifications import RECOVERED, Condition, Notice, OpenCondition
from webex_provisioner.rules.notifications import (
    CycleOutcome,
    Decision,
    after_attempt,
    decide,
    due,
    enqueue,
    retry_delay,
    scrub,
)

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)
ALL = frozenset({"failed", "held", "user_failures", "recovered", "drift"})
HELD = ("disable ann@example.com (left_scope)", "disable bob@example.com (disabled_in_directory)")


def outcome(n: int = 1, **values: object) -> CycleOutcome:
    base: dict[str, object] = {"cycle_id": f"cycle-{n}", "at": T0 + timedelta(hours=n), "held": ()}
    base.update(values)
    return CycleOutcome(**base)  # type: ignore[arg-type]


def run(
    result: CycleOutcome, conditions: tuple[OpenCondition, ...] = (), events: frozenset[str] = ALL
) -> Decision:
    return decide(result, events, conditions, now=result.at, repeat_after=DAY)


def test_a_new_condition_is_told_once_with_since_what_to_do_and_the_cycle() -> None:
    """Held deprovisions appear: one held notice, since this cycle, with the approve command, the
    users held, the counts; the condition is kept open, told now."""
    decision = run(outcome(1, held=HELD, counts={"held": 2}))

    (notice,) = decision.notices
    assert (notice.event, notice.condition, notice.cycle_id) == ("held", Condition.HELD, "cycle-1")
    assert notice.since == T0 + timedelta(hours=1) and not notice.reminder
    assert notice.command == "webex-provisioner sync --approve-held"
    assert notice.details == HELD and dict(notice.counts) == {"held": 2}
    assert "2 deprovision(s) are held" in notice.summary
    assert decision.conditions == (OpenCondition(Condition.HELD, notice.since, "cycle-1", notice.since),)


def test_held_re_creations_are_not_called_deprovisions() -> None:
    """When the guard also holds re-creations or reactivations of users changed in Webex, the
    notice counts each kind: only deprovisioned users are said to keep their accounts, and
    held re-creations alone are never called deprovisions."""
    mixed = (*HELD, "create cy@example.com (deleted_in_webex)")
    (notice,) = run(outcome(1, held=mixed, held_others=1)).notices
    assert notice.summary.startswith("3 action(s) are held by the guard (safety.max_deprovisions)")
    assert "2 deprovision(s), whose users keep their Webex accounts" in notice.summary
    assert "1 re-creation(s) or reactivation(s) of users changed in Webex, not done" in notice.summary
    (alone,) = run(outcome(1, held=mixed[2:], held_others=1)).notices
    assert "deprovision" not in alone.summary.replace("safety.max_deprovisions", "")
    assert alone.summary.startswith("1 action(s) are held")


def test_an_unresolved_condition_is_not_told_again_before_repeat_after() -> None:
    """The same condition in the next cycles: nothing, until repeat_after has passed since it was
    told; then one reminder, still dated from when it started."""
    first = run(outcome(1, held=HELD))
    later = run(outcome(5, held=HELD), first.conditions)
    assert later.notices == () and later.conditions == first.conditions

    reminder = run(outcome(25, held=HELD), later.conditions)
    (notice,) = reminder.notices
    assert notice.reminder and notice.since == T0 + timedelta(hours=1) and notice.cycle_id == "cycle-25"
    assert reminder.conditions[0].notified_at == T0 + timedelta(hours=25)
    assert run(outcome(26, held=HELD), reminder.conditions).notices == ()


def test_a_condition_that_clears_is_told_as_recovered_when_asked_for() -> None:
    """Held deprovisions gone: a recovered notice naming the condition and where it began, and
    the condition closed; without 'recovered' in the events it closes silently."""
    first = run(outcome(1, held=HELD))

    cleared = run(outcome(2), first.conditions)
    (notice,) = cleared.notices
    assert (notice.event, notice.condition, notice.command) == (RECOVERED, Condition.HELD, "")
    assert "cycle-1" in notice.summary and notice.since == first.notices[0].since
    assert cleared.conditions == () and cleared.closed == {Condition.HELD}

    silent = run(outcome(2), first.conditions, events=frozenset({"held"}))
    assert silent.notices == () and silent.conditions == () and silent.closed == {Condition.HELD}


def test_a_failed_cycle_is_told_and_says_nothing_of_the_other_conditions() -> None:
    """A failed cycle: a failed notice with the error; held deprovisions and user failures opened
    earlier stay open and are neither told again nor recovered."""
    first = run(outcome(1, held=HELD, failed_users=("ann@example.com: 400 invalid",)))
    assert {n.event for n in first.notices} == {"held", "user_failures"}

    failed = run(
        outcome(2, error="the directory at ldap://ldap.example.com failed", held=None), first.conditions
    )
    (notice,) = failed.notices
    assert notice.event == "failed" and "ldap://ldap.example.com failed" in notice.summary
    assert notice.command == "webex-provisioner check"
    assert {c.condition for c in failed.conditions} == {
        Condition.FAILED,
        Condition.HELD,
        Condition.USER_FAILURES,
    }
    assert failed.closed == frozenset()

    recovered = run(outcome(3, held=HELD, failed_users=("ann@example.com: 400 invalid",)), failed.conditions)
    assert [(n.event, n.condition) for n in recovered.notices] == [(RECOVERED, Condition.FAILED)]


def test_only_the_configured_events_are_followed() -> None:
    """With the default events (failed, held), user failures are neither told nor kept."""
    decision = run(outcome(1, failed_users=("ann@example.com: 409",)), events=frozenset({"failed", "held"}))
    assert decision.notices == () and decision.conditions == ()


def test_a_cycle_of_one_user_does_not_clear_user_failures() -> None:
    """'sync --user' says nothing of the other users: user_failures stays open, untold."""
    first = run(outcome(1, left_alone=("bob@example.com: conflict: taken",)))
    one_user = run(outcome(2, users_known=False), first.conditions)
    assert one_user.notices == () and one_user.conditions == first.conditions


def test_drift_is_told_when_a_report_carries_drift_counts() -> None:
    """The drift hook: no drift finding without drift counts; with them, a drift notice."""
    assert run(outcome(1)).notices == ()
    (notice,) = run(outcome(1, drift=("ann@example.com: title changed in Webex",))).notices
    assert (notice.event, notice.command) == ("drift", "webex-provisioner plan")


def test_many_users_are_listed_up_to_ten_and_counted_beyond() -> None:
    """A notice names at most ten users (each line clipped), then says how many more."""
    held = tuple(f"disable user{i}@example.com ({'x' * 500})" for i in range(25))
    (notice,) = run(outcome(1, held=held)).notices
    assert len(notice.details) == 11 and notice.details[-1] == "… and 15 more"
    assert all(len(d) <= 200 for d in notice.details)


def test_scrub_removes_url_credentials_and_configured_secrets() -> None:
    """Credentials in URLs and any configured secret never reach a notice."""
    text = "postgresql://sync:pa55word@db.example.com/state refused; token tok-123456 expired"
    assert scrub(text, ["tok-123456"]) == "postgresql://***@db.example.com/state refused; token *** expired"


# -- the outbox ------------------------------------------------------------------------------------

NOTICE = Notice("held", Condition.HELD, "cycle-1", T0, T0, "2 deprovision(s) are held")


def test_each_notice_is_queued_once_per_channel_a_newer_one_replacing_it() -> None:
    """A notice is due now on every channel; a newer notice of the same condition replaces the
    one not sent yet; channels no longer configured lose theirs."""
    outbox = enqueue((), [NOTICE], ["webhook", "webex"], (), now=T0)
    assert [(p.channel, p.notice, p.next_attempt) for p in outbox] == [
        ("webhook", NOTICE, T0),
        ("webex", NOTICE, T0),
    ]
    newer = replace(NOTICE, cycle_id="cycle-9", reminder=True)
    again = enqueue(outbox, [newer], ["webex"], (), now=T0 + DAY)
    assert [(p.channel, p.notice.cycle_id) for p in again] == [("webex", "cycle-9")]


def test_a_closed_condition_drops_its_waiting_notice_unless_a_new_one_replaces_it() -> None:
    """Once a condition clears, its notice still waiting is dropped (a recovered notice takes its
    place when one is sent)."""
    outbox = enqueue((), [NOTICE], ["email"], (), now=T0)
    assert enqueue(outbox, [], ["email"], {Condition.HELD}, now=T0) == ()
    recovered = replace(NOTICE, event=RECOVERED)
    assert [p.notice.event for p in enqueue(outbox, [recovered], ["email"], {Condition.HELD}, now=T0)] == [
        RECOVERED
    ]


def test_a_failed_attempt_waits_longer_each_time_up_to_an_hour() -> None:
    """1 min, 2, 4, ... then every hour; the error is kept; a success removes the notice."""
    minutes = [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 6, 7, 50)]
    assert minutes == [1, 2, 4, 32, 60, 60]
    (pending,) = enqueue((), [NOTICE], ["webhook"], (), now=T0)
    (failed,) = after_attempt((pending,), pending, "answered 503", T0)
    assert (failed.attempts, failed.next_attempt, failed.last_error) == (
        1,
        T0 + timedelta(minutes=1),
        "answered 503",
    )
    assert due((failed,), "webhook", T0 + timedelta(seconds=59)) == []
    assert due((failed,), "webhook", T0 + timedelta(minutes=1)) == [failed]
    assert due((failed,), "email", T0 + DAY) == []
    assert after_attempt((failed,), failed, None, T0) == ()
