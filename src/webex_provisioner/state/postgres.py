"""``PostgresStateStore``: the state in a PostgreSQL database, for shared, highly available setups.

Uses psycopg 3 (``pip install 'webex-provisioner[postgres]'``) through SQLAlchemy's
``postgresql+psycopg`` dialect; ``postgresql://`` and ``postgres://`` URLs are accepted as written.
Several instances may share one database: the cycle lock decides which one runs cycles.
"""

from __future__ import annotations

import importlib.util

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from webex_provisioner.config.transport import DEFAULT_SSLMODE, is_local_postgres, postgres_sslmode
from webex_provisioner.errors import StateError
from webex_provisioner.state.errors import mask_url
from webex_provisioner.state.sql import SqlStateStore

DRIVER = "postgresql+psycopg"
DEFAULT_CONNECT_TIMEOUT = 10


class PostgresStateStore(SqlStateStore):
    """The state store in the PostgreSQL database at ``url`` (``postgresql://USER:PASSWORD@HOST/DB``)."""

    def __init__(
        self, url: str, *, connect_timeout: int = DEFAULT_CONNECT_TIMEOUT, pool_size: int = 5
    ) -> None:
        engine_url = driver_url(url)
        if importlib.util.find_spec("psycopg") is None:
            raise StateError(
                f"the state database {mask_url(url)} is PostgreSQL, which needs psycopg; install it "
                "with: pip install 'webex-provisioner[postgres]'"
            )
        engine = create_engine(
            engine_url,
            pool_size=pool_size,
            pool_pre_ping=True,
            connect_args={"connect_timeout": connect_timeout, "application_name": "webex-provisioner"},
        )
        super().__init__(engine, url)


def driver_url(url: str) -> URL:
    """``url`` with its driver set to psycopg 3 (``postgresql+psycopg``), and ``sslmode=verify-full``
    when it names a host other than this machine without saying which ``sslmode``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateError(
            f"{mask_url(url)!r} is not a PostgreSQL URL; write it as postgresql://USER:PASSWORD@HOST:PORT/DB"
        ) from exc
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise StateError(f"{mask_url(url)!r} is not a PostgreSQL URL; write it as postgresql://USER@HOST/DB")
    if postgres_sslmode(url) is None and not is_local_postgres(url):
        # libpq's default (prefer) would check no certificate of a database that holds the
        # rotated refresh token; a local one (loopback, Unix socket) keeps libpq's default
        parsed = parsed.update_query_dict({"sslmode": DEFAULT_SSLMODE})
    return parsed.set(drivername=DRIVER)
