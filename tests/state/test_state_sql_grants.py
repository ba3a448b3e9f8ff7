"""What only the SQL stores do for licences, beyond the contract: grants kept as typed rows, one per
(anchor, licence); a batch's grants written in one transaction with a statement per kind of write
whatever its size; refusals naming the database. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, text

from tests.state.state_helpers import T0, statements
from webex_provisioner.errors import StateError
from webex_provisioner.model import Grant
from webex_provisioner.ports import Record
from webex_provisioner.state import SqlStateStore, mask_url
from webex_provisioner.testing.contracts.samples import drop, entry, grant, link, save_grants


@contextmanager
def transactions(store: SqlStateStore) -> Iterator[list[str]]:
    """The transactions ``store`` begins and ends meanwhile (``begin``, ``commit``, ``rollback``)."""
    seen: list[str] = []
    handlers = {name: (lambda conn, name=name: seen.append(name)) for name in ("begin", "commit", "rollback")}
    for name, handler in handlers.items():
        event.listen(store._engine, name, handler)
    try:
        yield seen
    finally:
        for name, handler in handlers.items():
            event.remove(store._engine, name, handler)


def _grant_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        query = "SELECT anchor, license_id, ours, since FROM license_grants ORDER BY anchor, license_id"
        return [tuple(row) for row in conn.execute(text(query))]


def test_grants_are_typed_rows_one_per_anchor_and_licence(store: SqlStateStore, raw_engine: Engine) -> None:
    """A grant is one row of ``license_grants`` with a boolean ``ours`` and a time (no JSON),
    replaced in place when saved again; a dropped link leaves no row of its anchor."""
    store.record(
        [save_grants(grant(1, "lic-a", ours=False), grant(1, "lic-b")), save_grants(grant(2, "lic-a"))]
    )
    store.record([save_grants(grant(1, "lic-a", since=None)), drop("anchor-2")])

    rows = _grant_rows(raw_engine)

    assert [(anchor, lid, bool(ours), since is None) for anchor, lid, ours, since in rows] == [
        ("anchor-1", "lic-a", True, True),
        ("anchor-1", "lic-b", True, False),
    ]


def test_a_batch_of_1000_records_writes_its_grants_in_one_transaction_and_few_statements(
    store: SqlStateStore,
) -> None:
    """1,000 records saving a link and two grants each, and dropping 100 links, are one
    transaction: the grants are cleared in one statement, saved in one (2,000 rows), and never a
    statement per record."""
    store.record([save_grants(grant(n, "lic-old"), save_link=link(n)) for n in range(100)])
    batch = [
        save_grants(grant(n, "lic-a"), grant(n, "lic-b", ours=False), save_link=link(n))
        for n in range(100, 1100)
    ]
    batch += [drop(f"anchor-{n}") for n in range(100)]

    with transactions(store) as seen, statements(store) as sent:
        store.record(batch)

    grant_writes = [(sql.split()[0], rows) for sql, rows in sent if "license_grants" in sql]
    assert seen == ["begin", "commit"]
    assert grant_writes == [("DELETE", 100), ("INSERT", 2000)]
    assert len(list(store.grants())) == 2000
    assert store.grants_of("anchor-0") == []


def test_grants_stream_by_anchor_then_licence(store: SqlStateStore) -> None:
    """``grants()`` reads 3,000 grants in one query, by anchor then licence id, their times in UTC."""
    store.record(
        Record(
            entry(f"anchor-{n:04}"),
            save_grants=tuple(Grant(f"anchor-{n:04}", f"lic-{k}", k == 1, T0) for k in (2, 1, 0)),
        )
        for n in range(1000)
    )

    with statements(store) as sent:
        got = list(store.grants())

    assert len([sql for sql, _ in sent if sql.startswith("SELECT")]) == 1
    assert [(g.anchor, g.license_id) for g in got] == [
        (f"anchor-{n:04}", f"lic-{k}") for n in range(1000) for k in (0, 1, 2)
    ]
    assert {g.since for g in got} == {T0} and [g.ours for g in got[:3]] == [False, True, False]


def test_a_refused_grant_names_the_database_and_the_user(store: SqlStateStore, state_url: str) -> None:
    """A grant the state cannot keep is refused before anything is sent, naming the database
    (password masked), the licence id (escaped, shortened), the user's anchor and what to do."""
    with statements(store) as sent, pytest.raises(StateError) as raised:
        store.record([save_grants(grant(1, "\x1b[2J" + "L" * 300))])

    assert raised.value.message == (
        f"state database {mask_url(state_url)}: could not record 1 action result(s): the licence id "
        f"'\\x1b[2J{'L' * 36}'… of anchor 'anchor-1' is 304 characters long, more than the 255 the "
        "state keeps; nothing was written. It came from the directory or from Webex: correct it "
        "there, or report it if it looks right"
    )
    assert sent == []
