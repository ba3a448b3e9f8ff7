"""Choosing the adapter by URL, masking URLs, and translating database errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from webex_provisioner.errors import StateError, StateLockedError
from webex_provisioner.state import SqliteStateStore, mask_url, open_state_store
from webex_provisioner.state.errors import translate


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+pysqlite"])
def test_sqlite_urls_open_a_sqlite_store(tmp_path: Path, scheme: str) -> None:
    """sqlite:///PATH gives a SqliteStateStore on that file."""
    store = open_state_store(f"{scheme}:///{tmp_path / 'state.db'}")
    store.close()

    assert isinstance(store, SqliteStateStore) and store.path == tmp_path / "state.db"


@pytest.mark.parametrize("url", ["mysql://root:hunter2@db/state", "state.db", "file:///state.db"])
def test_unsupported_urls_are_refused_with_the_password_masked(url: str) -> None:
    """A URL of another kind is refused, naming the two supported forms and hiding any password."""
    with pytest.raises(StateError, match=r"sqlite:///PATH .* postgresql://") as raised:
        open_state_store(url)

    assert "hunter2" not in raised.value.message


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://webex:hunter2@db:5432/state", "postgresql://webex:***@db:5432/state"),
        ("postgresql://webex@db/state?password=hunter2", "postgresql://webex@db/state?password=***"),
        ("postgresql://webex@db/state", "postgresql://webex@db/state"),
        ("sqlite:////var/lib/wp/state.db", "sqlite:////var/lib/wp/state.db"),
        ("not a url: user:hunter2@host", "<a state URL that cannot be parsed>"),
    ],
)
def test_mask_url_hides_passwords(url: str, masked: str) -> None:
    """mask_url replaces a password in the authority or in the query with ***."""
    assert mask_url(url) == masked


def _driver_error(message: str, kind: type[DBAPIError] = OperationalError) -> DBAPIError:
    return kind("INSERT ...", {}, sqlite3.OperationalError(message))


def test_database_is_locked_becomes_a_retryable_state_locked_error() -> None:
    """sqlite3's 'database is locked' becomes StateLockedError, retryable, saying what to do."""
    error = translate(_driver_error("database is locked"), "record 3 action result(s)", "sqlite:////x.db")

    assert isinstance(error, StateLockedError) and error.retryable
    assert error.message.startswith("state database sqlite:////x.db: could not record 3 action result(s): ")
    assert "only one webex-provisioner writes to it" in error.message


@pytest.mark.parametrize(
    ("driver_message", "hint"),
    [
        ("attempt to write a readonly database", "read-only for this user"),
        ("file is not a database", "not a SQLite database"),
        ("database or disk is full", "free some disk space"),
        (
            'connection failed: FATAL:  password authentication failed for user "w"',
            "check the user and password",
        ),
        ("connection failed: Connection refused", "running and reachable"),
        ('relation "links" does not exist', "schema is missing or damaged"),
        ("something nobody expected", "check the state: setting"),
    ],
)
def test_driver_errors_get_a_hint(driver_message: str, hint: str) -> None:
    """Each kind of driver error is translated into a StateError with a hint on what to do."""
    error = translate(_driver_error(driver_message), "read the links", "sqlite:////x.db")

    assert type(error) is StateError
    assert driver_message.split(":", maxsplit=1)[0] in error.message
    assert hint.lower() in error.message.lower()


def test_a_uniqueness_violation_is_retryable_and_says_nothing_was_written() -> None:
    """An IntegrityError (another instance racing) says the batch was not written and can be retried."""
    error = translate(
        _driver_error("UNIQUE constraint failed", IntegrityError), "record 1", "sqlite:////x.db"
    )

    assert error.retryable and "Nothing of this batch was written" in error.message


def test_a_password_in_a_driver_message_is_scrubbed() -> None:
    """Should a driver echo the password, the translated message hides it."""
    error = translate(_driver_error("bad dsn password=hunter2"), "open", "postgresql://u:***@h/d", "hunter2")

    assert "hunter2" not in error.message and "password=***" in error.message
