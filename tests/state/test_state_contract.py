"""The StateStore contract: every adapter (SQLite, PostgreSQL) passes these."""

from __future__ import annotations

import os
import threading
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

from tests.state.state_helpers import T0, OpenStore, drop, entry, fill_links, later, link, save
from webex_provisioner.errors import StateError
from webex_provisioner.model import (
    Action,
    ActionKind,
    Change,
    CycleKind,
    CycleRecord,
    InstanceRecord,
    LinkState,
    Outcome,
    Reason,
)
from webex_provisioner.ports import Record, StateStore
from webex_provisioner.state import SqlStateStore
from webex_provisioner.state.schema import audit as audit_table
from webex_provisioner.state.schema import links as links_table

# -- links ---------------------------------------------------------------------------------------


def test_store_satisfies_the_port(store: SqlStateStore) -> None:
    """A store is usable wherever the engine expects the StateStore port."""
    port: StateStore = store
    assert port.get_link("nobody") is None


def test_saved_link_reads_back_with_every_field(store: SqlStateStore) -> None:
    """A link saved by record() reads back equal, its datetimes timezone-aware in UTC."""
    paris = timezone(timedelta(hours=2))
    saved = link(
        1,
        state=LinkState.DISABLED,
        applied={"email": "a@example.com", "department": "Ünïcode ✓", "empty": ""},
        deprovisioned_at=datetime(2024, 4, 30, 14, 0, tzinfo=paris),
        deprovision_reason=Reason.LEFT_SCOPE,
        created_at=datetime(2023, 1, 1, tzinfo=UTC),
        last_error="HTTP 500 from Webex",
    )
    store.record([save(saved, at=later(5))])

    got = store.get_link(saved.anchor)

    assert got == replace(
        saved, deprovisioned_at=datetime(2024, 4, 30, 12, 0, tzinfo=UTC), updated_at=later(5)
    )
    assert got is not None and got.deprovisioned_at is not None and got.created_at is not None
    assert got.deprovisioned_at.tzinfo == UTC and got.created_at.tzinfo == UTC


def test_created_at_is_set_once_and_updated_at_follows_records(store: SqlStateStore) -> None:
    """created_at defaults to the first record's time and survives updates; updated_at moves on."""
    store.record([save(link(1), at=T0)])
    store.record([save(link(1, email="new@example.com", created_at=None), at=later(60))])

    got = store.get_link("anchor-1")

    assert got is not None
    assert (got.email, got.created_at, got.updated_at) == ("new@example.com", T0, later(60))


def test_saving_a_link_again_updates_it_in_place(store: SqlStateStore) -> None:
    """Saving the same anchor replaces the stored link (also its lookup keys), never duplicates it."""
    store.record([save(link(1))])
    store.record([save(link(1, email="renamed@example.com", dn="uid=renamed,dc=example,dc=com"))])

    assert [x.email for x in store.links()] == ["renamed@example.com"]
    assert store.find_links("user1@example.com") == []
    assert [x.anchor for x in store.find_links("RENAMED@example.com")] == ["anchor-1"]


def test_drop_link_removes_the_link(store: SqlStateStore) -> None:
    """A record with drop_link deletes that anchor's link and leaves the others."""
    store.record([save(link(1)), save(link(2))])
    store.record([drop("anchor-1"), drop("never-linked")])

    assert store.get_link("anchor-1") is None
    assert [x.anchor for x in store.links()] == ["anchor-2"]


def test_webex_id_linked_to_another_anchor_is_refused_naming_both(store: SqlStateStore) -> None:
    """Saving a link to a Webex user already linked elsewhere raises StateError naming both anchors."""
    store.record([save(link(1))])

    with pytest.raises(StateError) as raised:
        store.record([save(link(2, webex_id="webex-1"))])

    assert "anchor-2" in raised.value.message and "anchor-1" in raised.value.message
    assert "webex-1" in raised.value.message
    assert store.get_link("anchor-1") == replace(link(1), created_at=T0, updated_at=T0)
    assert store.get_link("anchor-2") is None


