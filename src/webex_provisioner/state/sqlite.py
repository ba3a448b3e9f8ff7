"""``SqliteStateStore``: the state in one SQLite file (the default).

The file is created with mode 0600 (it names every linked user), its directory is created if
missing, and the database runs in WAL mode so that readers never wait for the writer. A file or
directory this user cannot write is refused up front, before any server is contacted.
``sqlite://`` (no file) opens a throwaway store in a temporary file, deleted when closed.
"""

from __future__ import annotations

import getpass
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from webex_provisioner.errors import StateError
from webex_provisioner.state.errors import WRITE_OPTION
from webex_provisioner.state.sql import SqlStateStore

DEFAULT_BUSY_TIMEOUT = 5.0
FILE_MODE = 0o600


class SqliteStateStore(SqlStateStore):
    """The state store in the SQLite file at ``path``.

    ``busy_timeout`` is how long (seconds) a write waits for another process's write lock
    before failing with ``StateLockedError``. ``synchronous`` is SQLite's fsync policy: with
    ``NORMAL`` (the default, WAL's usual setting) a committed record survives the process being
    killed, and the file never corrupts, but a power loss may forget the last commits (which the
    engine reconciles like any unknown outcome); ``FULL`` fsyncs every commit, at a cost in speed.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self._cleanup: Callable[[], object] | None = None
        self.path = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
        url = f"sqlite:///{self.path}"
        _prepare_file(self.path)
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
        timeout_ms = int(busy_timeout * 1000)

        @event.listens_for(engine, "connect")
        def _configure(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute(f"PRAGMA synchronous = {synchronous}")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A writer takes the write lock at BEGIN and so waits (busy_timeout) for another
            # writer; a reader upgrading mid-transaction would fail at once instead.
            immediate = conn.get_execution_options().get(WRITE_OPTION, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        super().__init__(engine, url)

    @classmethod
    def from_url(cls, url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> SqliteStateStore:
        """The store for ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``;
        ``sqlite://`` and ``sqlite:///:memory:`` give a ``temporary()`` one."""
        try:
            database = make_url(url).database
        except ArgumentError as exc:
            raise StateError(f"{url!r} is not a state URL; write it as sqlite:///PATH") from exc
        if not database or database == ":memory:":
            return cls.temporary(busy_timeout=busy_timeout)
        if database.startswith("file:"):
            raise StateError(f"the state URL {url!r} is not supported; write it as sqlite:///PATH")
        return cls(database, busy_timeout=busy_timeout)

    @classmethod
    def temporary(cls, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> SqliteStateStore:
        """An empty store in a private temporary file that ``close()`` deletes (an in-memory
        database would be one connection, unable to read links while writing)."""
        directory = tempfile.mkdtemp(prefix="webex-provisioner-state-")
        try:
            store = cls(Path(directory) / "state.db", busy_timeout=busy_timeout)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        store._cleanup = weakref.finalize(store, shutil.rmtree, directory, True)
        return store

    def close(self) -> None:
        super().close()
        if self._cleanup is not None:
            self._cleanup()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return f"uid {os.geteuid()}"


def _prepare_file(path: Path) -> None:
    """Refuse an unusable location with a clear message; create the directory and file if missing."""
    directory = path.parent
    if path.is_dir():
        raise StateError(
            f"the state database {path} is a directory; point state: at a file in it, "
            f"e.g. sqlite:///{path / 'webex-provisioner.db'}"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StateError(
            f"the state database file {path} is read-only for this user ({_user()}); make it "
            "readable and writable (chmod u+rw, or run as its owner) or point state: at another file"
        )
    if not path.exists():
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"could not create the directory {directory} for the state database: {exc.strerror}; "
                "create it (writable by this user) or point state: at another place"
            ) from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StateError(
            f"the directory {directory} of the state database is read-only for this user ({_user()}); "
            f"SQLite must create {path.name}-wal and {path.name}-shm next to the file: make the directory "
            "writable or point state: at another place"
        )
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise StateError(
            f"could not create the state database file {path}: {exc.strerror}; "
            "check the directory's permissions or point state: at another place"
        ) from exc
    os.close(fd)
