"""The reader process's child: reads the directory like the engine would and sends the users
to the engine in batches over its standard output (``directory.reader`` is the engine's side).

Started as ``python -P -c "from webex_provisioner.directory.reader_child import serve; serve()"``
in ``reader.SAFE_DIRECTORY``; it reads its request (configuration, attributes, labels and the
groups' memberships, if handed over) from standard input.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import queue
import resource
import signal
import sys
import threading
import traceback
from collections.abc import MutableMapping
from typing import IO, Any

import structlog

from webex_provisioner.directory.ldap import LdapDirectory
from webex_provisioner.directory.reader import AHEAD, BATCH, CRASH, END, ERROR, LOG, USERS
from webex_provisioner.errors import DirectoryError

log = structlog.get_logger("webex_provisioner.directory.reader")

YOUNG_THRESHOLD = 100_000
"""The child builds many short-lived objects and keeps few: the young generation is collected
every this many allocations (not every 700), and what exists at start is never rescanned."""


class _Forward:
    """The child's structlog processor: each event goes to the engine instead of a stream."""

    def __init__(self, send: Any) -> None:
        self._send = send

    def __call__(self, _logger: Any, method: str, event: MutableMapping[str, Any]) -> Any:
        plain = {
            k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in event.items()
        }
        self._send((LOG, (method, plain)))
        raise structlog.DropEvent


class _Outbox:
    """The child's messages to the engine, pickled at once and written by a thread of their own:
    the read goes on while the engine is busy (reading its links), up to ``_AHEAD`` messages
    ahead (about 7 MB), then waits for the engine."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=AHEAD)
        self.broken = False
        self._thread = threading.Thread(target=self._write, name="reader-outbox", daemon=True)
        self._thread.start()

    def send(self, message: tuple[str, Any]) -> None:
        self._put(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    def _put(self, data: bytes | None) -> None:
        while not self.broken:
            try:
                self._queue.put(data, timeout=0.5)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the engine stopped listening")

    def _write(self) -> None:
        try:
            while (data := self._queue.get()) is not None:
                self._stream.write(data)
                self._stream.flush()
        except OSError:
            self.broken = True

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):
            self._put(None)
        self._thread.join()
        with contextlib.suppress(OSError):
            self._stream.close()


def serve() -> None:
    """The child: read the request, read like the engine would, send users in batches, then one
    final message. Standard output carries the messages only (anything printed goes to stderr)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    outbox = _Outbox(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)
    send = outbox.send
    structlog.configure(
        processors=[_Forward(send)],
        wrapper_class=structlog.make_filtering_bound_logger(0),
        cache_logger_on_first_use=False,
    )
    try:
        request = pickle.load(sys.stdin.buffer)  # noqa: S301 - from the engine
        config, attributes, labels, membership, rules = request
    except EOFError:
        outbox.close()
        return  # closed before it was asked to read
    gc.freeze()  # the modules and the request: never garbage
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    directory = LdapDirectory(config, attributes, read_process=False, labels=labels)
    outcome: tuple[str, Any] = (END, None)
    try:
        directory.use_membership(membership, rules)
        batch: list[tuple[Any, ...]] = []
        try:
            for user in directory.read_users():
                batch.append(
                    (
                        user.anchor,
                        user.dn,
                        user.attributes,
                        user.disabled,
                        user.in_scope,
                        user.scope_reason,
                        user.undecodable,
                        user.labels,
                    )
                )
                if len(batch) >= BATCH:
                    send((USERS, batch))
                    batch = []
        finally:
            if batch:  # what was read before a failure is handed over before the failure
                send((USERS, batch))
    except BrokenPipeError:
        outcome = (CRASH, "the engine stopped listening")  # nobody reads it
    except DirectoryError as exc:
        outcome = (ERROR, (type(exc).__name__, exc.message, exc.retryable))
    except Exception as exc:  # a bug: say what it was, in the engine's error
        outcome = (CRASH, "".join(traceback.format_exception_only(exc)).strip())
    finally:
        directory.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with contextlib.suppress(BrokenPipeError):
        log.info(
            "directory.reader",
            peak_mb=round(usage.ru_maxrss / 1024, 1),
            cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
        )
        send(outcome)  # the last message: the engine stops listening after it
    outbox.close()
