"""``SqlLinks``: the ``LinkStore`` port in SQL: the links, and the records that write them."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from webex_provisioner.errors import StateError
from webex_provisioner.model import Link
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.schema import audit, links

_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
_DROP_LINK = delete(links).where(links.c.anchor == bindparam("drop_anchor"))


class SqlLinks(SqlBase):
    """The links and the records that write them (with their audit entries).

    The store maintains the links' timestamps: ``created_at`` is set by the first save (from the
    link when it has one, otherwise the record's time) and kept after; ``updated_at`` is the time
    of the record that last saved the link.
    """

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
        """Links whose anchor, Webex id, e-mail (case-insensitive) or DN (normalized) is ``key``."""
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
        stmt = self._dialect_insert(links)
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