def test_a_refused_batch_writes_nothing(store: SqlStateStore) -> None:
    """When one record of a batch is refused, none of the batch's audit entries or links is written."""
    store.record([save(link(1))])
    batch = [save(link(10)), drop("anchor-1"), save(link(11)), save(link(12, webex_id="webex-10"))]

    with pytest.raises(StateError, match="anchor-12"):
        store.record(batch)

    assert [x.anchor for x in store.links()] == ["anchor-1"]
    assert len(store.audit(limit=100)) == 1


def test_two_anchors_taking_one_webex_id_in_a_batch_are_refused(store: SqlStateStore) -> None:
    """Two saves in the same batch giving one Webex user to two anchors are refused."""
    with pytest.raises(StateError, match=r"anchor-2.*anchor-1"):
        store.record([save(link(1, webex_id="shared")), save(link(2, webex_id="shared"))])

    assert list(store.links()) == []


def test_a_batch_applies_in_order_so_a_freed_webex_id_can_be_reused(store: SqlStateStore) -> None:
    """Records apply in order: a Webex id released earlier in the batch may be linked later in it."""
    store.record([save(link(1)), save(link(3))])

    store.record(
        [
            save(link(1, webex_id="webex-1b")),  # anchor-1 moves off webex-1 ...
            save(link(2, webex_id="webex-1")),  # ... so anchor-2 may take it
            Record(audit=entry("anchor-4"), drop_link="anchor-3", save_link=link(4, webex_id="webex-3")),
        ]
    )

    assert {x.anchor: x.webex_id for x in store.links()} == {
        "anchor-1": "webex-1b",
        "anchor-2": "webex-1",
        "anchor-4": "webex-3",
    }


def test_record_accepts_any_iterable_and_an_empty_one(store: SqlStateStore) -> None:
    """record() takes a generator, and an empty batch writes nothing."""
    store.record([])
    store.record(save(link(n)) for n in range(3))

    assert len(list(store.links())) == 3
    assert len(store.audit()) == 3


def test_find_links_matches_anchor_webex_id_email_and_dn(store: SqlStateStore) -> None:
    """find_links matches the anchor, the Webex id, the e-mail and the DN (both case-insensitively)."""
    store.record([save(link(1)), save(link(2))])

    for key in (
        "anchor-1",
        "webex-1",
        "user1@example.com",
        "  USER1@EXAMPLE.COM ",
        "UID=User1,OU=People,DC=Example,DC=Com",
        "uid=user1, ou=People, dc=example, dc=com",
    ):
        assert [x.anchor for x in store.find_links(key)] == ["anchor-1"], key
    assert store.find_links("nobody@example.com") == []
    assert store.find_links("ANCHOR-1") == []  # anchors and ids are exact


def test_links_yields_every_link_by_anchor(store: SqlStateStore) -> None:
    """links() yields every stored link, ordered by anchor."""
    store.record([save(link(n)) for n in (3, 1, 2)])

    assert [x.anchor for x in store.links()] == ["anchor-1", "anchor-2", "anchor-3"]


def test_count_links_counts_every_stored_link(store: SqlStateStore) -> None:
    """count_links() is the number of links, without reading them."""
    assert store.count_links() == 0
    store.record([save(link(n)) for n in (3, 1, 2)])
    assert store.count_links() == 3


def test_reading_links_does_not_block_writers(open_store: OpenStore) -> None:
    """While one instance streams the links, another can still record (and the stream finishes)."""
    reader, writer = open_store(), open_store()
    reader.record([save(link(n)) for n in range(5)])

    stream = reader.links()
    first = next(stream)
    writer.record([save(link(99))])
    rest = list(stream)

    assert first.anchor == "anchor-0"
    assert len(rest) in (4, 5)  # the new link may or may not be visible to the running read
    assert reader.get_link("anchor-99") is not None


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_links_streams_100k_links_with_modest_memory(store: SqlStateStore, raw_engine: Engine) -> None:
    """links() streams: 100,000 links go through with a few MB, never the whole table in memory."""
    fill_links(raw_engine, 100_000)

    stream = store.links()
    resident_before = _resident_bytes()
    tracemalloc.start()  # Python objects; the resident size also catches a driver's C buffers
    try:
        head = [next(stream).anchor for _ in range(3000)]
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    resident_growth = _resident_bytes() - resident_before
    count = len(head) + sum(1 for _ in stream)

    assert count == 100_000
    assert python_peak < 8_000_000, f"reading 3,000 of 100,000 links took {python_peak / 1e6:.1f} MB"
    assert resident_growth < 20_000_000, (
        f"reading 3,000 links grew the process by {resident_growth / 1e6:.0f} MB"
    )


