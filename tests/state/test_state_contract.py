"""The StateStore contract (``webex_provisioner.testing.contracts``) on every store the project
ships: the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.state.state_helpers import OpenStore
from webex_provisioner.ports import StateStore
from webex_provisioner.testing.contracts.state import StateStoreContract
from webex_provisioner.testing.state import InMemoryStateStore


class TestInMemoryStateStore(StateStoreContract):
    """The contract on the fake."""

    @pytest.fixture
    def store(self) -> Iterator[StateStore]:
        store = InMemoryStateStore()
        yield store
        store.close()


class TestSqlStateStore(StateStoreContract):
    """The contract on SQLite and on PostgreSQL (``open_store`` is parametrized over both)."""

    @pytest.fixture
    def store(self, open_store: OpenStore) -> StateStore:
        return open_store()
