"""High availability: instances announce themselves, one holds the lease (docs/high-availability.md).

Every ``run`` writes an ``InstanceRecord`` (host, pid, role, since) to the state store and
refreshes it every ``ha.poll_seconds``; ``status`` lists the live ones. The active instance is the
one holding the cycle lock (``runtime.cycle_lock``), a lease renewed in the background: if it
dies, the lease runs out and a standby takes over within ``ha.takeover_after``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import InstanceRecord
from webex_provisioner.ports import StateStore

log = structlog.get_logger("webex_provisioner.service.lease")

ACTIVE, STANDBY = "active", "standby"


class Announcer:
    """Keeps this instance's record (and role) fresh in the state store until closed."""

    def __init__(
        self, store: StateStore, name: str, *, interval: float, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        now = clock()
        self._record = InstanceRecord(name, socket.gethostname(), os.getpid(), STANDBY, now, now, now)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="ha-announcer", daemon=True)

    @property
    def role(self) -> str:
        return self._record.role

    def start(self) -> None:
        self._announce()
        self._thread.start()

    def become(self, role: str) -> None:
        """Switch role (active or standby) and announce it at once."""
        with self._lock:
            if self._record.role == role:
                return
            now = self._clock()
            self._record = InstanceRecord(
                self._record.name,
                self._record.host,
                self._record.pid,
                role,
                self._record.started_at,
                now,
                now,
            )
        log.info("ha.role", instance=self._record.name, role=role)
        self._announce()

    def _announce(self) -> None:
        with self._lock:
            self._record = record = replace(self._record, last_seen=self._clock())
        try:
            self._store.announce(record)
        except ProvisionerError as exc:  # the state store is down: the lease logic copes; keep trying
            log.warning("ha.announce_failed", instance=record.name, error=exc.message)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            self._announce()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self._store.forget_instance(self._record.name)
        except ProvisionerError as exc:
            log.warning("ha.forget_failed", instance=self._record.name, error=exc.message)
