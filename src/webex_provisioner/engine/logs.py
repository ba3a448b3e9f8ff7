"""Structured logs (console or JSON) and the audit log file. Never a secret in either.

Besides never logging secrets on purpose, a last processor replaces any configured secret
value that still reaches an event (in a message from a library, say) with ``***``. On the
console, values are shown with their control characters escaped (``printable``): a value from
the directory or Webex cannot move the cursor, colour the terminal or fake a log line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import structlog

from webex_provisioner.model import AuditEntry
from webex_provisioner.ports import Record

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}

# C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional controls.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

PER_ACTION_LOGGERS = frozenset({"webex_provisioner.engine.steps", "webex_provisioner.engine.group_steps"})
"""The loggers of one line per action, which a live view keeps off the console (below debug)."""


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, *, newlines: bool = False) -> str:
    """``value`` as text that is safe to print: control characters (escape sequences, ``\\r``,
    NUL, ...), line separators and bidirectional overrides are shown escaped the way Python
    writes them (``\\x1b``, ``\\r``, ``\\u202e``); ``newlines`` keeps line breaks (a
    traceback). Anything else, markup included, is left as is: printers never interpret it."""
    text = value if isinstance(value, str) else str(value)
    if not _UNPRINTABLE.search(text):
        return text
    if newlines:
        return "\n".join(_UNPRINTABLE.sub(_escaped, line) for line in text.split("\n"))
    return _UNPRINTABLE.sub(_escaped, text)


class _Quoted:
    """A text value shown by its ``repr``: quoted, its control characters escaped once."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return repr(self.text)


def escape_for_console(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: the texts of an event that hold control characters are shown
    escaped (the message made ``printable``, a value quoted as Python writes it, a traceback
    keeping its line breaks)."""
    for key, value in event.items():
        if isinstance(value, str) and _UNPRINTABLE.search(value):
            if key in ("exception", "stack"):
                event[key] = printable(value, newlines=True)
            else:
                event[key] = printable(value) if key == "event" else _Quoted(value)
    return event


class _Console:
    """Where console log lines go: the standard error of the moment (a live view that redirects
    it keeps them above itself); hides per-action lines while ``_hidden`` is set."""

    hidden = threading.Event()
    lock = threading.Lock()

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        with self.lock:
            print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _CurrentStderr:
    """A stream that writes to ``sys.stderr`` as it is when written to (for ``logging``)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _drop_hidden(logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    if _Console.hidden.is_set() and getattr(logger, "name", "") in PER_ACTION_LOGGERS:
        raise structlog.DropEvent
    return event


@contextmanager
def per_action_lines_hidden(level: str) -> Iterator[None]:
    """Keep the per-action log lines (``PER_ACTION_LOGGERS``) off the console meanwhile, unless
    ``level`` is debug: they are in the audit log."""
    if level == "debug":
        yield
        return
    _Console.hidden.set()
    try:
        yield
    finally:
        _Console.hidden.clear()


class SecretMasker:
    """A structlog processor that masks known secret values anywhere in an event."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = self.mask(value)
            elif not isinstance(value, int | float | bool | type(None)):
                event[key] = self.mask(str(value))
        return event


def configure_logging(fmt: str = "console", level: str = "info", secrets: Iterable[str] = ()) -> SecretMasker:
    """Route structlog (and the standard library's logging) to stderr in the chosen format."""
    masker = SecretMasker(secrets)
    renderers: list[Any] = (
        [structlog.processors.JSONRenderer()]
        if fmt == "json"
        else [escape_for_console, structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    )
    structlog.configure(
        processors=[
            _drop_hidden,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            masker,
            *renderers,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=_Console,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(_PrintableFormatter(logging.BASIC_FORMAT))
    logging.basicConfig(level=max(_LEVELS[level], logging.WARNING), handlers=[handler], force=True)
    return masker


class _PrintableFormatter(logging.Formatter):
    """The standard library's log lines, their message made ``printable``."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its folder) readable and writable by the owner only, if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as the JSON object of the audit log and of ``--json`` outputs."""
    return {
        "time": entry.time.isoformat(),
        "cycle_id": entry.cycle_id,
        "anchor": entry.anchor,
        "email": entry.email,
        "webex_id": entry.webex_id,
        "action": entry.action,
        "reason": entry.reason,
        "outcome": entry.outcome.value,
        "detail": entry.detail or None,
    }


class AuditLog:
    """Appends one JSON line per audit entry to a file created with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        create_private_file(path)

    def write(self, records: Sequence[Record]) -> None:
        lines = [json.dumps(audit_json(record.audit), ensure_ascii=False) for record in records]
        if not lines:
            return
        with self._lock, self.path.open("a", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
