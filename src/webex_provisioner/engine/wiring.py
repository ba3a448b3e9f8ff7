"""Wiring: builds the adapters a configuration names and hands them to a cycle.

The only module that knows every adapter. Opening is ordered so that a problem that can be
found without a server (an unwritable state file, say) is found before any server is contacted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from webex_provisioner.config import Config
from webex_provisioner.config.risks import accepted_insecure
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.changes import open_change_feed
from webex_provisioner.engine.cycle import Cycle
from webex_provisioner.engine.logs import AuditLog
from webex_provisioner.engine.report import Phase, utc_now
from webex_provisioner.errors import StateError
from webex_provisioner.ports import (
    ChangeFeed,
    DirectorySource,
    Record,
    StateStore,
    StoredRefreshToken,
    WebexClient,
)
from webex_provisioner.state import open_state_store
from webex_provisioner.webex import ScimWebexClient

log = structlog.get_logger("webex_provisioner.engine.wiring")


def config_secrets(config: Config) -> list[str]:
    """Every secret value in the configuration, for masking."""
    secrets: list[str] = []
    if config.directory.bind_password:
        secrets.append(config.directory.bind_password.get_secret_value())
    if config.webex.token:
        secrets.append(config.webex.token.get_secret_value())
    if config.webex.oauth:
        secrets += [
            config.webex.oauth.client_secret.get_secret_value(),
            config.webex.oauth.refresh_token.get_secret_value(),
        ]
    if config.notify is not None:
        secrets += config.notify.secrets()
    return secrets


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///PATH`` URL (None for other stores and in-memory SQLite)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return Path(path) if path and path != ":memory:" else None


def open_store(config: Config, *, read_only: bool = False) -> StateStore:
    """The configured state store. ``read_only`` never creates anything: a missing SQLite file
    reads as an empty state (a first ``plan`` before any ``sync``)."""
    path = sqlite_path(config.state)
    if read_only and path is not None and not path.exists():
        return open_state_store("sqlite://")
    warn_insecure(config, "state_allow_insecure")
    return open_state_store(config.state)


def warn_insecure(config: Config, *keys: str) -> None:
    """Log a warning for each of ``keys`` that lets a secret travel in clear (``allow_insecure``)."""
    for key, detail in accepted_insecure(config).items():
        if key in keys:
            log.warning("config.insecure", key=key, detail=detail)


def directory_for(config: Config) -> LdapDirectory:
    email_rule = config.mapping["email"]
    return LdapDirectory(
        config.directory,
        config.directory_attributes(),
        email_attribute=email_rule.source or "mail",
        groups=config.groups,
        labels=config.license_labels(),
    )


def token_digest(token: str) -> str:
    """A digest of a configured refresh token, stored to tell whether the configuration changed."""
    return hashlib.sha256(token.encode()).hexdigest()


def prefer_stored(configured: str, stored: StoredRefreshToken | None) -> bool:
    """Whether the stored (rotated) refresh token replaces the configured one: yes, unless the
    configured token changed since the stored one was saved (an administrator set a new one after
    a revocation). A token stored before this was tracked (``replaces`` empty) is preferred."""
    if stored is None:
        return False
    return not stored.replaces or stored.replaces == token_digest(configured)


def webex_for(config: Config, store: StateStore, *, persist_refresh: bool) -> ScimWebexClient:
    """The Webex client; with ``webex.oauth``, starting from the right refresh token and storing
    every refresh token Webex rotates in (``persist_refresh``)."""
    oauth = config.webex.oauth
    if oauth is None:
        return ScimWebexClient(config.webex)
    configured = oauth.refresh_token.get_secret_value()
    stored = store.refresh_token()
    use_stored = prefer_stored(configured, stored)
    if stored is not None and not use_stored:
        log.info(
            "webex.refresh_token_configured",
            detail="webex.oauth.refresh_token changed since a rotated token was stored; "
            "using the configured one",
        )

    def keep(token: str) -> None:
        if persist_refresh:
            store.save_refresh_token(StoredRefreshToken(token, token_digest(configured), utc_now()))

    start = stored.value if stored is not None and use_stored else None
    return ScimWebexClient(config.webex, refresh_token=start, on_refresh_token=keep)


def open_feed(config: Config, directory: DirectorySource) -> ChangeFeed | None:
    """The change feed of ``config`` for an LDAP directory source (``None`` for any other, or
    with ``directory.change_detection: none``)."""
    if not isinstance(directory, LdapDirectory):
        return None
    return open_change_feed(config.directory, directory)


@dataclass
class Engine:
    """The configured ports, open."""

    config: Config
    directory: DirectorySource
    webex: WebexClient
    store: StateStore
    audit_log: AuditLog | None

    def cycle(
        self,
        *,
        progress: Callable[[int, int], Callable[[int, int], None]] | None = None,
        phase: Callable[[Phase], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> Cycle:
        def on_records(records: Sequence[Record]) -> None:
            if self.audit_log is not None:
                self.audit_log.write(records)

        return Cycle(
            self.config,
            directory=self.directory,
            webex=self.webex,
            store=self.store,
            on_records=on_records,
            progress=progress,
            phase=phase,
            clock=clock,
        )


@contextmanager
def open_engine(config: Config, *, read_only: bool = False) -> Iterator[Engine]:
    """Open the state store, then the directory and Webex clients; close all on exit.

    ``read_only`` writes nothing, with one exception: with ``webex.oauth``, a refresh token that
    Webex rotates is stored (creating the state if needed), since the old one no longer works.
    """
    keeps_refresh_token = config.webex.oauth is not None
    with ExitStack() as stack:
        store = open_store(config, read_only=read_only and not keeps_refresh_token)
        stack.callback(store.close)
        audit_log = None
        if not read_only and config.logging.audit_log is not None:
            try:
                audit_log = AuditLog(config.logging.audit_log)
            except OSError as exc:
                raise StateError(
                    f"the audit log {config.logging.audit_log} cannot be written ({exc.strerror}); "
                    "fix its folder's permissions or set logging.audit_log"
                ) from exc
        warn_insecure(config, "directory.allow_insecure", "webex.allow_insecure")
        webex = webex_for(config, store, persist_refresh=not read_only or keeps_refresh_token)
        stack.callback(webex.close)
        directory = directory_for(config)
        stack.callback(directory.close)
        yield Engine(config, directory, webex, store, audit_log)
