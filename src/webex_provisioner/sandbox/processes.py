"""What every throwaway server of the sandbox needs: a free loopback port, a polite stop, LDAP
values as bytes, and a bound administrator connection."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any

import ldap

HOST = "127.0.0.1"

Values = str | bytes | Sequence[str | bytes]


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now, on ``host`` (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def terminate(popen: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    if popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        try:
            popen.wait(grace)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def ldap_values(values: Values) -> list[bytes]:
    """One value or several, as the list of bytes python-ldap takes."""
    items = [values] if isinstance(values, str | bytes) else list(values)
    return [v.encode("utf-8") if isinstance(v, str) else v for v in items]


def bind(uri: str, dn: str, password: str, *, referrals: bool = True) -> Any:
    """A python-ldap connection to ``uri`` bound as ``dn`` (protocol 3, short timeouts); the
    caller unbinds it."""
    conn = ldap.initialize(uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    if not referrals:
        conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 5.0)
    conn.set_option(ldap.OPT_TIMEOUT, 30.0)
    conn.simple_bind_s(dn, password)
    return conn


@contextlib.contextmanager
def bound(conn: Any) -> Iterator[Any]:
    """Unbind ``conn`` when the block ends."""
    try:
        yield conn
    finally:
        conn.unbind_s()
