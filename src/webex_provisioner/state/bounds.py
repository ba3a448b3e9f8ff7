"""What the state refuses to store, checked before anything is written: text longer than its
column keeps (an anchor, a licence id, an e-mail), text no database keeps alike (NUL, which
PostgreSQL refuses; a lone surrogate, which is no Unicode text), and a number out of an integer
column's 32-bit range. Every other character, control characters included, is stored and read
back unchanged.

A refusal is a ``StateError`` naming the value (escaped and shortened), whose it is and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Integer, String, Table

from webex_provisioner.errors import StateError

SHOWN = 40
"""The most characters of a refused value a message shows."""
INTEGERS = range(-(2**31), 2**31)
"""The numbers an integer column keeps on every database."""


def shown(value: str) -> str:
    """``value`` as a message shows it: quoted, escaped, at most ``SHOWN`` characters."""
    return repr(value[:SHOWN]) + ("…" if len(value) > SHOWN else "")


def flaw(value: str, limit: int | None) -> str | None:
    """Why ``value`` cannot be stored in a column of at most ``limit`` characters; ``None`` when
    it can."""
    if limit is not None and len(value) > limit:
        return f"is {len(value)} characters long, more than the {limit} the state keeps"
    if "\x00" in value:
        return "holds a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not Unicode text (it holds a lone surrogate)"
    return None


_NAMES = {"license_id": "licence id", "webex_id": "Webex id", "email": "e-mail", "cycle_id": "cycle id"}


def check_rows(table: Table, rows: Iterable[Mapping[str, Any]], where: str, what: str, whose: str) -> None:
    """Refuse (``StateError``) the first value of ``rows`` that ``table`` cannot keep: a column's
    text longer than its length, any text (strings in JSON lists too) holding NUL or a lone
    surrogate, an integer out of ``INTEGERS``. ``whose`` is the column that says whose row it is
    (``anchor``, ``id``)."""
    types = {column.name: column.type for column in table.columns}
    for row in rows:
        for column, value in row.items():
            found = _flaw(value, types.get(column))
            if found is None:
                continue
            owner = "" if column == whose else f" of {_NAMES.get(whose, whose)} {shown(str(row.get(whose)))}"
            raise StateError(
                f"state database {where}: could not {what}: the {_NAMES.get(column, column)} {found[0]}"
                f"{owner} {found[1]}; nothing was written. It came from the directory or from Webex: "
                "correct it there, or report it if it looks right"
            )


def _flaw(value: Any, kind: Any) -> tuple[str, str] | None:
    """(``value`` as a message shows it, why) when a column of type ``kind`` cannot keep it."""
    if isinstance(kind, Integer) and isinstance(value, int) and value not in INTEGERS:
        return str(value), f"is out of the range the state keeps ({INTEGERS[0]} to {INTEGERS[-1]})"
    for text, limit in _texts(value, kind.length if isinstance(kind, String) else None):
        if (reason := flaw(text, limit)) is not None:
            return shown(text), reason
    return None


def _texts(value: Any, limit: int | None) -> list[tuple[str, int | None]]:
    """The strings of a column value with the length each may have: the value itself, or every
    string nested in a JSON list (no length of their own)."""
    if isinstance(value, str):
        return [(value, limit)]
    if isinstance(value, list | tuple):
        return [found for item in value for found in _texts(item, None)]
    return []
