"""``Notifications.after``, on the fakes of every port: what the operators hear after real cycles
(held deprovisions, failures, recovery), once per condition; a failing channel tried again later
with a growing wait, never failing or changing the cycle; nothing from a dry run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.notifications import Notifications, not_started, outcome_of
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_HELD, EXIT_OK, CycleReport
from webex_provisioner.errors import DirectoryUnavailableError, StateError, WebexRejectedError
from webex_provisioner.model import Action, ActionKind, CycleKind, Reason
from webex_provisioner.model.notifications import Condition, NotificationState
from webex_provisioner.rules.notifications import findings
from webex_provisioner.testing.notify import RecordingNotifier

USERS = [person(f"u{i}") for i in range(10)]
WEBEX = {"room_id": "ops-space", "token": "bot-token-5e6f"}


def world_with(
    events: list[str], **config: Any
) -> tuple[FakeWorld, Notifications, RecordingNotifier, RecordingNotifier]:
    """Ten users, a guard of two deprovisions, notify: with a webhook and a Webex space (fakes)."""
    world = FakeWorld(
        *USERS,
        safety={"max_deprovisions": {"count": 2, "percent": None}},
        notify={"events": events, "webhook": {"url": "http://127.0.0.1:9/hook"}, "webex": WEBEX, **config},
    )
    hook, space = RecordingNotifier("webhook"), RecordingNotifier("webex")
    return world, Notifications(world.config, notifiers=[hook, space], clock=world.clock), hook, space


def sync(world: FakeWorld, notifications: Notifications, **kwargs: Any) -> CycleReport:
    report = world.sync(**kwargs)
    notifications.after(report, world.store)
    return report


def events(notifier: RecordingNotifier) -> list[str]:
    return [str(m.payload["event"]) for m in notifier.sent]


def test_held_deprovisions_are_told_once_then_reminded_then_recovered() -> None:
    """The guard holds five deprovisions: every channel gets one held message naming the approve
    command; the next cycles say nothing until repeat_after; then a reminder; once approved and
    applied, a recovered message."""
    world, notifications, hook, space = world_with(["failed", "held", "recovered"])
    sync(world, notifications)
    for user in USERS[:5]:
        world.directory.disable(user.anchor)

    held = sync(world, notifications)
    assert held.exit_code == EXIT_HELD
    assert events(hook) == events(space) == ["held"]
    message = space.sent[0]
    assert "webex-provisioner sync --approve-held" in message.markdown and held.cycle_id in message.markdown
    assert message.payload["counts"]["held"] == 5 and "u0@example.com" in message.markdown

    world.clock.advance(hours=23)
    sync(world, notifications)
    assert events(space) == ["held"]
    world.clock.advance(hours=2)
    sync(world, notifications)
    assert events(space) == ["held", "held"] and space.sent[1].payload["reminder"] is True

    approved = sync(world, notifications, approve_held=True)
    assert approved.exit_code == EXIT_OK
    assert events(hook) == events(space) == ["held", "held", "recovered"]
    assert world.store.notification_state() == NotificationState()


def test_a_failing_channel_is_retried_later_and_never_fails_the_cycle() -> None:
    """The webhook refuses: the cycle's report and exit code are unchanged, the Webex space still
    gets the message, and the webhook's is kept and sent again once its wait (1 min) is over."""
    world, notifications, hook, space = world_with(["failed", "held"])
    sync(world, notifications)
    for user in USERS[:5]:
        world.directory.disable(user.anchor)
    hook.fail_always()

    report = sync(world, notifications)
    assert report.exit_code == EXIT_HELD and report.error is None
    assert events(space) == ["held"] and hook.sent == [] and hook.attempts == 1
    (pending,) = world.store.notification_state().outbox
    assert (pending.channel, pending.attempts) == (
        "webhook",
        1,
    ) and "could not be reached" in pending.last_error

    hook.fail_always(False)
    world.clock.advance(seconds=30)
    sync(world, notifications)
    assert hook.attempts == 1  # still waiting
    world.clock.advance(seconds=31)
    sync(world, notifications)
    assert events(hook) == ["held"] and events(space) == ["held"]
    assert world.store.notification_state().outbox == ()


def test_a_failed_cycle_is_told_with_its_error_and_its_recovery() -> None:
    """A directory outage fails the cycle: a failed message with the error and 'check'; the next
    good cycle says recovered (when asked for)."""
    world, notifications, _hook, space = world_with(["failed", "recovered"])
    sync(world, notifications)
    world.directory.fail_read(
        error=DirectoryUnavailableError("the directory at ldap://127.0.0.1:389 is down")
    )

    failed = sync(world, notifications)
    assert failed.exit_code == EXIT_FAILED
    assert events(space) == ["failed"]
    assert "ldap://127.0.0.1:389 is down" in space.sent[0].markdown.replace("\\", "")
    assert "webex-provisioner check" in space.sent[0].markdown

    sync(world, notifications)
    assert events(space) == ["failed", "recovered"]


def test_a_cycle_that_could_not_start_is_told_as_failed() -> None:
    """'run' that cannot open its change feed reports it like a failed cycle (once)."""
    world, notifications, _hook, space = world_with(["failed"])
    error = DirectoryUnavailableError("content sync could not start at ldap://127.0.0.1:389")
    notifications.after(not_started(error, world.clock()), world.store)
    notifications.after(not_started(error, world.clock()), world.store)
    assert events(space) == ["failed"] and "content sync could not start" in space.sent[0].text


