"""Text for people: values printed as text (never markup, never a control character), numbers
with thousands separators, durations and rates in human units, and the console that prints them.
"""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.text import Text

from webex_provisioner.engine.logs import printable


def make_console(*, stderr: bool = False, file: IO[str] | None = None, width: int | None = None) -> Console:
    """A console that interprets nothing it is given as text: no markup, no emoji codes, no
    highlighting (styles come from ``Text`` objects only). Its width is the terminal's (80
    columns when the output is not a terminal, or ``COLUMNS``)."""
    return Console(
        stderr=stderr, file=file, width=width, soft_wrap=False, markup=False, emoji=False, highlight=False
    )


def plain(value: object, style: str = "") -> Text:
    """A value from the directory, Webex or the state, as text: its control characters escaped."""
    return Text(printable("" if value is None else value), style=style)


def one_line(value: object, style: str = "") -> Text:
    """Like ``plain``, cut to one line with an ellipsis where the full value is shown elsewhere
    (``users show``, ``--output``)."""
    text = plain(value, style)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def number(n: int) -> str:
    """``1234567`` -> ``1,234,567``."""
    return f"{n:,}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 user``, ``6,000 users``."""
    return f"{number(n)} {one if n == 1 else (many or one + 's')}"


def duration(seconds: float) -> str:
    """Seconds in human units: ``0.4 s``, ``12 s``, ``1 min 35 s``, ``2 h 5 min``, ``3 d 4 h``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if whole >= size:
            rest = (whole % size) // sub_size
            return f"{whole // size} {unit} {rest} {sub}" if rest else f"{whole // size} {unit}"
    return f"{whole} s"


def rate(count: int, seconds: float, unit: str) -> str:
    """``1,053 users/s``; empty when nothing was timed."""
    if count <= 0 or seconds <= 0:
        return ""
    return f"{count / seconds:,.0f} {unit}/s"
