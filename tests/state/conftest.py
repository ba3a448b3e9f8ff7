"""Fixtures of the state store tests: every contract test runs on each adapter.

``store`` / ``open_store`` / ``state_url`` are parametrized over ``sqlite`` and ``postgresql``;
``any_store`` over those and the in-memory fake. The
PostgreSQL cases use a throwaway PostgreSQL 15 cluster started once per session on a free
127.0.0.1 port (initdb + pg_ctl in a temporary directory, run as the ``postgres`` user when the
tests run as root), with a fresh database per test. Set ``WEBEX_PROVISIONER_TEST_POSTGRES_URL``
to an existing server's superuser URL to use it instead; without either the cases are skipped.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from tests.state.state_helpers import OpenStore
from webex_provisioner.ports import StateStore
from webex_provisioner.state import SqlStateStore, open_state_store
from webex_provisioner.state.postgres import driver_url
from webex_provisioner.testing.state import InMemoryStateStore

PG_BIN = Path(os.environ.get("WEBEX_PROVISIONER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_URL_ENV = "WEBEX_PROVISIONER_TEST_POSTGRES_URL"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on a PostgreSQL server (started for the session)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cluster_owner() -> pwd.struct_passwd | None:
    """The user to run PostgreSQL as: ``postgres`` when we are root (it refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL test server as")


def _as_cluster_owner(argv: list[str]) -> list[str]:
    if _cluster_owner() is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *argv]
    return ["su", "postgres", "-s", "/bin/sh", "-c", subprocess.list2cmdline(argv)]


def _run(argv: list[str], what: str, log: Path | None = None) -> None:
    result = subprocess.run(_as_cluster_owner(argv), capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
        pytest.fail(
            f"could not {what} the PostgreSQL test server:\n{result.stdout}{result.stderr}{server_log}"
        )


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A superuser URL of a PostgreSQL server for this session (started here unless given)."""
    if given := os.environ.get(PG_URL_ENV):
        yield given
        return
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_ctl").exists():
        pytest.skip(
            f"PostgreSQL server binaries not found in {PG_BIN} (install postgresql-15, set "
            f"WEBEX_PROVISIONER_TEST_PG_BIN, or set {PG_URL_ENV} to a server's superuser URL)"
        )
    owner = _cluster_owner()
    base = Path(tempfile.mkdtemp(prefix="wp-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, log, port = base / "data", base / "server.log", _free_port()
    try:
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        _run([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], "initialize")
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log)]
        _run([*pg_ctl, "-o", options, "-w", "-t", "60", "start"], "start", log)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_cluster_owner([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True, check=False
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


_schema_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_database_url(postgres_admin_url: str) -> str:
    """A database for this session's tests, on the PostgreSQL server."""
    import psycopg

    admin = make_url(postgres_admin_url)
    name = f"wp_test_{os.getpid()}"
    with psycopg.connect(_conninfo(postgres_admin_url), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    return admin.set(database=name).render_as_string(hide_password=False)


def _conninfo(url: str) -> str:
    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port or 5432} user={parsed.username} dbname={parsed.database}"


@pytest.fixture
def postgres_url(postgres_database_url: str) -> str:
    """The URL of a fresh, empty PostgreSQL schema (a new database per test is ten times slower)."""
    import psycopg

    schema = f"t{next(_schema_numbers)}"
    with psycopg.connect(_conninfo(postgres_database_url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = make_url(postgres_database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty state database, once per adapter."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'webex-provisioner.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def open_store(state_url: str) -> Iterator[OpenStore]:
    """Opens stores on the same database (as separate instances would); closes them all at the end."""
    opened: list[SqlStateStore] = []

    def open_one() -> SqlStateStore:
        store = open_state_store(state_url)
        assert isinstance(store, SqlStateStore)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> SqlStateStore:
    """A state store on an empty database."""
    return open_store()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    """A fresh, empty store of each kind the project ships: the in-memory fake, SQLite, PostgreSQL."""
    if request.param == "memory":
        store: StateStore = InMemoryStateStore()
    elif request.param == "sqlite":
        store = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    else:
        store = open_state_store(str(request.getfixturevalue("postgres_url")))
    yield store
    store.close()


@pytest.fixture
def raw_engine(state_url: str) -> Iterator[Engine]:
    """A plain SQLAlchemy engine on the same database, to look behind the store's back."""
    if state_url.startswith("postgresql"):
        engine = create_engine(driver_url(state_url))
    else:
        Path(str(make_url(state_url).database)).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(state_url)
    yield engine
    engine.dispose()
