"""``state export`` / ``state import``: move the whole state between stores, or back it up.

The file is JSON Lines: a header naming the format and the schema revision, then one line per
row (``{"table": ..., "row": {...}}``), so that 100,000 links stream through in constant memory.
Datetimes travel as ISO 8601 strings in UTC. The cycle lock is never exported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from webex_provisioner.errors import StateError
from webex_provisioner.state.migrations import head_revision
from webex_provisioner.state.schema import UtcDateTime
from webex_provisioner.state.sql import TRANSFER_TABLES, SqlStateStore

FORMAT = "webex-provisioner-state"
VERSION = 1

_DATETIME_COLUMNS = {
    table.name: {column.name for column in table.columns if isinstance(column.type, UtcDateTime)}
    for table in TRANSFER_TABLES
}


def _sql_store(store: object) -> SqlStateStore:
    if not isinstance(store, SqlStateStore):
        raise StateError(
            f"{type(store).__name__} cannot export or import; use a SQLite or PostgreSQL state store"
        )
    return store


def export_state(store: object, path: Path) -> dict[str, int]:
    """Write every row of ``store`` to ``path`` (created mode 0600: it holds tokens). Counts by table."""
    sql = _sql_store(store)
    counts = {table.name: 0 for table in TRANSFER_TABLES}
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            json.dumps({"format": FORMAT, "version": VERSION, "schema_revision": head_revision()}) + "\n"
        )
        for table, row in sql.export_rows():
            encoded = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
            out.write(json.dumps({"table": table, "row": encoded}, ensure_ascii=False) + "\n")
            counts[table] += 1
    return counts


def _read(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        file = path.open(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"cannot read the export {path}: {exc.strerror}") from exc
    with file:
        header = json.loads(file.readline() or "{}")
        if header.get("format") != FORMAT:
            raise StateError(f"{path} is not a webex-provisioner state export (no '{FORMAT}' header)")
        if header.get("version") != VERSION:
            raise StateError(
                f"{path} is export format version {header.get('version')}; this version reads {VERSION}"
            )
        for number, line in enumerate(file, start=2):
            try:
                item = json.loads(line)
                table, row = item["table"], dict(item["row"])
            except (ValueError, KeyError, TypeError) as exc:
                raise StateError(f"{path}:{number} is not a valid export line ({exc})") from exc
            for column in _DATETIME_COLUMNS.get(table, ()):
                if row.get(column) is not None:
                    row[column] = datetime.fromisoformat(row[column])
            yield table, row


def import_state(store: object, path: Path, *, replace: bool = False) -> dict[str, int]:
    """Load an export into ``store`` in one transaction. Counts by table."""
    return _sql_store(store).import_rows(_read(path), replace=replace)
