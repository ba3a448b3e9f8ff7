"""Fixtures of the daemon tests: `run` (the slapds of Example Corp and the emulators: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon.helpers import DaemonProcess, daemon_config
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory,
    shared_slapd: ThrowawaySlapd,
    module_emulator: EmulatorServer,
    company: Company,
) -> Iterator[DaemonProcess]:
    """``run`` in persist mode against the module's slapd and emulator, its first full cycle done."""
    folder = tmp_path_factory.mktemp("run")
    daemon = DaemonProcess(
        folder, daemon_config(folder, shared_slapd, module_emulator, company), shared_slapd
    )
    daemon.start()
    try:
        daemon.wait_healthy()
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def own_emulator(emulator: EmulatorServer) -> EmulatorServer:
    """A fresh emulator of the test's own (the suite-wide ``emulator`` fixture)."""
    return emulator


def new_daemon(
    folder: Path, slapd: ThrowawaySlapd, emulator: EmulatorServer, company: Company, **overrides: object
) -> DaemonProcess:
    return DaemonProcess(folder, daemon_config(folder, slapd, emulator, company, **overrides), slapd)
