"""Which configured connections would carry a secret in clear, and to where. Pure: no I/O.

* ``directory.url`` ``ldap://`` without ``start_tls`` sends the bind password in clear;
* ``webex.url`` ``http://`` sends the bearer token (and the OAuth client secret) in clear;
* a PostgreSQL ``state`` URL whose ``sslmode`` does not verify the server's certificate lets
  anyone on the path read the database, which holds the rotated OAuth refresh token.

Each is refused by the configuration unless the host is the loopback (127.0.0.0/8, ``::1``,
``localhost``; for PostgreSQL also a Unix socket) or the section's ``allow_insecure`` says to
accept it, in which case every start logs a warning. A PostgreSQL URL without ``sslmode`` to
another host gets ``sslmode=verify-full`` (``postgres_sslmode``).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

VERIFYING_SSLMODES = frozenset({"verify-ca", "verify-full"})
DEFAULT_SSLMODE = "verify-full"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine's loopback: 127.0.0.0/8, ``::1``, ``localhost`` (and
    ``*.localhost``). Any other name is not loopback, even one that resolves to it today."""
    if not host:
        return False
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def url_host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def ldap_cleartext(url: str, *, start_tls: bool, binds: bool) -> str | None:
    """Why a directory at ``url`` would get the bind password in clear, or ``None``."""
    if not binds or start_tls or not url.lower().startswith("ldap://") or is_loopback(url_host(url)):
        return None
    return f"{url} is plain LDAP to a host that is not this machine: the bind password travels in clear"


def http_cleartext(url: str) -> str | None:
    """Why Webex at ``url`` would get the token in clear, or ``None``."""
    if not url.lower().startswith("http://") or is_loopback(url_host(url)):
        return None
    return f"{url} is plain HTTP to a host that is not this machine: the Webex token travels in clear"


def postgres_hosts(url: str) -> list[str]:
    """The hosts a PostgreSQL URL connects to (``host=`` in the query included); ``[]`` for the
    local Unix socket."""
    parts = urlsplit(url)
    hosts = [parts.hostname] if parts.hostname else []
    for value in parse_qs(parts.query).get("host", []):
        hosts += [h for h in value.split(",") if h]
    return hosts


def is_postgres(url: str) -> bool:
    return url.partition("://")[0].lower().partition("+")[0] in _POSTGRES_SCHEMES


def postgres_sslmode(url: str) -> str | None:
    """The ``sslmode`` a PostgreSQL URL asks for, or ``None`` when it says nothing."""
    modes = parse_qs(urlsplit(url).query).get("sslmode")
    return modes[-1].strip().lower() if modes else None


def is_local_postgres(url: str) -> bool:
    """Whether every host of the URL is the loopback or a Unix socket (a path)."""
    return all(host.startswith("/") or is_loopback(host) for host in postgres_hosts(url))


def postgres_cleartext(url: str) -> str | None:
    """Why a PostgreSQL state at ``url`` could be read on the network, or ``None``. Without
    ``sslmode`` the adapter asks for ``verify-full``, so only a weaker explicit mode counts."""
    if not is_postgres(url) or is_local_postgres(url):
        return None
    mode = postgres_sslmode(url)
    if mode is None or mode in VERIFYING_SSLMODES:
        return None
    return (
        f"sslmode={mode} does not verify the database server's certificate: anyone on the network "
        "path can read the state, which holds the rotated OAuth refresh token"
    )
