"""``SqlStateStore``: the whole ``StateStore`` port on SQLAlchemy Core, for SQLite and PostgreSQL.

The adapters (``SqliteStateStore``, ``PostgresStateStore``) only build the engine; everything the
port promises lives here, written once in portable SQL (``INSERT ... ON CONFLICT`` exists in both).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from webex_provisioner.errors import StateError, StateLockedError
from webex_provisioner.model import Action, AuditEntry, CycleRecord, InstanceRecord, Link
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.errors import WRITE_OPTION, mask_url, translating, url_password
from webex_provisioner.state.migrations import migrate
from webex_provisioner.state.schema import audit, cycles, held_actions, instances, links, locks, watermarks

CYCLE_LOCK = "cycle"
TRANSFER_TABLES = (links, cycles, audit, watermarks, held_actions)
STREAM_BATCH = 1000
_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


class SqlStateStore:
    """Links, cycles, the audit trail, watermarks, held actions and the cycle lock in SQL.

    Opening a store migrates its schema. Datetimes come back timezone-aware in UTC. The store
    maintains the links' timestamps: ``created_at`` is set by the first save (from the link when
    it has one, otherwise the record's time) and kept after; ``updated_at`` is the time of the
    record that last saved the link.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._where = mask_url(url)
        self._password = url_password(url)
        dialect = engine.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise StateError(f"the state database {self._where} uses {dialect}; use SQLite or PostgreSQL")
        self._upsert_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        try:
            _migrate_when_free(engine, self._where)
        except BaseException:
            engine.dispose()
            raise

    @property
    def url(self) -> str:
        """The state database URL, with any password masked."""
        return self._where

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _transaction(self, what: str, *, write: bool = False) -> Iterator[Connection]:
        with translating(what, self._where, self._password), self._engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    # -- transfer ----------------------------------------------------------------------------------

    def export_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row of every table but the lock, as (table name, column values), streamed."""
        with self._transaction("export the state") as conn:
            for table in TRANSFER_TABLES:
                order = list(table.primary_key.columns)
                stmt = select(table).order_by(*order).execution_options(yield_per=STREAM_BATCH)
                for row in conn.execute(stmt).mappings():
                    yield table.name, dict(row)

    def import_rows(
        self, source: Iterable[tuple[str, dict[str, Any]]], *, replace: bool = False
    ) -> dict[str, int]:
        """Insert exported rows in one transaction; counts by table.

        Refuses a store that already has links unless ``replace``, which empties it first.
        Autoincrement ids are not carried over (the order of rows is).
        """
        by_name = {table.name: table for table in TRANSFER_TABLES}
        counts = dict.fromkeys(by_name, 0)
        with self._transaction("import the state", write=True) as conn:
            existing = conn.execute(select(func.count()).select_from(links)).scalar_one()
            if existing and not replace:
                raise StateError(
                    f"the state database {self._where} already has {existing} link(s); import into an "
                    "empty database, or pass --replace to drop its contents first"
                )
            if replace:
                for table in reversed(TRANSFER_TABLES):
                    conn.execute(table.delete())
            pending: dict[str, list[dict[str, Any]]] = {name: [] for name in by_name}

            def flush(name: str) -> None:
                if pending[name]:
                    conn.execute(by_name[name].insert(), pending[name])
                    pending[name] = []

            for name, row in source:
                if name not in by_name:
                    raise StateError(
                        f"the export holds rows of an unknown table {name!r}; was it made by a newer version?"
                    )
                keep = (
                    row
                    if name not in ("audit", "held_actions")
                    else {k: v for k, v in row.items() if k != "id"}
                )
                pending[name].append(keep)
                counts[name] += 1
                if len(pending[name]) >= 1000:
                    flush(name)
            for name in by_name:
                flush(name)
        return counts

    # -- links -------------------------------------------------------------------------------------

    def links(self) -> Iterator[Link]:
        """Every link, by anchor, streamed in batches (a server-side cursor on PostgreSQL).

        Plain SQL and raw rows: a full cycle reads every link, and per-row type processing would
        cost more than the read itself. What was applied stays JSON text until used.
        """
        sql = f"SELECT {codec.LINK_COLUMNS} FROM links ORDER BY anchor"  # noqa: S608 - constant text
        with self._transaction("read the links") as conn:
            options = {"stream_results": True, "yield_per": STREAM_BATCH}
            result = conn.exec_driver_sql(sql, execution_options=options)
            for batch in result.partitions(STREAM_BATCH):
                yield from map(codec.link_of, batch)

    def count_links(self) -> int:
        with self._transaction("count the links") as conn:
            return int(conn.execute(select(func.count()).select_from(links)).scalar_one())

    def get_link(self, anchor: str) -> Link | None:
        with self._transaction(f"read the link of anchor {anchor}") as conn:
            row = conn.execute(select(links).where(links.c.anchor == anchor)).mappings().first()
        return None if row is None else codec.link(row)

    def find_links(self, key: str) -> list[Link]:
        """Links whose anchor, Webex id, e-mail (case-insensitive) or DN (case-insensitive) is ``key``."""
        key = key.strip()
        stmt = (
            select(links)
            .where(
                or_(
                    links.c.anchor == key,
                    links.c.webex_id == key,
                    links.c.email_lower == fold_email(key),
                    links.c.dn_lower == normalize_dn(key),
                )
            )
            .order_by(links.c.anchor)
        )
        with self._transaction(f"look up links matching {key!r}") as conn:
            return [codec.link(row) for row in conn.execute(stmt).mappings()]

    def record(self, records: Iterable[Record]) -> None:
        """Write audit entries and their link changes in one transaction.

        Records apply in order, each one's ``drop_link`` before its ``save_link``. Saving a link
        whose Webex id is linked to another anchor is refused (``StateError`` naming both anchors)
        and nothing of the batch is written: the unique Webex id enforces it, and the refusal is
        then explained from the stored links.
        """
        batch = list(records)
        if not batch:
            return
        try:
            with self._transaction(f"record {len(batch)} action result(s)", write=True) as conn:
                conn.execute(insert(audit), [codec.audit_row(r.audit) for r in batch])
                ops: list[tuple[str, dict[str, Any]]] = []
                for rec in batch:
                    if rec.drop_link is not None:
                        ops.append(("drop", {"drop_anchor": rec.drop_link}))
                    if rec.save_link is not None:
                        ops.append(("save", codec.link_row(rec.save_link, rec.audit.time)))
                for kind, group in itertools.groupby(ops, key=lambda op: op[0]):
                    params = [row for _, row in group]
                    conn.execute(self._save_link if kind == "save" else _DROP_LINK, params)
        except StateError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                self._explain_stolen_webex_id(batch, exc.__cause__)
            raise

    @functools.cached_property
    def _save_link(self) -> Any:
        return self._save_link_stmt()

    def _save_link_stmt(self) -> Any:
        stmt = self._upsert_insert(links)
        kept = {"anchor", "created_at"}
        return stmt.on_conflict_do_update(
            index_elements=[links.c.anchor],
            set_={col.name: stmt.excluded[col.name] for col in links.c if col.name not in kept},
        )

    def _explain_stolen_webex_id(self, batch: Sequence[Record], exc: IntegrityError) -> None:
        """Raise the ``StateError`` naming both anchors if ``batch`` gives a linked Webex id to
        another anchor (replaying it on the stored links); return if it does not."""
        with self._transaction("check the Webex ids of the links to record") as conn:
            conflict = _stolen_webex_id(conn, batch)
        if conflict is None:
            return
        link, other = conflict
        raise StateError(
            f"state database {self._where}: refusing to link anchor {link.anchor} to Webex user "
            f"{link.webex_id}, which is linked to anchor {other}; nothing of this batch of "
            f"{len(batch)} record(s) was written. If the link of {other} is wrong, remove it with "
            f"`webex-provisioner users forget {other}`"
        ) from exc

    # -- cycles and audit --------------------------------------------------------------------------

    def start_cycle(self, cycle: CycleRecord) -> None:
        self._save_cycle(cycle, f"record the start of cycle {cycle.id}")

    def finish_cycle(self, cycle: CycleRecord) -> None:
        self._save_cycle(cycle, f"record the end of cycle {cycle.id}")

    def _save_cycle(self, cycle: CycleRecord, what: str) -> None:
        row = {
            "id": cycle.id,
            "kind": cycle.kind.value,
            "started_at": cycle.started_at,
            "finished_at": cycle.finished_at,
            "outcome": cycle.outcome,
            "counts": dict(cycle.counts),
            "detail": cycle.detail,
        }
        stmt = self._upsert_insert(cycles).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[cycles.c.id], set_={k: stmt.excluded[k] for k in row if k != "id"}
        )
        with self._transaction(what, write=True) as conn:
            conn.execute(stmt)

    def cycles(self, limit: int = 10) -> list[CycleRecord]:
        """The most recent cycles, newest first."""
        stmt = select(cycles).order_by(cycles.c.started_at.desc(), cycles.c.id.desc()).limit(limit)
        with self._transaction("read the recent cycles") as conn:
            return [codec.cycle(row) for row in conn.execute(stmt).mappings()]

    def audit(self, *, anchor: str | None = None, limit: int = 50) -> list[AuditEntry]:
        """The most recent audit entries (of one anchor when given), newest first."""
        stmt = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if anchor is not None:
            stmt = stmt.where(audit.c.anchor == anchor)
        with self._transaction("read the audit trail") as conn:
            return [codec.audit_entry(row) for row in conn.execute(stmt).mappings()]

    # -- watermarks and held actions ---------------------------------------------------------------

    def get_watermark(self, name: str) -> str | None:
        with self._transaction(f"read watermark {name}") as conn:
            value = conn.execute(select(watermarks.c.value).where(watermarks.c.name == name)).scalar()
        return None if value is None else str(value)

    def set_watermark(self, name: str, value: str | None) -> None:
        with self._transaction(f"save watermark {name}", write=True) as conn:
            if value is None:
                conn.execute(delete(watermarks).where(watermarks.c.name == name))
                return
            stmt = self._upsert_insert(watermarks).values(name=name, value=value)
            conn.execute(
                stmt.on_conflict_do_update(index_elements=[watermarks.c.name], set_={"value": value})
            )

    def hold(self, actions: Sequence[Action], cycle_id: str) -> None:
        """Replace the held actions with these."""
        held = [codec.held_row(action, cycle_id, position) for position, action in enumerate(actions)]
        with self._transaction(f"hold {len(held)} action(s)", write=True) as conn:
            conn.execute(delete(held_actions))
            if held:
                conn.execute(insert(held_actions), held)

    def held(self) -> list[Action]:
        stmt = select(held_actions).order_by(held_actions.c.position, held_actions.c.id)
        with self._transaction("read the held actions") as conn:
            return [codec.action(row) for row in conn.execute(stmt).mappings()]

    # -- the cycle lock ----------------------------------------------------------------------------

    def acquire_lock(self, owner: str, ttl_seconds: float, *, now: datetime | None = None) -> bool:
        """Take (or renew) the cycle lock for ``owner``; ``False`` if another live owner has it.

        Atomic: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` that only overwrites a lock
        held by ``owner`` or expired at ``now`` (default: the current time).
        """
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
        now = now or datetime.now(UTC)
        values = {"owner": owner, "expires_at": now + timedelta(seconds=ttl_seconds), "heartbeat_at": now}
        stmt = self._upsert_insert(locks).values(name=CYCLE_LOCK, **values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={k: stmt.excluded[k] for k in values},
            where=or_(locks.c.owner == owner, locks.c.expires_at <= now),
        )
        with self._transaction("take the cycle lock", write=True) as conn:
            return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1

    def release_lock(self, owner: str) -> None:
        """Release the cycle lock if ``owner`` holds it; someone else's lock is left alone."""
        stmt = delete(locks).where(locks.c.name == CYCLE_LOCK, locks.c.owner == owner)
        with self._transaction("release the cycle lock", write=True) as conn:
            conn.execute(stmt)

    def lock_owner(self, *, now: datetime | None = None) -> str | None:
        """Who holds the cycle lock and has not let it expire, or ``None``."""
        now = now or datetime.now(UTC)
        stmt = select(locks.c.owner).where(locks.c.name == CYCLE_LOCK, locks.c.expires_at > now)
        with self._transaction("read the cycle lock") as conn:
            owner = conn.execute(stmt).scalar()
        return None if owner is None else str(owner)

    # -- instances ---------------------------------------------------------------------------------

    def announce(self, instance: InstanceRecord) -> None:
        row = {
            "name": instance.name,
            "host": instance.host,
            "pid": instance.pid,
            "role": instance.role,
            "started_at": instance.started_at,
            "role_since": instance.role_since,
            "last_seen": instance.last_seen,
        }
        stmt = self._upsert_insert(instances).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[instances.c.name], set_={k: stmt.excluded[k] for k in row if k != "name"}
        )
        with self._transaction(f"announce instance {instance.name}", write=True) as conn:
            conn.execute(stmt)

    def instances(self, max_age_seconds: float, *, now: datetime | None = None) -> list[InstanceRecord]:
        now = now or datetime.now(UTC)
        stmt = select(instances).where(instances.c.last_seen >= now - timedelta(seconds=max_age_seconds))
        with self._transaction("read the running instances") as conn:
            found = [codec.instance(row) for row in conn.execute(stmt).mappings()]
        return sorted(found, key=lambda i: (i.role != "active", i.started_at, i.name))

    def forget_instance(self, name: str) -> None:
        with self._transaction(f"forget instance {name}", write=True) as conn:
            conn.execute(delete(instances).where(instances.c.name == name))


def _migrate_when_free(engine: Engine, where: str, attempts: int = 5) -> None:
    """Migrate, trying again when the database is locked: instances opening a new SQLite file at
    the same moment race for its first write (switching it to WAL), and SQLite can answer
    "locked" at once, before its busy timeout, to all but one of them."""
    for attempt in range(attempts):
        try:
            migrate(engine, where=where)
            return
        except StateLockedError:
            if attempt == attempts - 1:
                raise
            engine.dispose()  # drop connections that saw the lock
            time.sleep(0.1 * 2**attempt)


_DROP_LINK = delete(links).where(links.c.anchor == bindparam("drop_anchor"))


def _stolen_webex_id(conn: Connection, batch: Sequence[Record]) -> tuple[Link, str] | None:
    """The first saved link of ``batch`` whose Webex id is then linked to another anchor (and
    that anchor), replaying the batch in order on the stored links; ``None`` if there is none."""
    saves = [r.save_link for r in batch if r.save_link is not None]
    anchors = {link.anchor for link in saves} | {r.drop_link for r in batch if r.drop_link is not None}
    owner: dict[str, str] = {}  # webex id -> anchor, as the batch goes
    held: dict[str, str] = {}  # anchor -> webex id
    for column, values in ((links.c.anchor, anchors), (links.c.webex_id, {link.webex_id for link in saves})):
        ordered = sorted(values)
        for start in range(0, len(ordered), _IN_CHUNK):
            query = select(links.c.anchor, links.c.webex_id).where(
                column.in_(ordered[start : start + _IN_CHUNK])
            )
            for anchor, webex_id in conn.execute(query):
                owner[webex_id] = anchor
                held[anchor] = webex_id
    for rec in batch:
        if rec.drop_link is not None and (old := held.pop(rec.drop_link, None)) is not None:
            owner.pop(old, None)
        link = rec.save_link
        if link is None:
            continue
        other = owner.get(link.webex_id)
        if other is not None and other != link.anchor:
            return link, other
        if (old := held.get(link.anchor)) is not None:
            owner.pop(old, None)
        owner[link.webex_id] = link.anchor
        held[link.anchor] = link.webex_id
    return None
