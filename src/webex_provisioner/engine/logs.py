"""Structured logs (console or JSON) and the audit log file. Never a secret in either.

Besides never logging secrets on purpose, a last processor replaces any configured secret
value that still reaches an event (in a message from a library, say) with ``***``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from webex_provisioner.model import AuditEntry
from webex_provisioner.ports import Record

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


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
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            masker,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(_LEVELS[level], logging.WARNING), stream=sys.stderr, force=True)
    return masker


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
