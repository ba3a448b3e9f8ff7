"""What only the in-memory fake does, beyond the contract: it is safe to share between threads,
and it says it is the in-memory state when it refuses something."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from tests.state.state_helpers import link, save
from webex_provisioner.errors import StateError
from webex_provisioner.testing.state import InMemoryStateStore


@pytest.fixture
def eager_thread_switches() -> Iterator[None]:
    """Threads switch as often as the interpreter allows, so that an unguarded store would race."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _in_threads(count: int, work: object) -> None:
    assert callable(work)
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


@pytest.mark.usefixtures("eager_thread_switches")
def test_records_from_many_threads_are_all_kept() -> None:
    """Eight threads recording 200 links each lose none of them and none of their audit entries."""
    store = InMemoryStateStore()

    _in_threads(8, lambda t: [store.record([save(link(f"{t}-{n}"))]) for n in range(200)])

    assert store.count_links() == 1600
    assert len(store.audit(limit=10_000)) == 1600


@pytest.mark.usefixtures("eager_thread_switches")
def test_threads_racing_for_one_webex_id_leave_it_linked_once() -> None:
    """Eight threads linking eight anchors to one Webex user: one succeeds, seven are refused
    (in each of 30 races)."""
    outcomes = []
    for _ in range(30):
        store = InMemoryStateStore()
        refused: list[str] = []

        def claim(index: int, store: InMemoryStateStore = store, refused: list[str] = refused) -> None:
            try:
                store.record([save(link(index, webex_id="shared"))])
            except StateError as exc:
                refused.append(exc.message)

        _in_threads(8, claim)
        outcomes.append((len(refused), [x.webex_id for x in store.links()]))

    assert outcomes == [(7, ["shared"])] * 30


def test_a_refusal_names_the_in_memory_state() -> None:
    """The fake's refusal says which state refused, both anchors, and how to remove the wrong link."""
    store = InMemoryStateStore()
    store.record([save(link(1))])

    with pytest.raises(StateError) as raised:
        store.record([save(link(2, webex_id="webex-1"))])

    assert raised.value.message == (
        "in-memory state: refusing to link anchor anchor-2 to Webex user webex-1, which is linked to "
        "anchor anchor-1; nothing of this batch of 1 record(s) was written. If the link of anchor-1 "
        "is wrong, remove it with `webex-provisioner users forget anchor-1`"
    )


def test_links_are_read_as_they_were_when_asked() -> None:
    """``links()`` lists the links stored when it was called; a later record does not change it."""
    store = InMemoryStateStore()
    store.record([save(link(1))])

    stream = store.links()
    store.record([save(link(2))])

    assert [x.anchor for x in stream] == ["anchor-1"]
