"""The edge between the state adapters and the engine: masked URLs and translated errors.

Every SQLAlchemy, sqlite3 or psycopg exception leaves a store as a ``StateError`` (or a
``StateLockedError`` when SQLite stays locked) saying what failed, on which state database (with
any password masked) and what to do about it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from webex_provisioner.config.values import mask_url as config_mask_url
from webex_provisioner.errors import StateError, StateLockedError

# Connection execution option that marks a writing transaction (SQLite then takes the write
# lock at BEGIN, so two writers queue on busy_timeout instead of failing on lock upgrade).
WRITE_OPTION = "webex_provisioner_write"

_DEFAULT_HINT = "check the state: setting, and that the database is reachable and writable by this user"

# (substring of the driver's message, hint, retryable); the first match wins.
_HINTS: tuple[tuple[str, str, bool], ...] = (
    (
        "readonly database",
        "the file or its directory is read-only for this user; make both writable, "
        "or point state: at another database",
        False,
    ),
    (
        "file is not a database",
        "the file is not a SQLite database (or it is damaged); point state: at another file "
        "or restore it from a backup",
        False,
    ),
    (
        "unable to open database file",
        "check that the directory exists and that this user may create and write files in it",
        False,
    ),
    ("disk is full", "free some disk space where the state database lives", True),
    ("disk i/o error", "check the disk and filesystem where the state database lives", True),
    (
        "relation",
        "the schema is missing or damaged; restore the state database from a backup or point state: "
        "at a new one",
        False,
    ),
    (
        "password authentication failed",
        "check the user and password in state: (or in ~/.pgpass / PGPASSWORD)",
        False,
    ),
    (
        "does not exist",
        "check the user and database names in state:, and that the database was created",
        False,
    ),
    (
        "connection",
        "check that the PostgreSQL server is running and reachable at the host and port in state:",
        True,
    ),
    (
        "timeout",
        "check that the PostgreSQL server is running and reachable at the host and port in state:",
        True,
    ),
    (
        "is not a valid",
        "the database holds a value this version of webex-provisioner does not know; was it written "
        "by a newer version?",
        False,
    ),
    (
        "no such table",
        "the schema is missing or damaged; restore the state database from a backup or point state: "
        "at a new one",
        False,
    ),
)


def mask_url(url: str) -> str:
    """The URL with any password (in the authority or a ``password=`` query) replaced by ``***``."""
    return config_mask_url(url, "state URL")


def url_password(url: str) -> str | None:
    """The password in ``url``, to scrub from drivers' messages (``None`` when there is none)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    query_password = parsed.query.get("password")
    if isinstance(query_password, str) and query_password:
        return query_password
    return None if parsed.password is None else str(parsed.password)


def _cause(exc: BaseException) -> BaseException:
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line.rstrip(".")


def translate(exc: BaseException, what: str, where: str, password: str | None = None) -> StateError:
    """A ``StateError`` for ``exc``, raised while trying to ``what`` on the database ``where``."""
    cause = _cause(exc)
    text = _first_line(str(cause)) or type(cause).__name__
    if password:
        text = text.replace(password, "***")
    lowered = text.lower()
    prefix = f"state database {where}: could not {what}: {text}"
    if "database is locked" in lowered or "database table is locked" in lowered:
        return StateLockedError(
            f"{prefix}. Another process kept the SQLite file locked for longer than the busy timeout; "
            "make sure only one webex-provisioner writes to it (use PostgreSQL to run several) "
            "and try again"
        )
    if isinstance(exc, IntegrityError):
        return StateError(
            f"{prefix}. Nothing of this batch was written; if another instance wrote the same link "
            "at the same time, try again",
            retryable=True,
        )
    for needle, hint, retryable in _HINTS:
        if needle in lowered:
            return StateError(f"{prefix}. {hint[0].upper()}{hint[1:]}", retryable=retryable)
    return StateError(f"{prefix}. {_DEFAULT_HINT[0].upper()}{_DEFAULT_HINT[1:]}")


# ValueError: a stored value this version cannot read (an unknown state or reason, bad JSON).
# (alembic's CommandError is translated where alembic runs: state.migrations.migrate.)
TRANSLATED: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, ValueError)


@contextmanager
def translating(what: str, where: str, password: str | None = None) -> Iterator[None]:
    """Turn any database exception raised inside into a ``StateError`` (``raise ... from exc``)."""
    try:
        yield
    except TRANSLATED as exc:
        raise translate(exc, what, where, password) from exc
