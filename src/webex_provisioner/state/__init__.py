"""The state store: links, cycles, the audit trail, the cycle lock and the bookkeeping.

``open_state_store(url)`` picks the adapter by the URL's scheme: ``sqlite:///PATH`` gives a
``SqliteStateStore``, ``postgresql://USER:PASSWORD@HOST/DB`` a ``PostgresStateStore``. Both share
``SqlStateStore`` and migrate the schema when they open.
"""

from __future__ import annotations

from webex_provisioner.errors import StateError
from webex_provisioner.ports import StateStore
from webex_provisioner.state.errors import mask_url
from webex_provisioner.state.migrations import head_revision, migrate
from webex_provisioner.state.postgres import PostgresStateStore
from webex_provisioner.state.sql import SqlStateStore
from webex_provisioner.state.sqlite import SqliteStateStore

__all__ = [
    "PostgresStateStore",
    "SqlStateStore",
    "SqliteStateStore",
    "head_revision",
    "mask_url",
    "migrate",
    "open_state_store",
]

_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def open_state_store(url: str) -> StateStore:
    """Open (creating and migrating if needed) the state store at ``url``.

    Raises ``StateError`` saying what is wrong and what to do when the URL is not understood or
    the database cannot be opened, written, or is at a schema newer than this version knows.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in _SQLITE_SCHEMES:
        return SqliteStateStore.from_url(url)
    if scheme in _POSTGRES_SCHEMES:
        return PostgresStateStore(url)
    raise StateError(
        f"the state URL {mask_url(url)!r} is not supported; write it as sqlite:///PATH "
        "(a file, the default) or postgresql://USER:PASSWORD@HOST:PORT/DB"
    )
