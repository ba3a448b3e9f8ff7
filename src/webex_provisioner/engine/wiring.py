"""Wiring: builds the adapters a configuration names and hands them to a cycle.

The only module that knows every adapter. Opening is ordered so that a problem that can be
found without a server (an unwritable state file, say) is found before any server is contacted.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog

from webex_provisioner.config import Config
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.engine.cycle import Cycle, utc_now
from webex_provisioner.engine.logs import AuditLog
from webex_provisioner.errors import ProvisionerError, StateError, StateLockedError
from webex_provisioner.ports import DirectorySource, Record, StateStore, WebexClient
from webex_provisioner.state import open_state_store
from webex_provisioner.webex import ScimWebexClient

log = structlog.get_logger("webex_provisioner.engine.wiring")

REFRESH_TOKEN_WATERMARK = "webex.oauth.refresh_token"  # noqa: S105 - a watermark name, not a secret


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
    return open_state_store(config.state)


def directory_for(config: Config) -> LdapDirectory:
    email_rule = config.mapping["email"]
    return LdapDirectory(
        config.directory,
        config.directory_attributes(),
        email_attribute=email_rule.source or "mail",
    )


def webex_for(config: Config, store: StateStore, *, persist_refresh: bool) -> ScimWebexClient:
    stored = store.get_watermark(REFRESH_TOKEN_WATERMARK) if config.webex.oauth else None

    def keep(token: str) -> None:
        if persist_refresh:
            store.set_watermark(REFRESH_TOKEN_WATERMARK, token)

    return ScimWebexClient(config.webex, refresh_token=stored, on_refresh_token=keep)


INSTANCE_ENV = "WEBEX_PROVISIONER_INSTANCE"


def instance_name() -> str:
    """This process's name in locks and announcements: ``host:pid``, or ``$WEBEX_PROVISIONER_INSTANCE``."""
    return os.environ.get(INSTANCE_ENV) or f"{socket.gethostname()}:{os.getpid()}"


def _dead_local_owner(owner: str | None) -> bool:
    """Whether ``owner`` names a process on this host that no longer runs."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@contextmanager
def cycle_lock(store: StateStore, owner: str, *, ttl: float = 120.0) -> Iterator[threading.Event]:
    """Hold the state store's cycle lock for the duration, renewing it in the background.

    A lock left by a killed process on this host is taken over at once; one held by a live
    instance (here or elsewhere) makes this fail with ``StateLockedError``. The event yielded is
    set if the lock is lost (another instance took it after renewals failed for ``ttl``): the
    holder must stop applying at once.
    """
    if not store.acquire_lock(owner, ttl):
        holder = store.lock_owner()
        if _dead_local_owner(holder):
            assert holder is not None
            store.release_lock(holder)
        if not store.acquire_lock(owner, ttl):
            raise StateLockedError(
                f"another instance ({holder}) is running a cycle on this state store; wait for it to "
                "finish, or stop it. A lock left by a crashed instance on another host expires after "
                f"{ttl:.0f} s"
            )
    stop, lost = threading.Event(), threading.Event()

    def renew() -> None:
        renewed = time.monotonic()
        while not stop.wait(ttl / 4):
            try:
                if store.acquire_lock(owner, ttl):
                    renewed = time.monotonic()
                    continue
                log.error("lock.lost", owner=owner, holder=store.lock_owner())
            except ProvisionerError as exc:
                if time.monotonic() - renewed < ttl:
                    log.warning("lock.renewal_failed", owner=owner, error=exc.message)
                    continue
                log.error("lock.lost", owner=owner, error=exc.message)
            lost.set()
            return

    heartbeat = threading.Thread(target=renew, name="lock-heartbeat", daemon=True)
    heartbeat.start()
    try:
        yield lost
    finally:
        stop.set()
        heartbeat.join()
        if not lost.is_set():
            store.release_lock(owner)


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
        progress: Callable[[int, int], Callable[[int], None]] | None = None,
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
            owner=instance_name(),
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
        webex = webex_for(config, store, persist_refresh=not read_only or keeps_refresh_token)
        stack.callback(webex.close)
        directory = directory_for(config)
        stack.callback(directory.close)
        yield Engine(config, directory, webex, store, audit_log)
