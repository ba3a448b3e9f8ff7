"""Builders of links, audit entries and records for the state store tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, Engine, bindparam, event, inspect, text

from webex_provisioner.model import AuditEntry, Link, Outcome
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record
from webex_provisioner.state import SqlStateStore
from webex_provisioner.state.migrations import alembic_config
from webex_provisioner.state.schema import UtcDateTime

OpenStore = Callable[[], SqlStateStore]

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def link(n: int | str, **changes: object) -> Link:
    base = Link(
        anchor=f"anchor-{n}",
        webex_id=f"webex-{n}",
        email=f"User{n}@Example.com",
        dn=f"uid=user{n},ou=People,dc=example,dc=com",
        applied={"email": f"user{n}@example.com", "firstName": f"First{n}"},
    )
    made = replace(base, **changes)  # type: ignore[arg-type]
    # the store keeps the fingerprint of what was applied, whatever the link said
    return replace(made, fingerprint=fingerprint(made.applied))


def entry(anchor: str, *, at: datetime = T0, action: str = "create", **changes: object) -> AuditEntry:
    base = AuditEntry(
        cycle_id="cycle-1",
        time=at,
        anchor=anchor,
        email=f"{anchor}@example.com",
        action=action,
        reason="entered_scope",
        outcome=Outcome.APPLIED,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def save(item: Link, *, at: datetime = T0) -> Record:
    return Record(audit=entry(item.anchor, at=at, webex_id=item.webex_id), save_link=item)


def drop(anchor: str, *, at: datetime = T0) -> Record:
    return Record(audit=entry(anchor, at=at, action="delete"), drop_link=anchor)


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fill_links(engine: Engine, count: int) -> None:
    """Insert ``count`` links straight into the table (much faster than ``record`` for big counts)."""
    statement = text(
        """
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)
        INSERT INTO links (anchor, webex_id, email, email_lower, dn, dn_lower, state, applied,
                           fingerprint, created_at, updated_at)
        SELECT 'bulk-' || i, 'webex-bulk-' || i, 'bulk' || i || '@example.com', 'bulk' || i || '@example.com',
               'uid=bulk' || i || ',dc=example', 'uid=bulk' || i || ',dc=example', 'active',
               '{"email": "bulk@example.com", "department": "A fairly long department name"}',
               'fp', :at, :at
        FROM n
        """
    ).bindparams(bindparam("at", type_=UtcDateTime()), bindparam("count"))
    with engine.begin() as conn:
        conn.execute(statement, {"count": count, "at": T0})


NOBODY = 65534


def as_unprivileged(function: Callable[[], str]) -> str:
    """``function()`` run as an unprivileged user: in a forked child as ``nobody`` when we are root
    (root may write any file, so permissions only mean something without it)."""
    if os.geteuid() != 0:
        return function()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = function()
        except BaseException as exc:
            result = f"unexpected {type(exc).__name__}: {exc}"
        os.write(write_fd, result.encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def give_to_unprivileged(path: Path, mode: int) -> None:
    """Make ``path`` belong to the user ``as_unprivileged`` runs as, with ``mode``."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    path.chmod(mode)


def fill_group_links(engine: Engine, groups: int, members: int) -> None:
    """Insert ``groups`` group links (``bulk-group-N``) of ``members`` members each straight into
    the tables; the members are taken from 20,000 user anchors, so users share groups."""
    links = text(
        """
        WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :groups)
        INSERT INTO group_links (anchor, webex_id, name, name_lower, dn, dn_lower, created_at, updated_at)
        SELECT 'bulk-group-' || i, 'webex-group-' || i, 'Group ' || i, 'group ' || i,
               'cn=group' || i || ',ou=groups,dc=example', 'cn=group' || i || ',ou=groups,dc=example',
               :at, :at
        FROM g
        """
    ).bindparams(bindparam("at", type_=UtcDateTime()), bindparam("groups"))
    member_rows = text(
        """
        WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :groups),
                       m(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM m WHERE j < :members)
        INSERT INTO group_members (group_anchor, user_anchor)
        SELECT 'bulk-group-' || i, 'bulk-' || ((i * 37 + j) % 20000) FROM g, m
        """
    )
    with engine.begin() as conn:
        conn.execute(links, {"groups": groups, "at": T0})
        conn.execute(member_rows, {"groups": groups, "members": members})


@contextmanager
def statements(store: SqlStateStore) -> Iterator[list[tuple[str, int]]]:
    """The statements ``store`` sends meanwhile, each with how many rows it carried: its
    parameter sets, or the pairs of the JSON array of pairs it was given."""
    sent: list[tuple[str, int]] = []

    def seen(conn: object, cursor: object, sql: str, params: Any, context: object, many: bool) -> None:
        values = [] if many else params.values() if isinstance(params, dict) else params
        pairs = [json.loads(v) for v in values if isinstance(v, str) and v.startswith("[[")]
        rows = len(params) if many else len(pairs[0]) if pairs else 1
        sent.append((" ".join(sql.split()), rows))

    engine = store._engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database to schema ``revision``, as alembic does."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def insert_link_a1(conn: Connection) -> None:
    """Insert the link of anchor ``a1`` to Webex user ``w1`` straight into ``links``, as any
    revision from 0003 on keeps it, created at ``T0``."""
    conn.execute(
        text(
            "INSERT INTO links (anchor, webex_id, email, email_lower, dn, dn_lower, state, applied, "
            "fingerprint, created_at, updated_at) VALUES ('a1', 'w1', 'a@x', 'a@x', 'uid=a', 'uid=a', "
            "'active', '{}', 'fp', :t, :t)"
        ),
        {"t": T0.replace(tzinfo=None) if conn.dialect.name == "sqlite" else T0},
    )


def table_shapes(engine: Engine) -> dict[str, tuple[object, ...]]:
    """Every table's columns (name, type, nullable), primary key and indexes, as the database
    reports them (to compare a schema before an upgrade and after its downgrade)."""
    found = inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
            found.get_pk_constraint(table),
            found.get_indexes(table),
        )
        for table in sorted(found.get_table_names())
    }
