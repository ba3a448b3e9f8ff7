"""TLS for the notification channels: the system's CAs, or ``notify.ca_file``; the far end's
address as messages may show it (never a URL's path, query or credentials)."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

from webex_provisioner.errors import ConfigError

USER_AGENT = "webex-provisioner/0.1"


def tls_context(ca_file: Path | None, *, key: str = "notify.ca_file") -> ssl.SSLContext:
    """A verifying TLS context trusting the system's CAs, or only ``ca_file`` when given."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            [f"{key}: {ca_file} cannot be loaded ({exc}); give the PEM file of your CA"]
        ) from exc


def origin(url: str) -> str:
    """``https://hooks.example.com:8443``: enough to say where, nothing of a secret path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