def test_users_that_fail_are_told_when_asked_for() -> None:
    """user_failures: a user Webex refuses is named with the error."""
    world, notifications, _hook, space = world_with(["user_failures"])
    world.webex.fail_next("create_user", WebexRejectedError("400 invalid phone number", status=400))
    sync(world, notifications)
    assert events(space) == ["user_failures"]
    assert space.sent[0].payload["condition"] == "user_failures"


def test_dry_runs_and_interrupted_cycles_tell_nothing() -> None:
    """plan (a dry run) and a cycle stopped on request neither send nor store anything."""
    world, notifications, hook, _space = world_with(["failed", "held"])
    for user in USERS[:5]:
        world.directory.disable(user.anchor)
    notifications.after(world.plan(), world.store)
    assert hook.attempts == 0 and world.store.notification_state() == NotificationState()


def test_no_secret_reaches_a_message() -> None:
    """An error quoting a configured secret or URL credentials reaches the channels masked."""
    world, notifications, _hook, space = world_with(["failed"])
    world.directory.fail_read(
        error=DirectoryUnavailableError("bind as sync:bot-token-5e6f@ldap://u:pw@127.0.0.1 refused")
    )
    sync(world, notifications)
    sent = space.sent[0]
    everything = sent.text + sent.markdown + sent.html + str(sent.payload)
    assert "bot-token-5e6f" not in everything and ":pw@" not in everything and "***" in everything


class BrokenStore:
    """A state store whose notification bookkeeping is down (the rest works)."""

    def __init__(self, world: FakeWorld) -> None:
        self._store = world.store

    def __getattr__(self, name: str) -> Any:
        if name in ("notification_state", "set_notification_state", "held"):
            return self._down
        return getattr(self._store, name)

    def _down(self, *_args: object) -> None:
        raise StateError("the state database is locked")


def test_a_state_store_that_cannot_answer_never_breaks_the_notifications() -> None:
    """With the store down, the failure is still told once (the state is kept in memory), and
    after() raises nothing."""
    world, notifications, _hook, space = world_with(["failed"])
    world.directory.fail_read(error=DirectoryUnavailableError("down"), times=2)
    for _ in range(2):
        report = world.sync()
        notifications.after(report, BrokenStore(world))  # type: ignore[arg-type]
    assert events(space) == ["failed"]


def test_a_channel_that_raises_something_unexpected_changes_nothing_for_the_cycle() -> None:
    """Even a bug in a channel (not a NotificationError) is logged, never raised."""
    world, notifications, hook, _space = world_with(["failed"])

    def boom(_message: object) -> None:
        raise RuntimeError("bug")

    hook.send = boom  # type: ignore[method-assign]
    world.directory.fail_read(error=DirectoryUnavailableError("down"))
    report = sync(world, notifications)
    assert report.exit_code == EXIT_FAILED
    assert [c.condition for c in world.store.notification_state().conditions] == [Condition.FAILED]


def test_without_notify_nothing_is_sent_or_stored() -> None:
    """No notify: section: no channel, no state written."""
    world = FakeWorld(*USERS)
    notifications = Notifications(world.config, clock=world.clock)
    assert not notifications.enabled
    world.directory.fail_read(error=DirectoryUnavailableError("down"))
    notifications.after(world.sync(), world.store)
    assert world.store.notification_state() == NotificationState()


def test_drift_left_for_an_operator_is_told_and_recovered_once_repaired() -> None:
    """With drift: and the drift event, a deactivation reported in Webex is told (with the user
    and what drifted); once the user is active again, a recovered message follows. A repaired
    change needs nobody: it is not told."""
    world, notifications, _hook, space = world_with(["drift", "recovered"])
    world.configure(drift={})
    sync(world, notifications)
    ann = world.webex.user("u0@example.com")
    bob = world.webex.user("u1@example.com")
    assert ann is not None and bob is not None
    world.webex.edit_user(bob.id, displayName="Changed by hand")
    sync(world, notifications)
    assert events(space) == []
    world.webex.edit_user(ann.id, active=False)
    sync(world, notifications)
    assert events(space) == ["drift"] and "u0@example.com" in space.sent[0].markdown
    assert "deactivated in Webex" in space.sent[0].markdown
    world.webex.edit_user(ann.id, active=True)
    sync(world, notifications)
    assert events(space) == ["drift", "recovered"]


def test_the_held_notice_tells_deprovisions_from_re_creations() -> None:
    """``outcome_of`` counts the held actions that are not deprovisions (a re-creation of a user
    deleted in Webex, a reactivation), so the notice does not call them deprovisions."""
    report = CycleReport("cycle-1", CycleKind.FULL, datetime(2026, 5, 4, tzinfo=UTC), False)
    held = [
        Action(ActionKind.DISABLE, Reason.LEFT_SCOPE, "a-1", "ann@example.com"),
        Action(ActionKind.CREATE, Reason.DELETED_IN_WEBEX, "a-2", "bob@example.com"),
        Action(ActionKind.REACTIVATE, Reason.DEACTIVATED_IN_WEBEX, "a-3", "cy@example.com"),
    ]
    outcome = outcome_of(report, held)
    assert outcome.held_others == 2 and outcome.held is not None and len(outcome.held) == 3
    summary = findings(outcome)[Condition.HELD].summary
    assert summary.startswith("3 action(s) are held")
    assert "1 deprovision(s)" in summary and "2 re-creation(s) or reactivation(s)" in summary
    only_disable = findings(outcome_of(report, held[:1]))[Condition.HELD].summary
    assert only_disable.startswith("1 deprovision(s) are held")
