"""A full directory read in a process of its own, so that reading and planning use two cores.

python-ldap turns each page into Python objects while holding the interpreter lock, and each
entry is then decoded and labelled: at 100,000 users about 2 s of one core, on which the planner
(links, mapping, comparisons) would otherwise wait. ``ReaderProcess`` runs ``LdapDirectory``'s
own read (the searches, decoding, the disabled and scope labels, the licence rules' labels) in a
child, ``serve`` in a new
interpreter (kept away from the working directory: ``SAFE_DIRECTORY``), started as a full
cycle begins. The child sends the directory users a thousand at a time, pickled as plain
tuples, over its standard output, from a thread of its own, so it reads on while the engine
reads its links and plans. The request (the directory settings, with the bind password) goes
over the child's standard input, never its command line or environment.

What the child does is exactly the read of the engine process: the same searches, labels and
errors. Its log events travel back over the same pipe and are logged by the engine, in order.
A ``DirectoryError`` in the child is raised again by the iterator after the users read before it
(a partial read, as ``DirectorySource`` says); a child that dies is a
``DirectoryIncompleteError``. The child ignores SIGINT and SIGTERM (the engine decides when a
read stops) and is killed when the engine closes the iterator early; it ends by itself when the
engine goes away (its pipes close).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import subprocess
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import IO, Any, Self

import structlog

from webex_provisioner import errors
from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.groups import Membership
from webex_provisioner.directory.rule_labels import RuleMembers
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError
from webex_provisioner.model import DirectoryUser

log = structlog.get_logger()

BATCH = 1000  # users per message
_PIPE_BYTES = 1 << 20  # room for a few pages in flight (Linux' default limit for a pipe)
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_WAIT_SECONDS = 5.0
AHEAD = 32  # messages the child may queue while the engine is busy

# Message kinds, child -> engine.
USERS, LOG, ERROR, CRASH, END = "users", "log", "error", "crash", "end"
"""The kinds of message the child sends (``reader_child``)."""


CHILD_CODE = "from webex_provisioner.directory.reader_child import serve; serve()"
SAFE_DIRECTORY = "/"
"""Where the child runs: ``python -c`` would put its working directory first on the import path,
so a ``webex_provisioner`` (or ``ldap``) package planted in a shared folder the engine was
started from would receive the bind password. The child is started with ``-P`` (nothing
prepended to the import path) in a directory only root can write to."""


def child_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: the engine's, with ``PYTHONPATH`` made absolute (the child runs
    in ``SAFE_DIRECTORY``) and its empty entries, which stand for the working directory, left out."""
    child = dict(environment)
    if "PYTHONPATH" in child:
        entries = [os.path.abspath(e) for e in child["PYTHONPATH"].split(os.pathsep) if e]
        child["PYTHONPATH"] = os.pathsep.join(entries)
    return child


class ReaderProcess:
    """An iterator of the directory users one child process reads; see the module docstring.

    Creating one starts the child's interpreter; ``start`` sends it the request, after which it
    connects, searches and sends; iterating receives. ``close`` stops it at any point.
    """

    def __init__(self, config: DirectoryConfig) -> None:
        if config.ca_file is not None:  # the child runs elsewhere: a relative path must not move
            config = config.model_copy(update={"ca_file": config.ca_file.resolve()})
        self._config = config
        self._received = 0
        self._batch: list[tuple[Any, ...]] = []
        self._position = 0
        self._done = False
        self._started = False
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-c", CHILD_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
                cwd=SAFE_DIRECTORY,
                env=child_environment(os.environ),
            )
        except OSError as exc:
            raise DirectoryError(
                f"could not start the directory reader process ({exc}); set "
                "directory.read_process: false to read in the engine process"
            ) from exc
        self._output: IO[bytes] = self._process.stdout  # type: ignore[assignment]
        with contextlib.suppress(OSError):  # a smaller pipe only means less read-ahead
            fcntl.fcntl(self._output.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)

    def start(
        self,
        attributes: tuple[str, ...],
        membership: Membership | None,
        rules: RuleMembers | None = None,
        labels: tuple[str, ...] = (),
    ) -> None:
        """Ask for the read of ``attributes``, labelled with ``membership`` and the licence rules'
        groups ``rules`` if given (else the child expands the groups itself), with the licence
        rules' ``labels`` put on."""
        if self._started:
            raise RuntimeError("a ReaderProcess reads once")
        self._started = True
        try:
            assert self._process.stdin is not None
            with self._process.stdin as stdin:
                request = (self._config, attributes, labels, membership, rules)
                pickle.dump(request, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError:
            pass  # the child is gone already: the first receive reports it

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> DirectoryUser:
        while self._position >= len(self._batch):
            if self._done:
                raise StopIteration
            self._batch, self._position = self._receive(), 0
        fields = self._batch[self._position]
        self._position += 1
        return DirectoryUser(*fields)

    def _receive(self) -> list[tuple[Any, ...]]:
        while True:
            try:
                kind, payload = pickle.load(self._output)  # noqa: S301 - our own child, over its own pipe
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                self._finish()
                raise DirectoryIncompleteError(
                    f"the directory reader process ended (exit code {self._process.returncode}) after "
                    f"{self._received} users of {self._config.url}; the read is incomplete, nothing "
                    "was concluded from it. If it happens again, set directory.read_process: false"
                ) from exc
            if kind == USERS:
                self._received += len(payload)
                return list(payload)
            if kind == LOG:
                method, event = payload
                getattr(log, method, log.info)(event.pop("event", "directory.reader"), **event)
                continue
            self._finish()
            if kind == END:
                return []
            if kind == ERROR:
                raise _rebuilt(*payload)
            raise DirectoryError(
                f"the directory reader process failed after {self._received} users of "
                f"{self._config.url}: {payload}; set directory.read_process: false to read in the "
                "engine process, and report the problem"
            )

    def _finish(self) -> None:
        self._done = True
        self._output.close()
        try:
            self._process.wait(_WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        """Stop reading: the child is killed if it is still at work."""
        if self._done:
            return
        self._done = True
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        self._output.close()
        if self._process.stdin is not None:
            self._process.stdin.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _rebuilt(name: str, message: str, retryable: bool) -> DirectoryError:
    """The child's ``DirectoryError`` (or subclass) again, in this process."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, DirectoryError):
        return cls(message, retryable=retryable)
    return DirectoryError(message, retryable=retryable)