# -- cycles and audit ----------------------------------------------------------------------------


def test_cycles_round_trip_newest_first(store: SqlStateStore) -> None:
    """A cycle started then finished reads back finished; cycles() lists newest first, up to limit."""
    first = CycleRecord(id="c1", kind=CycleKind.FULL, started_at=T0)
    second = CycleRecord(id="c2", kind=CycleKind.INCREMENTAL, started_at=later(60))
    store.start_cycle(first)
    store.start_cycle(second)
    done = replace(
        first, finished_at=later(30), outcome="done", counts={"create": 2, "update": 1}, detail="ok"
    )
    store.finish_cycle(done)

    assert store.cycles() == [second, done]
    assert store.cycles(limit=1) == [second]


def test_finishing_an_unstarted_cycle_records_it(store: SqlStateStore) -> None:
    """finish_cycle stores the cycle even when start_cycle was never called for it."""
    cycle = CycleRecord(id="c9", kind=CycleKind.USER, started_at=T0, finished_at=later(1), outcome="failed")
    store.finish_cycle(cycle)

    assert store.cycles() == [cycle]


def test_audit_lists_newest_first_per_anchor_and_limited(store: SqlStateStore) -> None:
    """audit() returns entries newest first, filtered by anchor when asked, at most limit."""
    failed = entry("anchor-2", at=later(2), outcome=Outcome.FAILED, detail="HTTP 400", webex_id=None)
    store.record([Record(entry("anchor-1", at=later(1))), Record(failed)])
    store.record([Record(entry("anchor-1", at=later(3), action="update"))])

    assert [(e.anchor, e.action) for e in store.audit()] == [
        ("anchor-1", "update"),
        ("anchor-2", "create"),
        ("anchor-1", "create"),
    ]
    assert store.audit(anchor="anchor-2") == [failed]
    assert [e.time for e in store.audit(anchor="anchor-1", limit=1)] == [later(3)]


# -- watermarks and held actions -----------------------------------------------------------------


def test_watermarks_are_set_replaced_and_cleared(store: SqlStateStore) -> None:
    """A watermark reads back what was last set; setting None removes it; names are independent."""
    assert store.get_watermark("usn") is None
    store.set_watermark("usn", "100")
    store.set_watermark("usn", "250")
    store.set_watermark("cookie", "rid=000,csn=x")

    assert store.get_watermark("usn") == "250"
    store.set_watermark("usn", None)
    assert store.get_watermark("usn") is None
    assert store.get_watermark("cookie") == "rid=000,csn=x"


def test_held_actions_round_trip_exactly_and_in_order(store: SqlStateStore) -> None:
    """hold() then held() gives back the same actions, in the same order."""
    actions = [
        Action(ActionKind.DISABLE, Reason.LEFT_SCOPE, "a2", "b@example.com", "uid=b", "w2", active=False),
        Action(
            ActionKind.UPDATE,
            Reason.ATTRIBUTES_CHANGED,
            "a1",
            "a@example.com",
            webex_id="w1",
            changes=(Change("department", "Sales", None), Change("title", None, "Chef ✓")),
            detail="two changes",
        ),
        Action(
            ActionKind.CREATE, Reason.ENTERED_SCOPE, "a3", "c@example.com", desired={"email": "c@x", "x": ""}
        ),
    ]
    store.hold(actions, "cycle-1")

    assert store.held() == actions


