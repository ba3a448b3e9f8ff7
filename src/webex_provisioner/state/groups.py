"""``SqlGroups``: the group links in SQL: which directory group is bound to which Webex group, the
members this tool manages in each, and the group actions a guard held.

A group link is a row of ``group_links`` and its managed members are rows of ``group_members``
(group anchor, user anchor). ``record`` (``records``) writes them, with ``member_writes`` below:
saving a link replaces its member set by writing only the difference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, bindparam, delete, select

from webex_provisioner.model import GroupAction, GroupLink
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.schema import group_links, group_members, held_group_actions

IN_CHUNK = 500
"""Values per ``IN (...)`` list: well under SQLite's and PostgreSQL's parameter limits."""

_CLEAR_MEMBERS = delete(group_members).where(group_members.c.group_anchor == bindparam("group"))
_REMOVE_MEMBER = delete(group_members).where(
    group_members.c.group_anchor == bindparam("group"), group_members.c.user_anchor == bindparam("user")
)
_MEMBERS = select(group_members.c.group_anchor, group_members.c.user_anchor)


class SqlGroups(SqlBase):
    """The group links with their managed members, and the held group actions."""

    def group_links(self) -> Iterator[GroupLink]:
        """Every group link, by anchor, with its members: one query for the links (streamed) and
        one for every member row, grouped here, both seeing the same moment."""
        with self._transaction("read the group links", snapshot=True) as conn:
            members = _members_by_group(conn, _MEMBERS)
            stmt = select(group_links).order_by(group_links.c.anchor)
            result = conn.execute(stmt.execution_options(yield_per=STREAM_BATCH)).mappings()
            for row in result:
                yield codec.group_link(row, members.pop(row["anchor"], ()))

    def get_group_link(self, anchor: str) -> GroupLink | None:
        found = self._group_links_where(group_links.c.anchor == anchor, f"read the group link of {anchor}")
        return found[0] if found else None

    def groups_of(self, user_anchor: str) -> list[GroupLink]:
        """The group links whose managed members include ``user_anchor``, by anchor, with their
        members."""
        mine = select(group_members.c.group_anchor).where(group_members.c.user_anchor == user_anchor)
        return self._group_links_where(
            group_links.c.anchor.in_(mine), f"read the groups user anchor {user_anchor} was made member of"
        )

    def _group_links_where(self, where: ColumnElement[bool], what: str) -> list[GroupLink]:
        """The group links matching ``where`` (on ``group_links``), by anchor, with their members."""
        anchors = select(group_links.c.anchor).where(where)
        with self._transaction(what, snapshot=True) as conn:
            members = _members_by_group(conn, _MEMBERS.where(group_members.c.group_anchor.in_(anchors)))
            rows = conn.execute(select(group_links).where(where).order_by(group_links.c.anchor)).mappings()
            return [codec.group_link(row, members.get(row["anchor"], ())) for row in rows]

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


def _members_by_group(conn: Connection, query: Select[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """The user anchors of ``query``'s member rows, by group anchor."""
    rows = conn.execute(query.order_by(group_members.c.group_anchor))
    return {group: frozenset(map(itemgetter(1), pairs)) for group, pairs in groupby(rows, itemgetter(0))}


def member_writes(conn: Connection, batch: Sequence[Record], insert_members: Any) -> None:
    """Leave in ``group_members`` the members of the group links ``batch`` saves last, and none
    of those it drops last, writing only the rows that change. ``insert_members`` is the
    dialect's ``INSERT ... ON CONFLICT DO NOTHING`` of member rows."""
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
    removed, added = [], []
    for anchor, members in sorted(saved.items()):
        before = stored.get(anchor, frozenset())
        removed += [{"group": anchor, "user": user} for user in sorted(before - members)]
        added += [{"group_anchor": anchor, "user_anchor": user} for user in sorted(members - before)]
    for statement, params in ((_CLEAR_MEMBERS, cleared), (_REMOVE_MEMBER, removed), (insert_members, added)):
        if params:
            conn.execute(statement, params)


def _stored_members(conn: Connection, anchors: Sequence[str]) -> dict[str, frozenset[str]]:
    """The stored members of the groups ``anchors`` (sorted), by group anchor."""
    found: dict[str, frozenset[str]] = {}
    for start in range(0, len(anchors), IN_CHUNK):
        chunk = anchors[start : start + IN_CHUNK]
        found.update(_members_by_group(conn, _MEMBERS.where(group_members.c.group_anchor.in_(chunk))))
    return found
