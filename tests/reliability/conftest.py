"""Fixtures of the reliability tests: a Webex emulator that issues OAuth tokens, a World wired to
it, and a way to make something happen at an exact point of a cycle (after the n-th write)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import pytest

from tests.conftest import World, left_unchanged
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.emulator.faults import Decision
from webex_provisioner.sandbox.company import Company
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

CLIENT_ID = "wp-reliability-client"
CLIENT_SECRET = "client-secret-7d3e9a51"
REFRESH_TOKEN = "refresh-token-initial-4b8c2f"


@pytest.fixture(scope="module")
def module_oauth_emulator() -> Iterator[EmulatorServer]:
    """An emulator without a static token: bearer tokens come from POST /v1/access_token only."""
    with EmulatorServer(
        org_id=ORG_ID,
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        refresh_tokens=[REFRESH_TOKEN],
    ) as server:
        yield server


@pytest.fixture
def oauth_emulator(module_oauth_emulator: EmulatorServer) -> EmulatorServer:
    """The module's OAuth emulator, reset: no users, nothing issued, only the initial refresh
    token valid, an empty request log."""
    module_oauth_emulator.reset()
    return module_oauth_emulator


@pytest.fixture
def oauth_world(
    slapd: ThrowawaySlapd, oauth_emulator: EmulatorServer, tmp_path: Path, corp: Company
) -> World:
    """Example Corp in a slapd of the test's own and the OAuth emulator, with webex.oauth
    configured from ${VAR}s."""
    return with_oauth(World(slapd, oauth_emulator, tmp_path, corp))


@pytest.fixture
def shared_oauth_world(
    shared_slapd: ThrowawaySlapd, oauth_emulator: EmulatorServer, tmp_path: Path, company: Company
) -> Iterator[World]:
    """``oauth_world`` on the module's slapd, for tests that leave the directory as it is."""
    with left_unchanged(shared_slapd):
        yield with_oauth(World(shared_slapd, oauth_emulator, tmp_path, company))


def with_oauth(world: World) -> World:
    world.env.update(WEBEX_CLIENT_SECRET=CLIENT_SECRET, WEBEX_REFRESH_TOKEN=REFRESH_TOKEN)
    world.configure(
        webex={
            "token": None,
            "oauth": {
                "client_id": CLIENT_ID,
                "client_secret": "${WEBEX_CLIENT_SECRET}",
                "refresh_token": "${WEBEX_REFRESH_TOKEN}",
            },
        }
    )
    return world


def at_writes(
    emulator: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    writes: Collection[int],
    event: Callable[[], None],
) -> Callable[[], int]:
    """Run ``event`` in the emulator when it has authenticated its n-th SCIM write, for each n in
    ``writes``, before deciding that write's faults: a fault queued by ``event`` hits that very
    write, a revoked or expired token the requests after it. Returns how often it has run."""
    faults = emulator.faults
    decide = faults.decide
    seen = fired = 0

    def counting(is_write: bool, now: float | None = None) -> Decision:
        nonlocal seen, fired
        if is_write:
            seen += 1
            if seen in writes:
                event()
                fired += 1
        return decide(is_write, now)

    monkeypatch.setattr(faults, "decide", counting)
    return lambda: fired
