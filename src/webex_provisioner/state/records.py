"""``SqlRecords``: ``record`` in SQL: audit entries and the user and group links and the licence
grants they save or drop, in one transaction.

Records apply in order: each record's drops before its saves, the links of users and of groups as
the records go; a record's ``drop_link`` drops the grants of that anchor too, then its
``drop_grants`` and its ``save_grants`` apply (``licenses.GrantWrites``). A Webex id (of a user,
or of a group) is linked to one anchor at most: the unique ``webex_id`` of ``links`` and of
``group_links`` enforce it, and a refusal is then explained by replaying the batch on the stored
links.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from webex_provisioner.errors import StateError
from webex_provisioner.model import GroupLink, Link
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.base import SqlBase
from webex_provisioner.state.groups import IN_CHUNK, member_writes
from webex_provisioner.state.licenses import GrantWrites
from webex_provisioner.state.schema import audit, group_links, links

_DROP_LINK = delete(links).where(links.c.anchor == bindparam("drop_anchor"))
_DROP_GROUP = delete(group_links).where(group_links.c.anchor == bindparam("drop_anchor"))


@dataclass(frozen=True, slots=True)
class _Step:
    """What one record does to one table of links: drop an anchor, then bind one to a Webex id."""

    drop: str | None
    save: tuple[str, str] | None  # (anchor, Webex id)


class SqlRecords(SqlBase):
    """The records that write the links of users and groups, with their audit entries.

    The store maintains the links' timestamps: ``created_at`` is set by the first save (from the
    link when it has one, otherwise the record's time) and kept after; ``updated_at`` is the time
    of the record that last saved the link.
    """

    def record(self, records: Iterable[Record]) -> None:
        """Write audit entries and their link changes in one transaction, in order (each record's
        drops before its saves; a dropped link's grants go with it). Saving a link whose Webex id
        is linked to another anchor is refused (``StateError`` naming both anchors), as is a
        grant's text the state cannot keep, and nothing of the batch is written."""
        batch = list(records)
        if not batch:
            return
        grants = GrantWrites.of(batch, self._where)
        try:
            with self._transaction(f"record {len(batch)} action result(s)", write=True) as conn:
                conn.execute(insert(audit), [codec.audit_row(r.audit) for r in batch])
                for statement, group in itertools.groupby(self._link_writes(batch), key=lambda w: w[0]):
                    conn.execute(statement, [params for _, params in group])
                member_writes(conn, batch)
                grants.write(conn)
        except StateError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                self._explain_taken_webex_id(batch, exc.__cause__)
            raise

    def _link_writes(self, batch: Sequence[Record]) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(statement, parameters) of each link drop and save, in the order they apply."""
        for rec in batch:
            time = rec.audit.time
            if rec.drop_link is not None:
                yield _DROP_LINK, {"drop_anchor": rec.drop_link}
            if rec.save_link is not None:
                yield self._save_link, codec.link_row(rec.save_link, time)
            if rec.drop_group is not None:
                yield _DROP_GROUP, {"drop_anchor": rec.drop_group}
            if rec.save_group is not None:
                yield self._save_group, codec.group_link_row(rec.save_group, time)

    @functools.cached_property
    def _save_link(self) -> Any:
        return self._upsert_keeping_created(links)

    @functools.cached_property
    def _save_group(self) -> Any:
        return self._upsert_keeping_created(group_links)

    def _upsert_keeping_created(self, table: Table) -> Any:
        """``INSERT ... ON CONFLICT (anchor) DO UPDATE`` of every column but ``created_at``."""
        stmt = self._dialect_insert(table)
        kept = {"anchor", "created_at"}
        return stmt.on_conflict_do_update(
            index_elements=[table.c.anchor],
            set_={col.name: stmt.excluded[col.name] for col in table.c if col.name not in kept},
        )

    def _explain_taken_webex_id(self, batch: Sequence[Record], exc: IntegrityError) -> None:
        """Raise the ``StateError`` naming both anchors if ``batch`` gives a linked Webex id (of a
        user or a group) to another anchor, replaying it on the stored links; return if it does not."""
        user_steps = [_Step(r.drop_link, _bind(r.save_link)) for r in batch]
        group_steps = [_Step(r.drop_group, _bind(r.save_group)) for r in batch]
        with self._transaction("check the Webex ids of the links to record") as conn:
            user = _taken_webex_id(conn, links, user_steps)
            group = None if user else _taken_webex_id(conn, group_links, group_steps)
        where, n = self._where, len(batch)
        if user is not None:
            anchor, webex_id, other = user
            raise StateError(
                f"state database {where}: refusing to link anchor {anchor} to Webex user {webex_id}, "
                f"which is linked to anchor {other}; nothing of this batch of {n} record(s) was "
                f"written. If the link of {other} is wrong, remove it with "
                f"`webex-provisioner users forget {other}`"
            ) from exc
        if group is not None:
            anchor, webex_id, other = group
            raise StateError(
                f"state database {where}: refusing to link group anchor {anchor} to Webex group "
                f"{webex_id}, which is linked to group anchor {other}; nothing of this batch of {n} "
                "record(s) was written. Two directory groups cannot share one Webex group: give them "
                "different names (groups.name) or leave one of them out of groups:"
            ) from exc


def _bind(link: Link | GroupLink | None) -> tuple[str, str] | None:
    """(anchor, Webex id) of a user or group link to save, if any."""
    return None if link is None else (link.anchor, link.webex_id)


def _taken_webex_id(conn: Connection, table: Table, steps: Sequence[_Step]) -> tuple[str, str, str] | None:
    """(anchor, Webex id, other anchor) of the first save of ``steps`` whose Webex id is then linked
    to another anchor in ``table``, replaying the steps in order on the stored links; ``None`` if
    there is none."""
    saves = [step.save for step in steps if step.save is not None]
    anchors = {anchor for anchor, _ in saves} | {step.drop for step in steps if step.drop is not None}
    owner, held = _stored_bindings(conn, table, anchors, {webex_id for _, webex_id in saves})
    for step in steps:
        if step.drop is not None and (old := held.pop(step.drop, None)) is not None:
            owner.pop(old, None)
        if step.save is None:
            continue
        anchor, webex_id = step.save
        other = owner.get(webex_id)
        if other is not None and other != anchor:
            return anchor, webex_id, other
        if (old := held.get(anchor)) is not None:
            owner.pop(old, None)
        owner[webex_id] = anchor
        held[anchor] = webex_id
    return None


def _stored_bindings(
    conn: Connection, table: Table, anchors: set[str], webex_ids: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(Webex id -> anchor, anchor -> Webex id) of the stored links of ``table`` having one of
    these anchors or Webex ids."""
    owner: dict[str, str] = {}
    held: dict[str, str] = {}
    for column, values in ((table.c.anchor, anchors), (table.c.webex_id, webex_ids)):
        ordered = sorted(values)
        for start in range(0, len(ordered), IN_CHUNK):
            query = select(table.c.anchor, table.c.webex_id)
            for anchor, webex_id in conn.execute(query.where(column.in_(ordered[start : start + IN_CHUNK]))):
                owner[webex_id] = anchor
                held[anchor] = webex_id
    return owner, held
