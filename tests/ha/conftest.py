"""The PostgreSQL fixtures of the state tests, shared with the high-availability tests."""

from tests.state.conftest import postgres_admin_url, postgres_database_url, postgres_url

__all__ = ["postgres_admin_url", "postgres_database_url", "postgres_url"]
