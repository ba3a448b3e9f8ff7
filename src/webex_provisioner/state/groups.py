"""``SqlGroups``: the group links in SQL: which directory group is bound to which Webex group, the
members this tool manages in each, and the group actions a guard held.

A group link is a row of ``group_links`` and its managed members are rows of ``group_members``
(group anchor, user anchor). ``record`` (``records``) writes them, with ``member_writes`` below:
saving a link replaces its member set by writing only the difference.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    Text,
    bindparam,
    cast,
    delete,
    func,
    select,
    text,
)

from webex_provisioner.model import GroupAction, GroupLink
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.schema import group_links, group_members, held_group_actions

IN_CHUNK = 500
"""Values per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits."""

_CLEAR_MEMBERS = delete(group_members).where(group_members.c.group_anchor == bindparam("group"))
_PAIRS = {
    # (WHERE true: SQLite would read the ON of an upsert after a bare FROM as a join's.)
    "sqlite": "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:pairs) "
    "WHERE true",
    "postgresql": "SELECT p ->> 0, p ->> 1 FROM json_array_elements(CAST(:pairs AS json)) AS p",
}
"""The rows (group anchor, user anchor) of the JSON array of pairs ``:pairs``, per dialect: the
member rows a batch adds or removes cross in one parameter, not in a statement each."""
_ADD_MEMBERS = {
    dialect: text(f"INSERT INTO group_members (group_anchor, user_anchor) {pairs} ON CONFLICT DO NOTHING")
    for dialect, pairs in _PAIRS.items()
}
_REMOVE_MEMBERS = {
    dialect: text(f"DELETE FROM group_members WHERE (group_anchor, user_anchor) IN ({pairs})")  # noqa: S608
    for dialect, pairs in _PAIRS.items()
}


class SqlGroups(SqlBase):
    """The group links with their managed members, and the held group actions."""

    def group_links(self) -> Iterator[GroupLink]:
        """Every group link, by anchor, with its members, streamed: one query, each link's
        members aggregated by the database into one JSON array."""
        stmt = self._with_members.order_by(group_links.c.anchor).execution_options(yield_per=STREAM_BATCH)
        with self._transaction("read the group links") as conn:
            yield from map(_group_link, conn.execute(stmt).mappings())

    def get_group_link(self, anchor: str) -> GroupLink | None:
        stmt = self._with_members.where(group_links.c.anchor == anchor)
        with self._transaction(f"read the group link of {anchor}") as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _group_link(row)

    def groups_of(self, user_anchor: str) -> list[GroupLink]:
        """The group links whose managed members include ``user_anchor``, by anchor, with their
        members."""
        mine = select(group_members.c.group_anchor).where(group_members.c.user_anchor == user_anchor)
        stmt = self._with_members.where(group_links.c.anchor.in_(mine)).order_by(group_links.c.anchor)
        with self._transaction(f"read the groups user anchor {user_anchor} was made member of") as conn:
            return [_group_link(row) for row in conn.execute(stmt).mappings()]

    @functools.cached_property
    def _with_members(self) -> Select[Any]:
        """The group links with a ``members`` column: the user anchors of their member rows as a
        JSON array (text; ``[]`` or NULL when there is none)."""
        members = select(members_json(self._engine.dialect.name))
        of_link = members.where(group_members.c.group_anchor == group_links.c.anchor).scalar_subquery()
        return select(group_links, of_link.label("members"))

    # -- held group actions -------------------------------------------------------------------------

    def hold_groups(self, actions: Sequence[GroupAction], cycle_id: str) -> None:
        """Replace the held group actions with these."""
        rows = [codec.held_group_row(action, cycle_id, n) for n, action in enumerate(actions)]
        self._replace_rows(held_group_actions, rows, f"hold {len(rows)} group action(s)")

    def held_groups(self) -> list[GroupAction]:
        """The held group actions, in the order they were held."""
        stmt = select(held_group_actions).order_by(held_group_actions.c.position)
        with self._transaction("read the held group actions") as conn:
            return [codec.group_action(row) for row in conn.execute(stmt).mappings()]


def members_json(dialect: str) -> ColumnElement[Any]:
    """The aggregate of ``group_members.user_anchor`` as a JSON array, in text: the database
    builds it, so that a link's members cross as one value instead of a row each."""
    user = group_members.c.user_anchor
    return func.json_group_array(user) if dialect == "sqlite" else cast(func.json_agg(user), Text)


def _anchors(members: str | None) -> list[str]:
    """The user anchors of a ``members_json`` value (``None`` when there were no rows)."""
    return json.loads(members) if members else []


def _group_link(row: RowMapping) -> GroupLink:
    return codec.group_link(row, _anchors(row["members"]))


def member_writes(conn: Connection, batch: Sequence[Record]) -> None:
    """Leave in ``group_members`` the members of the group links ``batch`` saves last, and none
    of those it drops last, writing only the rows that change."""
    final: dict[str, frozenset[str] | None] = {}  # group anchor -> members after the batch
    for rec in batch:
        if rec.drop_group is not None:
            final[rec.drop_group] = None
        if rec.save_group is not None:
            final[rec.save_group.anchor] = frozenset(rec.save_group.members)
    if not final:
        return
    cleared = [{"group": anchor} for anchor, members in final.items() if members is None]
    saved = {anchor: members for anchor, members in final.items() if members is not None}
    stored = _stored_members(conn, sorted(saved))
    removed: list[tuple[str, str]] = []
    added: list[tuple[str, str]] = []
    for anchor, members in sorted(saved.items()):  # in key order: the index takes them faster
        before = stored.get(anchor, frozenset())
        removed += ((anchor, user) for user in sorted(before - members))
        added += ((anchor, user) for user in sorted(members - before))
    if cleared:
        conn.execute(_CLEAR_MEMBERS, cleared)
    for statements, pairs in ((_REMOVE_MEMBERS, removed), (_ADD_MEMBERS, added)):
        if pairs:
            conn.execute(statements[conn.dialect.name], {"pairs": json.dumps(pairs, separators=(",", ":"))})


def _stored_members(conn: Connection, anchors: Sequence[str]) -> dict[str, frozenset[str]]:
    """The stored members of the groups ``anchors``, by group anchor."""
    group = group_members.c.group_anchor
    query = select(group, members_json(conn.dialect.name)).group_by(group)
    found: dict[str, frozenset[str]] = {}
    for start in range(0, len(anchors), IN_CHUNK):
        rows = conn.execute(query.where(group.in_(anchors[start : start + IN_CHUNK])))
        found.update((anchor, frozenset(_anchors(members))) for anchor, members in rows)
    return found
