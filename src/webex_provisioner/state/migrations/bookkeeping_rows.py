"""What migration 0005 and importing an earlier export share: the bookkeeping that revision 0004
and earlier kept as watermark rows, turned into the rows of its own tables.

Those revisions stored, as text in ``watermarks``:

* ``cycle.baseline``: the baseline token, as is;
* ``cycle.retry_anchors``: a JSON list of anchors;
* ``cycle.open_problems``: a JSON list of ``{kind, anchor, dn, email, detail}``;
* ``cycle.approved_held``: a JSON list of ``[anchor, action kind]``;
* ``webex.oauth.refresh_token``: the rotated refresh token, as is. Which configured token it
  replaced was not kept: it becomes ``replaces = ""`` (unknown), which the engine keeps preferring
  to the configured token, as it did.

A value that is not what that revision wrote (bad JSON, a list item of the wrong shape, an unknown
kind) is skipped and logged, never fatal: it is what one cycle left for the next, which rebuilds
it (a full cycle at worst), and nothing else is lost. ``watermark_values`` writes the tables back
in these forms, for the downgrade.

The rows are plain column values, so the migration (its own table definitions) and the import
(``schema``'s tables) insert them alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import structlog

from webex_provisioner.model import ActionKind, ProblemKind
from webex_provisioner.state.schema import WEBEX_REFRESH_TOKEN

log = structlog.get_logger("webex_provisioner.state")

BASELINE = "cycle.baseline"
RETRY_ANCHORS = "cycle.retry_anchors"
OPEN_PROBLEMS = "cycle.open_problems"
APPROVED_HELD = "cycle.approved_held"
REFRESH_TOKEN = "webex.oauth.refresh_token"  # noqa: S105 - a watermark name, not a secret
LEGACY_NAMES = (BASELINE, RETRY_ANCHORS, OPEN_PROBLEMS, APPROVED_HELD, REFRESH_TOKEN)

TABLE_OF = {
    BASELINE: "baseline",
    RETRY_ANCHORS: "retry_anchors",
    OPEN_PROBLEMS: "open_problems",
    APPROVED_HELD: "approvals",
    REFRESH_TOKEN: "refresh_tokens",
}
"""The table each legacy watermark moves to."""

Row = dict[str, Any]
_PROBLEM_KINDS = frozenset(kind.value for kind in ProblemKind)
_ACTION_KINDS = frozenset(kind.value for kind in ActionKind)


class _MalformedError(ValueError):
    """A legacy value that is not what revision 0004 wrote."""


def bookkeeping_rows(name: str, value: str, now: datetime) -> list[Row] | None:
    """The rows of table ``TABLE_OF[name]`` that the legacy watermark ``name`` holding ``value``
    becomes, in order (none for a malformed value); ``None`` when ``name`` is a change feed's
    watermark, which stays. ``now`` is the ``stored_at`` of a carried refresh token."""
    if name not in TABLE_OF:
        return None
    try:
        if name == BASELINE:
            return [{"id": 1, "token": value}]
        if name == REFRESH_TOKEN:
            if not value:
                raise _MalformedError("it is empty")
            return [{"name": WEBEX_REFRESH_TOKEN, "value": value, "replaces": "", "stored_at": now}]
        return _list_rows(name, _json_list(value))
    except _MalformedError as exc:
        log.warning("state.bookkeeping_skipped", watermark=name, reason=str(exc))
        return []


def _json_list(value: str) -> list[Any]:
    try:
        loaded = json.loads(value)
    except ValueError as exc:
        raise _MalformedError(f"it is not JSON ({exc})") from exc
    if not isinstance(loaded, list):
        raise _MalformedError(f"it is a JSON {type(loaded).__name__}, not a list")
    return loaded


def _list_rows(name: str, items: list[Any]) -> list[Row]:
    convert = _ITEM_CONVERTERS[name]
    rows: list[Row] = []
    seen: set[tuple[Any, ...]] = set()
    for item in items:
        row = convert(item)
        if row is None:
            log.warning("state.bookkeeping_skipped", watermark=name, reason=f"an item is malformed: {item!r}")
            continue
        if name == APPROVED_HELD:  # a set: a repeated approval is one row
            if (key := (row["anchor"], row["kind"])) in seen:
                continue
            seen.add(key)
        else:
            row["position"] = len(rows)
        rows.append(row)
    return rows


def _retry_anchor(item: Any) -> Row | None:
    return {"anchor": item} if isinstance(item, str) and item else None


def _open_problem(item: Any) -> Row | None:
    if not isinstance(item, Mapping):
        return None
    kind, anchor, dn = item.get("kind"), item.get("anchor"), item.get("dn") or ""
    email, detail = item.get("email"), item.get("detail", "")
    if kind not in _PROBLEM_KINDS or not isinstance(anchor, str) or not anchor:
        return None
    if not isinstance(dn, str) or not isinstance(detail, str) or not isinstance(email, str | None):
        return None
    return {"kind": kind, "anchor": anchor, "dn": dn, "email": email, "detail": detail}


def _approval(item: Any) -> Row | None:
    if not isinstance(item, list) or len(item) != 2:
        return None
    anchor, kind = item
    if not isinstance(anchor, str) or not anchor or kind not in _ACTION_KINDS:
        return None
    return {"anchor": anchor, "kind": kind}


_ITEM_CONVERTERS: dict[str, Callable[[Any], Row | None]] = {
    RETRY_ANCHORS: _retry_anchor,
    OPEN_PROBLEMS: _open_problem,
    APPROVED_HELD: _approval,
}


def watermark_values(tables: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """The legacy watermarks (name -> value) holding what ``tables`` (table name -> its rows, in
    order) hold: the downgrade's inverse of ``bookkeeping_rows``. Empty tables give none."""
    values: dict[str, str] = {}
    for name, table in TABLE_OF.items():
        rows = list(tables.get(table, ()))
        if not rows:
            continue
        if name == BASELINE:
            values[name] = str(rows[0]["token"])
        elif name == REFRESH_TOKEN:
            values[name] = str(rows[0]["value"])
        elif name == RETRY_ANCHORS:
            values[name] = json.dumps([row["anchor"] for row in rows])
        elif name == OPEN_PROBLEMS:
            keys = ("kind", "anchor", "dn", "email", "detail")
            values[name] = json.dumps([{key: row[key] for key in keys} for row in rows])
        else:
            values[name] = json.dumps([[row["anchor"], row["kind"]] for row in rows])
    return values
