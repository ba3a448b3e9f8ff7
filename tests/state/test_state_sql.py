"""What only the SQL stores do, beyond the contract: several instances on one database, streaming,
commits another connection sees, and the bookkeeping in typed tables. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import threading
import tracemalloc
from datetime import timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select, text

from tests.state.state_helpers import T0, OpenStore, drop, fill_links, link, save
from webex_provisioner.errors import StateError
from webex_provisioner.model import ActionKind, Problem, ProblemKind
from webex_provisioner.ports import StoredRefreshToken
from webex_provisioner.state import SqlStateStore, mask_url, schema


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


def test_lock_contention_between_two_instances(open_store: OpenStore) -> None:
    """Two store instances on one database see one lock: the second is refused and sees the first."""
    first, second = open_store(), open_store()

    assert first.acquire_lock("node-a", 60)
    assert not second.acquire_lock("node-b", 60)
    assert second.lock_owner() == "node-a"


def test_simultaneous_lock_attempts_of_eight_instances_have_one_winner(open_store: OpenStore) -> None:
    """Eight instances (each its own connections) racing for a free lock: exactly one gets it."""
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


def test_record_commits_audit_and_links_in_one_transaction(store: SqlStateStore, raw_engine: Engine) -> None:
    """After record() returns, its audit rows and links are committed (visible to another connection)."""
    store.record([save(link(1)), drop("anchor-1"), save(link(2))])

    with raw_engine.connect() as conn:
        audit_rows = conn.execute(select(func.count()).select_from(schema.audit)).scalar()
        anchors = conn.execute(select(schema.links.c.anchor)).scalars().all()
    assert (audit_rows, anchors) == (3, ["anchor-2"])


def test_a_refused_link_names_the_database(store: SqlStateStore, state_url: str) -> None:
    """The refusal of a Webex id linked to another anchor names the database (password masked)
    and how to remove the wrong link."""
    store.record([save(link(1))])

    with pytest.raises(StateError) as raised:
        store.record([save(link(2, webex_id="webex-1"))])

    assert raised.value.message.startswith(f"state database {mask_url(state_url)}: refusing to link")
    assert "webex-provisioner users forget anchor-1" in raised.value.message


def test_bookkeeping_lives_in_typed_tables_not_in_watermarks(
    store: SqlStateStore, raw_engine: Engine
) -> None:
    """Each kind of bookkeeping is rows of its own table (typed columns, positions in order), and
    nothing of it is a watermark row."""
    store.set_baseline("token-1")
    store.set_retry_anchors(["a2", "a1"])
    store.set_open_problems([Problem(ProblemKind.INVALID, "a1", "uid=a", None, "no e-mail")])
    store.set_approvals([("a3", ActionKind.DELETE)])
    stored_at = T0.astimezone(timezone(timedelta(hours=-5)))
    store.save_refresh_token(StoredRefreshToken("rotated-token", "sha-of-configured", stored_at))

    with raw_engine.connect() as conn:
        rows = {
            name: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1"))]  # noqa: S608
            for name in ("baseline", "retry_anchors", "open_problems", "approvals", "watermarks")
        }
        token = conn.execute(select(schema.refresh_tokens)).mappings().one()

    assert rows == {
        "baseline": [(1, "token-1")],
        "retry_anchors": [(0, "a2"), (1, "a1")],
        "open_problems": [(0, "invalid", "a1", "uid=a", None, "no e-mail", "user")],
        "approvals": [("a3", "delete")],
        "watermarks": [],
    }
    assert dict(token) == {
        "name": "webex.oauth",
        "value": "rotated-token",
        "replaces": "sha-of-configured",
        "stored_at": T0,
    }


def test_a_stored_value_this_version_does_not_know_is_a_state_error(
    store: SqlStateStore, raw_engine: Engine
) -> None:
    """An approval of a kind this version does not know (written by a newer one) gives a
    StateError naming the database and asking whether a newer version wrote it."""
    with raw_engine.begin() as conn:
        conn.execute(schema.approvals.insert().values(anchor="a1", kind="teleport"))

    with pytest.raises(StateError) as raised:
        store.approvals()

    assert raised.value.message.startswith(f"state database {store.url}: could not read the approved held")
    assert "written by a newer version?" in raised.value.message
