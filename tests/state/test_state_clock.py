"""What the project's stores add to the port: an explicit ``now`` for the lock and the instances
(so that expiry is tested without waiting), and the order of the standby instances. On the fake,
SQLite and PostgreSQL alike."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.state.state_helpers import T0, later
from webex_provisioner.errors import StateError
from webex_provisioner.model import InstanceRecord
from webex_provisioner.ports import StateStore
from webex_provisioner.state import SqlStateStore
from webex_provisioner.testing.state import InMemoryStateStore

Clocked = InMemoryStateStore | SqlStateStore


def _clocked(store: StateStore) -> Clocked:
    assert isinstance(store, InMemoryStateStore | SqlStateStore)
    return store


def test_lock_is_taken_renewed_and_refused_at_given_times(any_store: StateStore) -> None:
    """At explicit times: a free lock is taken, renewed by its owner until the renewal's expiry,
    refused to another owner before it."""
    store = _clocked(any_store)
    assert store.lock_owner(now=T0) is None
    assert store.acquire_lock("node-a", 30, now=T0)
    assert store.acquire_lock("node-a", 30, now=later(20))  # renewed until T0 + 50 s
    assert not store.acquire_lock("node-b", 30, now=later(40))

    assert store.lock_owner(now=later(40)) == "node-a"
    assert store.lock_owner(now=later(50)) is None


def test_expired_lock_is_free_for_another_owner_at_a_given_time(any_store: StateStore) -> None:
    """A lock past its ttl at ``now`` has no owner and can be taken by someone else."""
    store = _clocked(any_store)
    assert store.acquire_lock("node-a", 10, now=T0)

    assert store.lock_owner(now=later(11)) is None
    assert store.acquire_lock("node-b", 10, now=later(11))
    assert store.lock_owner(now=later(12)) == "node-b"


def test_a_naive_now_is_refused(any_store: StateStore) -> None:
    """A naive ``now`` (its instant unknown) is refused with ``StateError``, as any naive datetime."""
    store = _clocked(any_store)

    with pytest.raises(StateError, match="naive datetime"):
        store.acquire_lock("node-a", 10, now=T0.replace(tzinfo=None))


def test_instances_at_a_given_time_active_first_then_by_start(any_store: StateStore) -> None:
    """Instances seen within the age at ``now`` are listed, the active one first, the standbys by
    start; a repeated announce refreshes; a forgotten one is gone."""
    store = _clocked(any_store)
    now = T0 + timedelta(hours=1)
    standby = InstanceRecord("b:2", "b", 2, "standby", T0, T0, now)
    active = InstanceRecord("a:1", "a", 1, "active", T0 + timedelta(minutes=5), T0, now)
    stale = InstanceRecord("c:3", "c", 3, "standby", T0, T0, now - timedelta(minutes=10))
    for instance in (standby, active, stale):
        store.announce(instance)
    assert [i.name for i in store.instances(60, now=now)] == ["a:1", "b:2"]

    store.announce(replace(standby, role="active", role_since=now, last_seen=now))
    store.announce(replace(active, role="standby", role_since=now, last_seen=now))
    assert [(i.name, i.role) for i in store.instances(60, now=now)] == [("b:2", "active"), ("a:1", "standby")]

    store.forget_instance("b:2")
    assert [i.name for i in store.instances(3600, now=now)] == ["c:3", "a:1"]  # standbys by start
