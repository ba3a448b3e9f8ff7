"""``SqlRows``: every row of the state's tables out and in, for ``state export`` / ``state import``.

The file format (and converting an earlier version's export) is ``transfer``'s business; here are
the tables, their order, and the one transaction an import runs in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Connection, Table, func, select

from webex_provisioner.errors import StateError
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.schema import (
    approvals,
    audit,
    baseline,
    cycles,
    group_links,
    group_members,
    held_actions,
    held_group_actions,
    held_license_actions,
    license_catalog,
    license_grants,
    license_refusals,
    links,
    open_problems,
    refresh_tokens,
    retry_anchors,
    watermarks,
)

TRANSFER_TABLES = (
    links,
    cycles,
    audit,
    watermarks,
    held_actions,
    baseline,
    retry_anchors,
    open_problems,
    approvals,
    refresh_tokens,
    group_links,
    group_members,
    held_group_actions,
    license_grants,
    license_catalog,
    license_refusals,
    held_license_actions,
)
"""What an export holds: everything but the cycle lock, the running instances and the
notifications' bookkeeping (an imported state tells its open conditions again: harmless)."""

_AUTOINCREMENT = {"audit", "held_actions"}  # their ids are not carried (the rows' order is)
_INSERT_BATCH = 1000


class SqlRows(SqlBase):
    """Export and import of whole tables."""

    def export_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every row of every table but the lock and the instances, as (table name, column
        values), streamed."""
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

        Refuses a store that already has links (of users or groups) unless ``replace``, which
        empties it first. Autoincrement ids are not carried over (the order of rows is); the
        links' lookup keys and fingerprints are computed again, as ``record`` does, whatever the
        export held; an open problem that names no resource (an export before 0006_groups) is
        about a user.
        """
        by_name = {table.name: table for table in TRANSFER_TABLES}
        counts = dict.fromkeys(by_name, 0)
        with self._transaction("import the state", write=True) as conn:
            self._make_room(conn, replace=replace)
            pending: dict[str, list[dict[str, Any]]] = {name: [] for name in by_name}
            for name, row in source:
                if name not in by_name:
                    raise StateError(
                        f"the export holds rows of an unknown table {name!r}; was it made by a newer "
                        "version of webex-provisioner? Import it with that version"
                    )
                pending[name].append(_importable(name, row))
                counts[name] += 1
                if len(pending[name]) >= _INSERT_BATCH:
                    _flush(conn, by_name[name], pending[name])
            for name, table in by_name.items():
                _flush(conn, table, pending[name])
        return counts

    def _make_room(self, conn: Connection, *, replace: bool) -> None:
        users, groups = (_count(conn, table) for table in (links, group_links))
        if (users or groups) and not replace:
            raise StateError(
                f"the state database {self._where} already has {users} link(s) and {groups} group "
                "link(s); import into an empty database, or pass --replace to drop its contents first"
            )
        if replace:
            for table in reversed(TRANSFER_TABLES):
                conn.execute(table.delete())


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _importable(name: str, row: dict[str, Any]) -> dict[str, Any]:
    if name in _AUTOINCREMENT:
        return {k: v for k, v in row.items() if k != "id"}
    if name == "links":
        email, dn, applied = row.get("email"), row.get("dn"), row.get("applied")
        if not isinstance(email, str) or not isinstance(dn, str) or not isinstance(applied, dict):
            raise StateError(
                f"the export holds a link without an e-mail, a DN or what was applied: {row!r}; "
                "was it edited by hand? Fix or remove that line"
            )
        return {**row, **codec.link_keys(email, dn, applied)}
    if name == "group_links":
        return {**row, **_group_keys(row)}
    if name == "open_problems":
        return {"resource": "user", **row}
    return row


def _group_keys(row: dict[str, Any]) -> dict[str, str]:
    name, dn = row.get("name"), row.get("dn")
    if not isinstance(name, str) or not isinstance(dn, str):
        raise StateError(
            f"the export holds a group link without a name or a DN: {row!r}; was it edited by hand? "
            "Fix or remove that line"
        )
    return codec.group_keys(name, dn)


def _flush(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)
        rows.clear()
