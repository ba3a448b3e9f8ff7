"""End to end: `sync` and `run` tell the operators (real slapd, the Webex emulator's space, a
webhook receiver on 127.0.0.1): held deprovisions once, their recovery, a failing channel that
changes nothing for the cycle, and never a secret in a message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WEBEX_TOKEN, World
from tests.daemon.conftest import new_daemon
from tests.notify.receivers import HttpReceiver
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.report import EXIT_HELD, EXIT_USERS_FAILED
from webex_provisioner.sandbox import Company, ThrowawaySlapd
from webex_provisioner.state import open_state_store

pytestmark = pytest.mark.timeout(120)

ROOM = "Y2lzY29zcGFyazovL3VzL1JPT00vaWRlbnRpdHktdGVhbQ"
HOOK_TOKEN = "hook-token-e2e-31f4"
LEAVERS = ("fahmed", "sbrennan", "tmueller")


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    yield server
    server.close()


def notify(receiver: HttpReceiver, **extra: Any) -> dict[str, Any]:
    return {
        "events": ["failed", "held", "recovered"],
        "webhook": {"url": receiver.url, "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}},
        "webex": {"room_id": ROOM, "token": "${WEBEX_TOKEN}"},
        **extra,
    }


def hold_three(world: World, receiver: HttpReceiver) -> None:
    """A first sync, then three leavers beyond a guard of two."""
    world.env["HOOK_TOKEN"] = HOOK_TOKEN
    world.configure(safety={"max_deprovisions": {"count": 2, "percent": None}}, notify=notify(receiver))
    assert world.cli("sync").exit_code in (0, EXIT_USERS_FAILED)
    for uid in LEAVERS:
        world.slapd.delete(world.corp.person(uid).dn)


def newest_cycle(world: World) -> str:
    store = open_state_store(world.config.state)
    try:
        return store.cycles(1)[0].id
    finally:
        store.close()


def test_sync_tells_the_space_and_the_webhook_when_deprovisions_are_held(
    world: World, receiver: HttpReceiver
) -> None:
    """The guard holds three deprovisions: the space gets one markdown message and the webhook
    one JSON body, naming the cycle, the approve command and the users; a second sync tells
    nothing new; the approval clears it with a recovered message on both."""
    hold_three(world, receiver)
    assert world.cli("sync").exit_code == EXIT_HELD
    cycle_id = newest_cycle(world)

    (message,) = world.emulator.messages(ROOM)
    assert "held: actions wait for an approval" in message["markdown"]
    assert (
        "`webex-provisioner sync --approve-held`" in message["markdown"] and cycle_id in message["markdown"]
    )
    assert all(world.person_mail(uid).lower() in message["markdown"].lower() for uid in LEAVERS)
    (body,) = receiver.json()
    assert (body["event"], body["cycle_id"], body["counts"]["held"]) == ("held", cycle_id, 3)
    assert body["command"] == "webex-provisioner sync --approve-held" and body["since"]
    assert receiver.requests[0][1]["Authorization"] == f"Bearer {HOOK_TOKEN}"

    assert world.cli("sync").exit_code == EXIT_HELD
    assert len(world.emulator.messages(ROOM)) == 1 and len(receiver.requests) == 1

    assert world.cli("sync", "--approve-held").exit_code in (0, EXIT_USERS_FAILED)
    assert [m["markdown"].split("\n")[0] for m in world.emulator.messages(ROOM)][1] == (
        "**webex-provisioner — recovered: held resolved**"
    )
    assert [b["event"] for b in receiver.json()] == ["held", "recovered"]

    texts = [m["markdown"] for m in world.emulator.messages(ROOM)] + receiver.bodies()
    for secret in (world.env["LDAP_PASSWORD"], WEBEX_TOKEN, HOOK_TOKEN):
        assert not [t for t in texts if secret in t]


def test_a_channel_that_fails_changes_nothing_for_the_cycle_and_is_retried(
    world: World, receiver: HttpReceiver
) -> None:
    """The webhook answers 500: sync's output and exit code are those of the cycle, the space
    still gets its message, and the webhook's waits in the state store for a later cycle."""
    hold_three(world, receiver)
    receiver.status = 500

    held = world.cli("sync")
    assert held.exit_code == EXIT_HELD
    assert "held" in held.output and "error:" not in held.output
    assert len(world.emulator.messages(ROOM)) == 1 and len(receiver.requests) == 1
    store = open_state_store(world.config.state)
    try:
        (pending,) = store.notification_state().outbox
    finally:
        store.close()
    assert (pending.channel, pending.attempts, pending.notice.event) == ("webhook", 1, "held")
    assert "answered 500" in pending.last_error and "s3cret-path" not in pending.last_error


def test_run_tells_the_space_when_it_holds_deprovisions(
    tmp_path: Path, own_slapd: ThrowawaySlapd, emulator: EmulatorServer, company: Company
) -> None:
    """The daemon, after the incremental cycle that holds two deletions: one message in the space."""
    daemon = new_daemon(
        tmp_path,
        own_slapd,
        emulator,
        company,
        safety={"max_deprovisions": {"count": 1, "percent": None}},
        notify={"events": ["held"], "webex": {"room_id": ROOM, "token": "${WEBEX_TOKEN}"}},
    ).start()
    try:
        daemon.wait_healthy()
        for uid in ("fahmed", "sbrennan"):
            own_slapd.delete(company.person(uid).dn)
        daemon.wait_until(lambda: bool(emulator.messages(ROOM)), "a message in the space")
        (message,) = emulator.messages(ROOM)
    finally:
        daemon.close()
    assert "held: actions wait for an approval" in message["markdown"]
    assert "2 deprovision" in message["markdown"]
