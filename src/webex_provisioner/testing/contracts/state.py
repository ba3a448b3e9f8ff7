"""``StateStoreContract``: every rule the ``StateStore`` port states, checked through the port.

Subclass it in a test module and override the ``store`` fixture to give a fresh, empty store of
your adapter (closing it afterwards)::

    class TestMyStore(StateStoreContract):
        @pytest.fixture
        def store(self) -> Iterator[StateStore]:
            with MyStore.temporary() as store:
                yield store

The tests use real time only for the lock's expiry (short ttls, short waits) and touch nothing
but the port. Some tests use threads on one store (a store is shared by the engine's threads).
"""

from __future__ import annotations

import pytest

from webex_provisioner.ports import StateStore
from webex_provisioner.testing.contracts.bookkeeping import BookkeepingContract
from webex_provisioner.testing.contracts.cycle_log import CycleLogContract
from webex_provisioner.testing.contracts.drift_verified import DriftBookkeepingContract
from webex_provisioner.testing.contracts.grants import GrantsContract
from webex_provisioner.testing.contracts.group_holds import GroupBookkeepingContract
from webex_provisioner.testing.contracts.groups import GroupLinksContract
from webex_provisioner.testing.contracts.lease import LeaseContract
from webex_provisioner.testing.contracts.license_holds import LicenseBookkeepingContract
from webex_provisioner.testing.contracts.links import LinkStoreContract
from webex_provisioner.testing.contracts.notifications import NotificationBookkeepingContract


class StateStoreContract(
    LinkStoreContract,
    GroupLinksContract,
    GrantsContract,
    CycleLogContract,
    LeaseContract,
    BookkeepingContract,
    GroupBookkeepingContract,
    LicenseBookkeepingContract,
    NotificationBookkeepingContract,
    DriftBookkeepingContract,
):
    """The contract of ``StateStore``: its links of users and groups, licence grants, cycle log,
    lease, bookkeeping (licences' included), the notifications' bookkeeping and what the drift
    checks verified."""

    @pytest.fixture
    def store(self) -> StateStore:
        """A fresh, empty store of the adapter under test: override this fixture."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the 'store' fixture to give a fresh, empty StateStore"
        )
