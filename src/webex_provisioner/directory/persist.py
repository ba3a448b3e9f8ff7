"""``ChangeListener``: a persistent content sync (refreshAndPersist) that says *when* to cycle.

The listener holds one refreshAndPersist search per search of the feed (the directory users,
and the groups), from the cookies of the feed's last watermark, asking for entry UUIDs only. It
does not carry the changes themselves: any message that says something changed wakes the daemon,
which runs an incremental cycle, and that cycle's refresh from the stored cookie reads exactly
what changed (a few milliseconds with a session log). So a change is never applied from this
connection, and a lost message costs nothing but latency until the next ``schedule.interval``.

The connection is its own (python-ldap holds a connection's lock while it waits) and lives in a
daemon thread. When it drops, the listener wakes the daemon (whose cycle then finds the outage and
retries with backoff), reconnects with backoff itself, and wakes the daemon again once back, so
that a cycle catches up with whatever changed in between.
"""

from __future__ import annotations

import threading
from typing import Protocol

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.syncrepl import SyncConnection
from webex_provisioner.errors import DirectoryError

log = structlog.get_logger()


class PersistentSearches(Protocol):
    """What the listener needs of its feed (``ContentSyncFeed``, which makes it in ``notifier``)."""

    @property
    def config(self) -> DirectoryConfig: ...

    def persist_searches(self) -> list[tuple[str, str, str | None]]:
        """(base, filter, cookie) of each search to hold."""
        ...


class ChangeListener:
    """The ``ChangeNotifier`` of a content sync feed: ``wait`` returns when the directory reports
    a change; see the module docstring."""

    def __init__(self, feed: PersistentSearches, *, max_backoff: float = 30.0, poll: float = 1.0) -> None:
        self._feed = feed
        self._max_backoff = max_backoff
        self._poll = poll
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        self.error: str | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)
            self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Block until a change is reported (``True``) or ``timeout`` seconds pass (``False``)."""
        return self._changed.wait(timeout)

    def wake(self) -> None:
        """Make ``wait`` return now (to stop waiting, say)."""
        self._changed.set()

    def clear(self) -> None:
        """Forget the reported changes (call it before the cycle that reads them)."""
        self._changed.clear()

    def close(self) -> None:
        self._stop.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout=self._poll + 5)
            self._thread = None

    def _run(self) -> None:
        delay = 1.0
        lost = False
        while not self._stop.is_set():
            conn: SyncConnection | None = None
            try:
                conn = SyncConnection(self._feed.config)
                for base, filterstr, cookie in self._feed.persist_searches():
                    conn.persist(base, filterstr, cookie)
                self.connected, self.error, delay = True, None, 1.0
                if lost:
                    log.info("directory.listener_reconnected", url=self._feed.config.url)
                    self._changed.set()  # catch up with what changed while disconnected
                lost = False
                while not self._stop.is_set():
                    if conn.poll(self._poll):
                        self._changed.set()
            except Exception as exc:  # the listener must outlive any failure
                message = exc.message if isinstance(exc, DirectoryError) else repr(exc)
                if not lost:
                    self._changed.set()  # let a cycle find (and report) the outage
                self.connected, self.error, lost = False, message, True
                log.warning("directory.listener_lost", error=message, retry_in_seconds=delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self._max_backoff)
            finally:
                if conn is not None:
                    conn.close()
