"""Fixtures of the emulator's tests: one running emulator for the session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer

from .helpers import LICENSES, ORG, TOKEN


@pytest.fixture(scope="session")
def running_server() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        org_id=ORG,
        token=TOKEN,
        oauth_clients={"client-1": "secret-1"},
        refresh_tokens=["refresh-1"],
        licenses=LICENSES,
    ) as server:
        yield server


@pytest.fixture
def server(running_server: EmulatorServer) -> EmulatorServer:
    """The session's emulator, emptied: no users, groups, assignments or messages, no faults, only
    the configured tokens and licences."""
    running_server.reset()
    return running_server


@pytest.fixture
def scim(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An authenticated client whose base URL is the organization's SCIM base."""
    with httpx.Client(base_url=server.scim_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest.fixture
def v1(server: EmulatorServer) -> Iterator[httpx.Client]:
    """An authenticated client whose base URL is ``{url}/v1`` (licences, people, messages)."""
    with httpx.Client(base_url=server.v1_url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client
