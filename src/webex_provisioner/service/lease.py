"""The lease: one instance runs cycles on a state store at a time (docs/high-availability.md).

* ``cycle_lock`` holds the state's cycle lock for a ``sync`` or a whole ``run``, renewing it in
  the background; a lock left by a killed process on this host is taken over at once.
* ``Announcer``: every ``run`` writes an ``InstanceRecord`` (host, pid, role, since) to the state
  store and refreshes it every ``ha.poll_seconds``; ``status`` lists the live ones. The active
  instance is the one holding the lock: if it dies, the lock runs out and a standby takes over
  within ``ha.takeover_after``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.errors import ProvisionerError, StateLockedError
from webex_provisioner.model import InstanceRecord
from webex_provisioner.ports import Lease

log = structlog.get_logger("webex_provisioner.service.lease")

ACTIVE, STANDBY = "active", "standby"

INSTANCE_ENV = "WEBEX_PROVISIONER_INSTANCE"


def instance_name() -> str:
    """This process's name in locks and announcements: ``host:pid``, or ``$WEBEX_PROVISIONER_INSTANCE``."""
    return os.environ.get(INSTANCE_ENV) or f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_owner(owner: str | None) -> bool:
    """Whether ``owner`` names a process on this host that no longer runs."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def cycle_lock(store: Lease, owner: str, *, ttl: float = 120.0) -> Iterator[threading.Event]:
    """Hold the state store's cycle lock for the duration, renewing it in the background.

    A lock left by a killed process on this host is taken over at once; one held by a live
    instance (here or elsewhere) makes this fail with ``StateLockedError``. The event yielded is
    set if the lock is lost (another instance took it after renewals failed for ``ttl``): the
    holder must stop applying at once.
    """
    if not store.acquire_lock(owner, ttl):
        holder = store.lock_owner()
        if _dead_local_owner(holder):
            assert holder is not None
            store.release_lock(holder)
        if not store.acquire_lock(owner, ttl):
            raise StateLockedError(
                f"another instance ({holder}) is running a cycle on this state store; wait for it to "
                "finish, or stop it. A lock left by a crashed instance on another host expires after "
                f"{ttl:.0f} s"
            )
    stop, lost = threading.Event(), threading.Event()

    def renew() -> None:
        renewed = time.monotonic()
        while not stop.wait(ttl / 4):
            try:
                if store.acquire_lock(owner, ttl):
                    renewed = time.monotonic()
                    continue
                log.error("lock.lost", owner=owner, holder=store.lock_owner())
            except ProvisionerError as exc:
                if time.monotonic() - renewed < ttl:
                    log.warning("lock.renewal_failed", owner=owner, error=exc.message)
                    continue
                log.error("lock.lost", owner=owner, error=exc.message)
            lost.set()
            return

    heartbeat = threading.Thread(target=renew, name="lock-heartbeat", daemon=True)
    heartbeat.start()
    try:
        yield lost
    finally:
        stop.set()
        heartbeat.join()
        if not lost.is_set():
            store.release_lock(owner)


class Announcer:
    """Keeps this instance's record (and role) fresh in the state store until closed."""

    def __init__(self, store: Lease, name: str, *, interval: float, clock: Callable[[], datetime]) -> None:
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
