"""Values the configuration validates: durations, DNs, listen addresses; URLs shown masked."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import ldap.dn
from pydantic import Field

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|[smhdw])\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """``30d``, ``12h``, ``90s``, ``2w``, ``0.5s``, ``500ms`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])
    raise ValueError(f"{value!r} is not a duration; write it like 500ms, 90s, 15m, 12h, 30d or 2w")


Duration = Annotated[timedelta, Field(json_schema_extra={"format": "duration"})]


def check_dn(value: str) -> str:
    try:
        ldap.dn.str2dn(value)
    except Exception as exc:  # python-ldap raises DECODING_ERROR and friends
        raise ValueError(f"{value!r} is not a valid DN (e.g. ou=people,dc=example,dc=com)") from exc
    return value


def listen_address(value: str) -> tuple[str, int]:
    """``127.0.0.1:9464`` or ``[::1]:9464`` as (host, port)."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT; write it like 127.0.0.1:9464 (or null to turn it off)")
    return host, int(port)


_QUERY_PASSWORD = re.compile(r"(?i)(^|&)(password=)[^&]*")


def mask_url(url: str, kind: str = "URL") -> str:
    """``url`` with any password (in the authority, or a ``password=`` query value) replaced by
    ``***``, to be shown in a message; a text that does not parse as a URL but might hold a
    password is not shown at all."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or ("@" in url and "@" not in parts.netloc and "@" not in parts.query):
        return f"<a {kind} that cannot be parsed>" if "@" in url or "password" in url.lower() else url
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    query = _QUERY_PASSWORD.sub(r"\1\2***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def header_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent in an ``Authorization`` header, without showing it: the first
    character that is not visible ASCII (a line break, a blank, a control or non-ASCII character),
    or ``None`` when every character can be sent."""
    for position, char in enumerate(token, start=1):
        if not "!" <= char <= "~":
            return f"it holds U+{ord(char):04X} at character {position}; a token is one line of visible ASCII"
    return None
