"""The ``Lease`` part of the state contract: the cycle lock and the announced instances.

Expiry is checked against the real clock, with short ttls and waits well past them, because the
port takes no clock; a lock that must still be alive is given a minute.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from webex_provisioner.model import InstanceRecord
from webex_provisioner.ports import StateStore

SHORT_TTL = 0.2
PAST_SHORT_TTL = 0.5


class LeaseContract:
    """One owner at a time holds the lock, until it releases it or lets it expire."""

    def test_a_free_lock_is_taken_renewed_by_its_owner_and_refused_to_others(self, store: StateStore) -> None:
        """A free lock is taken; its owner may take it again (renew); another owner is refused
        while it lives, and ``lock_owner`` names the holder."""
        assert store.lock_owner() is None
        assert store.acquire_lock("node-a", 60)
        assert store.acquire_lock("node-a", 60)
        assert not store.acquire_lock("node-b", 60)

        assert store.lock_owner() == "node-a"

    def test_an_expired_lock_has_no_owner_and_is_free_for_another(self, store: StateStore) -> None:
        """A lock past its ttl has no owner, and another owner can take it."""
        assert store.acquire_lock("node-a", SHORT_TTL)
        time.sleep(PAST_SHORT_TTL)

        assert store.lock_owner() is None
        assert store.acquire_lock("node-b", 60)
        assert store.lock_owner() == "node-b"

    def test_renewing_extends_the_lock(self, store: StateStore) -> None:
        """A renewal sets a new expiry: the lock outlives the ttl it was first taken with."""
        assert store.acquire_lock("node-a", SHORT_TTL)
        assert store.acquire_lock("node-a", 60)
        time.sleep(PAST_SHORT_TTL)

        assert not store.acquire_lock("node-b", 60)
        assert store.lock_owner() == "node-a"

    def test_release_frees_only_ones_own_lock(self, store: StateStore) -> None:
        """``release_lock`` by another owner leaves the lock alone; by its owner frees it."""
        assert store.acquire_lock("node-a", 60)
        store.release_lock("node-b")
        assert store.lock_owner() == "node-a"

        store.release_lock("node-a")
        assert store.lock_owner() is None
        assert store.acquire_lock("node-b", 60)

    @pytest.mark.parametrize("ttl", [0, -1])
    def test_the_ttl_must_be_positive(self, store: StateStore, ttl: float) -> None:
        """``acquire_lock`` refuses a ttl that is zero or negative with ``ValueError``."""
        with pytest.raises(ValueError, match="ttl_seconds"):
            store.acquire_lock("node-a", ttl)
        assert store.lock_owner() is None

    def test_one_of_simultaneous_lock_attempts_wins(self, store: StateStore) -> None:
        """Eight threads racing for a free lock: exactly one gets it, and it is the owner."""
        start = threading.Barrier(8)
        results: dict[str, bool] = {}

        def contend(owner: str) -> None:
            start.wait()
            results[owner] = store.acquire_lock(owner, 60)

        threads = [threading.Thread(target=contend, args=(f"node-{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        winners = [owner for owner, won in results.items() if won]
        assert len(results) == 8 and len(winners) == 1
        assert store.lock_owner() == winners[0]

    def test_instances_are_announced_refreshed_aged_out_and_forgotten(self, store: StateStore) -> None:
        """Instances seen within the age are listed, the active one first; announcing again
        refreshes an instance (its role too); stale and forgotten ones are not listed."""
        now = datetime.now(UTC)
        start = now - timedelta(hours=1)
        standby = InstanceRecord("b:2", "b", 2, "standby", start, start, now)
        active = InstanceRecord("a:1", "a", 1, "active", start + timedelta(minutes=5), start, now)
        stale = InstanceRecord("c:3", "c", 3, "standby", start, start, now - timedelta(minutes=10))
        for instance in (standby, active, stale):
            store.announce(instance)
        assert [i.name for i in store.instances(60)] == ["a:1", "b:2"]
        assert store.instances(60)[0] == active

        store.announce(replace(standby, role="active", role_since=now))
        store.announce(replace(active, role="standby", role_since=now))
        assert [(i.name, i.role) for i in store.instances(60)] == [("b:2", "active"), ("a:1", "standby")]

        store.forget_instance("b:2")
        assert sorted(i.name for i in store.instances(3600)) == ["a:1", "c:3"]
