"""ScimWebexClient passes the contracts of ``WebexClient`` and ``BulkCreator`` against the
project's Webex emulator over real HTTP, and against scim2-server (an independent SCIM
implementation, in-process over WSGI) where its SCIM subset allows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webex.webex_fakes import ORG, TOKEN, make_config, scim2_client
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.ports import BulkCreator, CountsRequests, WebexClient
from webex_provisioner.testing.contracts.webex import BulkCreatorContract, WebexClientContract
from webex_provisioner.webex import ScimWebexClient


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(org_id=ORG, token=TOKEN) as server:
        yield server


class TestScimWebexClientOnTheEmulator(WebexClientContract, BulkCreatorContract):
    """ScimWebexClient against the Webex emulator over HTTP, a fresh organization per test."""

    @pytest.fixture
    def webex(self, emulator: EmulatorServer) -> Iterator[ScimWebexClient]:
        emulator.reset()
        with ScimWebexClient(make_config(url=emulator.url)) as client:
            yield client


class TestScimWebexClientOnScim2Server(WebexClientContract, BulkCreatorContract):
    """ScimWebexClient against scim2-server, a fresh organization per test."""

    @pytest.fixture
    def webex(self) -> Iterator[ScimWebexClient]:
        with scim2_client() as client:
            yield client


def test_the_client_declares_its_capabilities(emulator: EmulatorServer) -> None:
    """ScimWebexClient is a ``BulkCreator`` (100 creates a request) and ``CountsRequests``: its
    snapshot counts each request by method and status. The typed assignments make mypy check
    it against the ports."""
    emulator.reset()
    with ScimWebexClient(make_config(url=emulator.url)) as made:
        client: WebexClient = made
        bulk: BulkCreator = made
        counts: CountsRequests = made
        assert isinstance(client, BulkCreator) and isinstance(client, CountsRequests)
        assert bulk.max_batch == 100
        client.create_user({"email": "ann@example.com"})
        client.get_user("no-such-id")
        assert counts.request_stats().requests == {("POST", "201"): 1, ("GET", "404"): 1}
