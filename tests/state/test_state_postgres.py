"""What only the PostgreSQL adapter does: URLs, the driver, and never showing the password."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy.engine import make_url

from webex_provisioner.errors import StateError
from webex_provisioner.state import PostgresStateStore, open_state_store
from webex_provisioner.state.postgres import driver_url

SECRET = "s3cr3t-Pa55word"


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:p@db.example.com/state",
        "postgres://u:p@db.example.com/state",
        "postgresql+psycopg://u@h/s",
    ],
)
def test_postgresql_urls_get_the_psycopg_driver(url: str) -> None:
    """postgresql://, postgres:// and postgresql+psycopg:// URLs all use psycopg 3."""
    assert driver_url(url).drivername == "postgresql+psycopg"


def test_a_non_postgresql_url_is_refused_by_the_adapter() -> None:
    """PostgresStateStore refuses a URL of another database, masking its password."""
    with pytest.raises(StateError, match=r"is not a PostgreSQL URL") as raised:
        PostgresStateStore(f"mysql://u:{SECRET}@h/db")

    assert SECRET not in raised.value.message


def test_an_unreachable_server_gives_a_masked_retryable_error() -> None:
    """A server that cannot be reached gives a retryable StateError that hides the password."""
    url = f"postgresql://webex:{SECRET}@127.0.0.1:{_closed_port()}/state"

    with pytest.raises(StateError) as raised:
        PostgresStateStore(url, connect_timeout=3)

    message = raised.value.message
    assert SECRET not in message and SECRET not in repr(raised.value)
    assert f"postgresql://webex:***@127.0.0.1:{make_url(url).port}/state" in message
    assert "Check that the PostgreSQL server is running and reachable" in message
    assert raised.value.retryable


@pytest.mark.postgresql
def test_repr_and_url_never_show_the_password(postgres_url: str) -> None:
    """A store's repr() and url mask the password of its URL."""
    url = make_url(postgres_url).set(password=SECRET).render_as_string(hide_password=False)

    with PostgresStateStore(url) as store:
        assert SECRET not in repr(store) and SECRET not in store.url
        assert ":***@" in repr(store)


@pytest.mark.postgresql
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_open_state_store_opens_postgresql_urls(postgres_url: str, scheme: str) -> None:
    """open_state_store gives a PostgresStateStore for postgresql:// and postgres:// URLs."""
    url = scheme + postgres_url.removeprefix("postgresql")

    store = open_state_store(url)
    store.close()

    assert isinstance(store, PostgresStateStore)


@pytest.mark.postgresql
def test_a_missing_database_names_the_fix(postgres_url: str) -> None:
    """A database that does not exist gives a StateError telling to check the names in state:."""
    url = make_url(postgres_url).set(database="no_such_database").render_as_string(hide_password=False)

    with pytest.raises(StateError, match=r'database "no_such_database" does not exist') as raised:
        PostgresStateStore(url)

    assert "check the user and database names in state:" in raised.value.message.lower()
    assert not raised.value.retryable