def test_hold_replaces_the_held_actions(store: SqlStateStore) -> None:
    """Each hold() replaces the previous set; holding nothing clears it."""
    first = Action(ActionKind.DELETE, Reason.DELETED_IN_DIRECTORY, "a1", "a@example.com", webex_id="w1")
    second = Action(ActionKind.DISABLE, Reason.DISABLED_IN_DIRECTORY, "a2", "b@example.com", webex_id="w2")
    store.hold([first], "cycle-1")
    store.hold([second], "cycle-2")
    assert store.held() == [second]

    store.hold([], "cycle-3")
    assert store.held() == []


# -- the cycle lock ------------------------------------------------------------------------------


def test_lock_is_taken_renewed_and_refused_to_others(store: SqlStateStore) -> None:
    """A free lock is taken; its owner may renew it; another owner is refused while it lives."""
    assert store.lock_owner() is None
    assert store.acquire_lock("node-a", 30, now=T0)
    assert store.acquire_lock("node-a", 30, now=later(20))  # renewed until T0 + 50 s
    assert not store.acquire_lock("node-b", 30, now=later(40))

    assert store.lock_owner(now=later(40)) == "node-a"


def test_expired_lock_is_free_for_another_owner(store: SqlStateStore) -> None:
    """A lock past its ttl has no owner and can be taken by someone else."""
    assert store.acquire_lock("node-a", 10, now=T0)

    assert store.lock_owner(now=later(11)) is None
    assert store.acquire_lock("node-b", 10, now=later(11))
    assert store.lock_owner(now=later(12)) == "node-b"


def test_release_only_releases_ones_own_lock(store: SqlStateStore) -> None:
    """release_lock by another owner leaves the lock; by its owner frees it."""
    assert store.acquire_lock("node-a", 60)
    store.release_lock("node-b")
    assert store.lock_owner() == "node-a"

    store.release_lock("node-a")
    assert store.lock_owner() is None
    assert store.acquire_lock("node-b", 60)


def test_lock_contention_between_two_instances(open_store: OpenStore) -> None:
    """Two store instances on one database see one lock: the second is refused and sees the first."""
    first, second = open_store(), open_store()

    assert first.acquire_lock("node-a", 60)
    assert not second.acquire_lock("node-b", 60)
    assert second.lock_owner() == "node-a"


def test_simultaneous_lock_attempts_have_exactly_one_winner(open_store: OpenStore) -> None:
    """Eight instances racing for a free lock: exactly one gets it."""
    stores = [open_store() for _ in range(8)]
    start = threading.Barrier(len(stores))
    results: dict[str, bool] = {}

    def contend(index: int) -> None:
        start.wait()
        results[f"node-{index}"] = stores[index].acquire_lock(f"node-{index}", 60)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [owner for owner, won in results.items() if won]
    assert len(results) == 8 and len(winners) == 1
    assert stores[0].lock_owner() == winners[0]


def test_lock_ttl_must_be_positive(store: SqlStateStore) -> None:
    """acquire_lock refuses a ttl that is zero or negative."""
    with pytest.raises(ValueError, match="ttl_seconds"):
        store.acquire_lock("node-a", 0)


# -- values and errors ---------------------------------------------------------------------------


def test_naive_datetime_is_refused_with_state_error(store: SqlStateStore) -> None:
    """A naive datetime cannot be stored (its instant is unknown): StateError, nothing written."""
    naive = datetime(2024, 5, 1, 12, 0)

    with pytest.raises(StateError, match="naive datetime"):
        store.record([Record(entry("anchor-1", at=naive))])

    assert store.audit() == []


def test_record_writes_audit_and_links_in_one_transaction(store: SqlStateStore, raw_engine: Engine) -> None:
    """After record() returns, its audit rows and links are committed (visible to another connection)."""
    store.record([save(link(1)), drop("anchor-1"), save(link(2))])

    with raw_engine.connect() as conn:
        audit_rows = conn.execute(select(func.count()).select_from(audit_table)).scalar()
        anchors = conn.execute(select(links_table.c.anchor)).scalars().all()
    assert (audit_rows, anchors) == (3, ["anchor-2"])


def test_instances_announce_refresh_and_age_out(store: SqlStateStore) -> None:
    """Announced instances are listed active first; a repeated announce refreshes; stale ones drop out."""
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
