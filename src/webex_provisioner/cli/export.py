"""``--output FILE``: the complete plan or result in a file, CSV or JSON by its extension.

CSV has one row per action (and per user left alone), with the attribute changes, for a
spreadsheet; JSON is what ``--json`` prints, for a script. The file is created readable by its
owner only: it holds directory data.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from webex_provisioner.cli.base import emit_json
from webex_provisioner.cli.rows import Section
from webex_provisioner.engine.logs import create_private_file

CSV_COLUMNS = (
    "resource",
    "action",
    "reason",
    "status",
    "subject",
    "changes",
    "detail",
    "anchor",
    "dn",
    "webex_id",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a spreadsheet recognises a formula: a cell starting so gets a leading ``'`` (text)."""


def output_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--output FILE`` option of a command that writes ``what``."""
    return click.option(
        "--output",
        "output",
        metavar="FILE",
        type=click.Path(dir_okay=False, path_type=Path),
        callback=_check_extension,
        help=f"Write the complete {what} to FILE: CSV (one row per action) or JSON, by its extension.",
    )


def _check_extension(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """A FILE ending in .csv or .json that can be written: created now (owner only), before the
    command reads or changes anything."""
    if value is None:
        return None
    if value.suffix.lower() not in (".csv", ".json"):
        raise click.BadParameter("FILE must end in .csv or .json", param_hint="--output")
    try:
        create_private_file(value)
    except OSError as exc:
        raise click.BadParameter(
            f"{value} cannot be written ({exc.strerror})", param_hint="--output"
        ) from exc
    return value


def _cell(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def write_output(path: Path, sections: Sequence[Section], data: Callable[[], Any]) -> None:
    """Write every row of ``sections`` as CSV, or ``data()`` as JSON, to ``path``."""
    with path.open("w", encoding="utf-8", newline="") as file:
        if path.suffix.lower() == ".json":
            emit_json(data(), file)
            return
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for section in sections:
            for row in section.rows():
                writer.writerow([_cell(str(getattr(row, column))) for column in CSV_COLUMNS])
