"""The /healthz and /metrics server against clients that do not behave: idle connections are
closed after the request timeout, and connections beyond the bound are refused at once, so no
client can hold threads forever. A real server on a free loopback port; no other server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from webex_provisioner.service.health import Health, StatusServer
from webex_provisioner.service.metrics import Metrics

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def status_server() -> Iterator[StatusServer]:
    server = StatusServer("127.0.0.1", 0, Health(), Metrics(), request_timeout=0.5, max_connections=3)
    server.start()
    try:
        yield server
    finally:
        server.close()


def idle_connection(server: StatusServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.settimeout(5)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` (which sends nothing) within ``seconds``."""
    started = time.monotonic()
    try:
        data = sock.recv(1024)
    except TimeoutError:
        return False
    return data == b"" and time.monotonic() - started < seconds


def test_an_idle_connection_is_closed_after_the_request_timeout(status_server: StatusServer) -> None:
    """A client that connects and sends nothing is disconnected after the request timeout,
    instead of holding a thread forever."""
    sock = idle_connection(status_server)
    try:
        assert closed_within(sock, 3)
    finally:
        sock.close()


def test_connections_beyond_the_bound_are_refused_and_threads_stay_bounded(
    status_server: StatusServer,
) -> None:
    """With 3 connections at most: 20 idle clients get 3 threads, the others are closed at
    once; once the idle ones are gone, /healthz answers again."""
    before = threading.active_count()
    socks = [idle_connection(status_server) for _ in range(20)]
    try:
        time.sleep(0.2)
        assert threading.active_count() - before <= 3
        refused = sum(closed_within(sock, 0.4) for sock in socks[3:])
        assert refused >= 15
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.7)
    answer = httpx.get(f"http://{status_server.host}:{status_server.port}/healthz", timeout=5)
    assert answer.status_code == 503 and answer.json()["reasons"] == ["no cycle has finished yet"]
