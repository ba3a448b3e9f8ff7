"""``SqlBase``: what every part of ``SqlStateStore`` shares: the engine, the masked URL, the
transactions that translate errors, and the schema migration when a store opens.

Each concern of the store (``links``, ``groups``, ``licenses``, ``records``, ``cycle_log``,
``lease``, ``bookkeeping``, ``notifications``, ``drift``, ``rows``) is a mixin on this base;
``sql.SqlStateStore`` puts them together.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, Table, delete, insert
from sqlalchemy.dialects import postgresql, sqlite

from webex_provisioner.errors import StateError, StateLockedError
from webex_provisioner.state.errors import WRITE_OPTION, mask_url, translating, url_password
from webex_provisioner.state.migrations import migrate

STREAM_BATCH = 1000


class SqlBase:
    """An open state database: SQLite or PostgreSQL, migrated to this version's schema."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._where = mask_url(url)
        self._password = url_password(url)
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise StateError(f"the state database {self._where} uses {dialect}; use SQLite or PostgreSQL")
        self._dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        try:
            _migrate_when_free(engine, self._where)
        except BaseException:
            engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The state database URL, with any password masked."""
        return self._where

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _transaction(self, what: str, *, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction, committed at the end; any database error inside becomes a
        ``StateError`` saying it could not ``what`` on this database (password masked)."""
        with translating(what, self._where, self._password), self._engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _replace_rows(self, table: Table, rows: Sequence[dict[str, Any]], what: str) -> None:
        """Empty ``table`` and insert ``rows``, in one transaction."""
        with self._transaction(what, write=True) as conn:
            conn.execute(delete(table))
            if rows:
                conn.execute(insert(table), list(rows))

    def _upsert(self, table: Table, values: dict[str, Any], *, keep: tuple[str, ...] = ()) -> Any:
        """``INSERT ... ON CONFLICT (primary key) DO UPDATE``: one row of ``table`` replaced by
        ``values``, except the columns in ``keep`` (and the key)."""
        key = [column.name for column in table.primary_key.columns]
        stmt = self._dialect_insert(table).values(values)
        return stmt.on_conflict_do_update(
            index_elements=key,
            set_={k: stmt.excluded[k] for k in values if k not in key and k not in keep},
        )


def _migrate_when_free(engine: Engine, where: str, attempts: int = 5) -> None:
    """Migrate, trying again when the database is locked: instances opening a new SQLite file at
    the same moment race for its first write (switching it to WAL), and SQLite can answer
    "locked" at once, before its busy timeout, to all but one of them."""
    for attempt in range(attempts):
        try:
            migrate(engine, where=where)
            return
        except StateLockedError:
            if attempt == attempts - 1:
                raise
            engine.dispose()  # drop connections that saw the lock
            time.sleep(0.1 * 2**attempt)
