"""``state export`` / ``state import``: move the whole state between stores, or back it up.

The file is JSON Lines: a header naming the format and the schema revision, then one line per
row (``{"table": ..., "row": {...}}``), so that 100,000 links stream through in constant memory.
Datetimes travel as ISO 8601 strings in UTC. The cycle lock, the instances and the
notifications' bookkeeping (what was told, what waits to be sent) are never exported, nor are
the fingerprints the drift checks verified (``drift_verified``, not in ``TRANSFER_TABLES``): they
are a cache, and without them the next drift check compares every user. An import, with
``replace`` too, leaves the target's fingerprints as they are, which is harmless: a fingerprint
covers the link and what Webex sent, so one of another state matches no comparison of the
imported links unless it is the same comparison, and the next check saves its own.

An export of schema revision 0004 or earlier (its header says which) kept the bookkeeping as five
watermark rows; importing it converts them as migration 0005 does (``bookkeeping_rows``). An
export made before 0006_groups has no group tables, and its open problems, which name no
resource, are about users (as the migration makes them); one made before 0008_licenses has no
licence tables (nothing was granted).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from webex_provisioner.errors import StateError
from webex_provisioner.state.migrations import head_revision
from webex_provisioner.state.migrations.bookkeeping_rows import TABLE_OF, bookkeeping_rows
from webex_provisioner.state.schema import UtcDateTime
from webex_provisioner.state.sql import TRANSFER_TABLES, SqlStateStore

FORMAT = "webex-provisioner-state"
VERSION = 1
TABLES_REVISION = "0005"
"""The first schema revision whose exports hold the bookkeeping in tables of its own."""

Row = tuple[str, dict[str, Any]]

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
    """Write every row of ``store`` to ``path``; counts by table.

    The export holds the rotated refresh token: it is written to a new file, readable by the
    owner only (0600), created next to ``path`` (never following a link, never reusing a file),
    then renamed onto ``path``. A file or a symbolic link already at ``path`` is replaced, never
    written through; on failure ``path`` is left as it was."""
    sql = _sql_store(store)
    counts = {table.name: 0 for table in TRANSFER_TABLES}
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    except OSError as exc:
        raise StateError(
            f"cannot write the export {path}: {exc.strerror}; choose a folder you may write to"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            header = {"format": FORMAT, "version": VERSION, "schema_revision": head_revision()}
            out.write(json.dumps(header) + "\n")
            for table, row in sql.export_rows():
                encoded = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
                out.write(json.dumps({"table": table, "row": encoded}, ensure_ascii=False) + "\n")
                counts[table] += 1
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise StateError(f"cannot write the export {path}: {exc.strerror}") from exc
        raise
    return counts


def _open(path: Path) -> TextIO:
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"cannot read the export {path}: {exc.strerror}") from exc


def _revision(path: Path, line: str) -> str:
    """The schema revision an export was made at, from its header line."""
    try:
        header = json.loads(line or "{}")
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StateError(f"{path} is not a webex-provisioner state export (no '{FORMAT}' header)")
    if header.get("version") != VERSION:
        raise StateError(
            f"{path} is export format version {header.get('version')}; this version reads {VERSION}"
        )
    return str(header.get("schema_revision") or "0000")


def _rows(path: Path, file: TextIO) -> Iterator[Row]:
    """The rows of the export after its header, read as they are consumed."""
    for number, line in enumerate(file, start=2):
        try:
            item = json.loads(line)
            table, row = item["table"], dict(item["row"])
            for column in _DATETIME_COLUMNS.get(table, ()):
                if row.get(column) is not None:
                    row[column] = datetime.fromisoformat(row[column])
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{path}:{number} is not a valid export line ({exc})") from exc
        yield table, row


def _with_bookkeeping_tables(rows: Iterable[Row], now: datetime) -> Iterator[Row]:
    """The rows of an export made before ``TABLES_REVISION``, its bookkeeping watermark rows
    turned into rows of their own tables (as migration 0005 turns them)."""
    for table, row in rows:
        converted = None
        if table == "watermarks":
            converted = bookkeeping_rows(str(row.get("name")), str(row.get("value")), now)
        if converted is None:
            yield table, row
        else:
            yield from ((TABLE_OF[str(row["name"])], new) for new in converted)


def import_state(store: object, path: Path, *, replace: bool = False) -> dict[str, int]:
    """Load an export into ``store`` in one transaction. Counts by table (after converting an
    earlier export's bookkeeping rows)."""
    sql = _sql_store(store)
    with _open(path) as file:
        revision = _revision(path, file.readline())
        rows = _rows(path, file)
        if revision < TABLES_REVISION:
            rows = _with_bookkeeping_tables(rows, datetime.now(UTC))
        return sql.import_rows(rows, replace=replace)
