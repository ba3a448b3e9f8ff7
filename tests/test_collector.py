"""The cyclic garbage collector is spaced out while a cycle runs, and restored afterwards."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.memory import YOUNG_THRESHOLD, spaced_collections
from webex_provisioner.model import DirectoryUser
from webex_provisioner.testing.directory import InMemoryDirectory


def test_thresholds_and_frozen_objects_come_back_after_the_block() -> None:
    """Inside, the young generation is collected every YOUNG_THRESHOLD allocations and what existed
    before is frozen; after (also when nested, also after an error), the settings are as before."""
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with pytest.raises(RuntimeError), spaced_collections():
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_freeze_count() > frozen
        with spaced_collections():
            assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])  # the inner block kept it
        raise RuntimeError("a cycle that failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_cyclic_garbage_made_inside_is_still_collected() -> None:
    """Spacing collections out delays cyclic garbage; it does not leak it."""

    class Node:
        def __init__(self) -> None:
            self.me = self

    with spaced_collections():
        for _ in range(1000):
            Node()
        assert gc.collect() >= 1000


def test_a_cycle_reads_the_directory_with_collections_spaced(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Cycle.run`` holds the spaced collector while it reads and plans."""
    seen: list[int] = []
    read_users = InMemoryDirectory.read_users

    def recording(self: InMemoryDirectory) -> Iterator[DirectoryUser]:
        seen.append(gc.get_threshold()[0])
        yield from read_users(self)

    monkeypatch.setattr(InMemoryDirectory, "read_users", recording)
    FakeWorld(person("ann"), person("bob")).sync()
    assert seen and all(threshold >= YOUNG_THRESHOLD for threshold in seen)
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD
