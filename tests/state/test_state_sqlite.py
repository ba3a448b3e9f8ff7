"""What only the SQLite adapter does: the file, its permissions, WAL, locking and speed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.state.state_helpers import as_unprivileged, give_to_unprivileged, link, save
from webex_provisioner.errors import StateError, StateLockedError
from webex_provisioner.state import SqliteStateStore, open_state_store


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged user of ``as_unprivileged`` can reach (pytest's tmp is root-only)."""
    path = Path(tempfile.mkdtemp(prefix="wp-state-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _open_message(path: Path) -> str:
    try:
        SqliteStateStore(path).close()
    except StateError as exc:
        return exc.message
    return "opened"


def test_new_file_is_created_0600_in_a_created_directory(tmp_path: Path) -> None:
    """A new state file is created with mode 0600 (also its WAL), its missing directories created."""
    path = tmp_path / "var" / "lib" / "wp" / "state.db"
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the mode
    try:
        with SqliteStateStore(path) as store:
            store.record([save(link(1))])
            wal = path.with_name("state.db-wal")
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


def test_database_runs_in_wal_mode(tmp_path: Path) -> None:
    """The state file is switched to WAL so that readers never wait for the writer."""
    path = tmp_path / "state.db"
    SqliteStateStore(path).close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_read_only_file_is_refused_before_anything_happens(shared_dir: Path) -> None:
    """A state file this user cannot write is refused with a message saying so, and left untouched."""
    path = shared_dir / "state.db"
    SqliteStateStore(path).close()
    give_to_unprivileged(shared_dir, 0o755)
    give_to_unprivileged(path, 0o400)
    before = sorted(p.name for p in shared_dir.iterdir())

    message = as_unprivileged(lambda: _open_message(path))

    assert f"the state database file {path} is read-only for this user" in message
    assert "point state: at another file" in message
    assert sorted(p.name for p in shared_dir.iterdir()) == before


def test_read_only_directory_is_refused(shared_dir: Path) -> None:
    """A state file in a directory this user cannot write is refused (SQLite needs -wal and -shm there)."""
    directory = shared_dir / "ro"
    directory.mkdir()
    give_to_unprivileged(directory, 0o555)

    message = as_unprivileged(lambda: _open_message(directory / "state.db"))

    assert f"the directory {directory} of the state database is read-only for this user" in message
    assert not (directory / "state.db").exists()


def test_directory_that_cannot_be_created_is_refused(shared_dir: Path) -> None:
    """A missing directory under a read-only one is refused, naming the directory."""
    parent = shared_dir / "ro"
    parent.mkdir()
    give_to_unprivileged(parent, 0o555)

    message = as_unprivileged(lambda: _open_message(parent / "sub" / "state.db"))

    assert f"could not create the directory {parent / 'sub'} for the state database" in message


def test_a_directory_is_not_a_state_file(tmp_path: Path) -> None:
    """A path naming a directory is refused with a suggested file name."""
    with pytest.raises(StateError, match=r"is a directory; point state: at a file in it"):
        SqliteStateStore(tmp_path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    """A file that is not a SQLite database gives a StateError saying so, not a sqlite3 error."""
    path = tmp_path / "state.db"
    path.write_bytes(b"this is a YAML file, not a database\n" * 200)

    with pytest.raises(StateError) as raised:
        SqliteStateStore(path)

    assert str(path) in raised.value.message
    assert "not a SQLite database" in raised.value.message
    assert isinstance(raised.value.__cause__, Exception)


def test_a_database_locked_too_long_raises_state_locked_error(tmp_path: Path) -> None:
    """A write blocked past busy_timeout by another writer raises a retryable StateLockedError."""
    path = tmp_path / "state.db"
    store = SqliteStateStore(path, busy_timeout=0.2)
    store.record([save(link(1))])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StateLockedError) as raised:
            store.record([save(link(2))])
        waited = time.monotonic() - started
        assert store.get_link("anchor-1") is not None  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
        store.close()

    assert waited >= 0.15
    assert raised.value.retryable
    assert "database is locked" in raised.value.message and str(path) in raised.value.message


def test_a_writer_waits_for_a_short_lock(tmp_path: Path) -> None:
    """A write waits (busy_timeout) for another process's short write instead of failing."""
    path = tmp_path / "state.db"
    store = SqliteStateStore(path, busy_timeout=5)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()
    try:
        store.record([save(link(1))])
    finally:
        release.join()
        other.close()

    assert store.get_link("anchor-1") is not None
    store.close()


def test_batches_of_1000_records_are_written_whole(tmp_path: Path) -> None:
    """record() writes batches of 1,000 audit entries and links completely (timing is in bench/)."""
    with SqliteStateStore(tmp_path / "state.db") as store:
        for batch in range(3):
            store.record([save(link(batch * 1000 + n)) for n in range(1000)])
        assert len(list(store.links())) == 3000
        assert len(store.audit(limit=5000)) == 3000


def test_relative_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite:///relative/path is resolved against the working directory and shown absolute."""
    monkeypatch.chdir(tmp_path)

    store = open_state_store("sqlite:///data/state.db")
    store.close()

    assert isinstance(store, SqliteStateStore)
    assert store.path == tmp_path / "data" / "state.db" and store.path.exists()
    assert repr(store) == f"SqliteStateStore('sqlite:///{tmp_path / 'data' / 'state.db'}')"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_a_url_without_a_file_opens_a_throwaway_store(url: str) -> None:
    """sqlite:// gives a working, empty store whose temporary file is deleted when it closes."""
    store = open_state_store(url)
    assert isinstance(store, SqliteStateStore)
    store.record([save(link(1))])
    stream = store.links()
    assert next(stream).anchor == "anchor-1"
    store.record([save(link(2))])  # writes while a read is open, like the file store
    list(stream)

    store.close()

    assert not store.path.parent.exists()
