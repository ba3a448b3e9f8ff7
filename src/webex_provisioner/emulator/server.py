"""Run the emulator over real HTTP: in a background thread for tests, or in the foreground for the CLI.

``EmulatorServer`` binds its socket when started (port 0 picks a free port, so ``url`` is known
at once), serves with uvicorn (h11, one event loop) and stops within a fraction of a second.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import uvicorn

from webex_provisioner.emulator import persistence, webex_ids
from webex_provisioner.emulator.app import create_app
from webex_provisioner.emulator.core import Emulator, EmulatorConfig, RequestLogEntry
from webex_provisioner.emulator.faults import Faults
from webex_provisioner.emulator.license_book import LicenseChange
from webex_provisioner.emulator.licenses import Overflow
from webex_provisioner.emulator.messages import BOT_EMAIL

_START_TIMEOUT = 10.0


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore(signum: int, frame: FrameType | None) -> None:
    return None


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class EmulatorServer:
    """A Webex emulator on ``host``:``port``, with helpers for tests.

    Use it as a context manager (``with EmulatorServer(org_id="o", token="t") as server:``) or
    call ``start()``/``stop()``. Fault switches are on ``server.faults``.
    """

    def __init__(
        self,
        org_id: str,
        token: str | None = None,
        *,
        data_file: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        oauth_clients: Mapping[str, str] | None = None,
        refresh_tokens: Iterable[str] = (),
        token_lifetime: int = 3600,
        rotate_refresh_tokens: bool = True,
        default_count: int = 100,
        max_count: int = 1000,
        max_bulk_operations: int = 100,
        wrong_org_status: int = 404,
        autosave_interval: float = 1.0,
        ssl_certfile: str | Path | None = None,
        ssl_keyfile: str | Path | None = None,
        unique_group_names: bool = True,
        max_members_per_patch: int | None = 500,
        max_group_members: int | None = 250_000,
        members_in_group_resource: int = 500,
        licenses: Mapping[str, int] | None = None,
        license_overflow: Overflow = "partial",
        bot_email: str = BOT_EMAIL,
        rooms: Iterable[str] = (),
    ) -> None:
        self.config = EmulatorConfig(
            org_id=org_id,
            token=token,
            oauth_clients=dict(oauth_clients or {}),
            refresh_tokens=tuple(refresh_tokens),
            token_lifetime=token_lifetime,
            rotate_refresh_tokens=rotate_refresh_tokens,
            default_count=default_count,
            max_count=max_count,
            max_bulk_operations=max_bulk_operations,
            wrong_org_status=wrong_org_status,
            unique_group_names=unique_group_names,
            max_members_per_patch=max_members_per_patch,
            max_group_members=max_group_members,
            members_in_group_resource=members_in_group_resource,
            licenses=dict(licenses or {}),
            license_overflow=license_overflow,
            bot_email=bot_email,
            rooms=tuple(rooms),
        )
        self.emulator = Emulator(self.config)
        self.host = host
        self.port = port
        self.ssl_certfile = ssl_certfile
        """With ``ssl_keyfile``, serve HTTPS with this PEM certificate (chain)."""
        self.ssl_keyfile = ssl_keyfile
        self.data_file = Path(data_file) if data_file is not None else None
        self._autosaver = self._load(autosave_interval)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def _load(self, autosave_interval: float) -> persistence.AutoSaver | None:
        """Load the data file (if any) and prepare saving it back."""
        if self.data_file is None:
            return None
        snapshot = persistence.load(self.data_file, self.org_id)
        if snapshot is not None:
            self.emulator.restore(snapshot)
        return persistence.AutoSaver(self.emulator, self.data_file, self.org_id, autosave_interval)

    # ----------------------------------------------------------------------- addresses

    @property
    def org_id(self) -> str:
        return self.config.org_id

    @property
    def token(self) -> str | None:
        return self.config.token

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (``https://`` with a certificate; the port chosen is known once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_certfile else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def scim_url(self) -> str:
        """``{url}/identity/scim/{org_id}/v2``, the base of the SCIM endpoints."""
        return f"{self.url}/identity/scim/{self.org_id}/v2"

    @property
    def v1_url(self) -> str:
        """``{url}/v1``, the base of the licences, people and messages endpoints."""
        return f"{self.url}/v1"

    @property
    def webex_org_id(self) -> str:
        """The organization's id as the ``/v1`` APIs write it (base64 ``ciscospark://us/ORGANIZATION/…``)."""
        return webex_ids.encode(webex_ids.ORGANIZATION, self.org_id)

    @staticmethod
    def person_id(user_id: str) -> str:
        """The People API id of a SCIM user id."""
        return webex_ids.encode(webex_ids.PEOPLE, user_id)

    # ----------------------------------------------------------------------- running

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
        # without it every answer waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        return sock

    def _uvicorn(self, *, quiet: bool) -> uvicorn.Server:
        config = uvicorn.Config(
            create_app(self.emulator),
            http="h11",
            lifespan="off",
            log_level="warning",
            access_log=False,
            log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
            timeout_graceful_shutdown=1,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        return uvicorn.Server(config)

    def start(self) -> Self:
        """Serve in a background thread; returns once the server accepts connections."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        self._socket = self._bind()
        self._server = self._uvicorn(quiet=True)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="webex-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start on {self.url}")
            time.sleep(0.005)
        if self._autosaver is not None:
            self._autosaver.start()
        return self

    def stop(self) -> None:
        """Stop serving and save the data file (if any)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        if self._autosaver is not None:
            self._autosaver.stop()

    def run(self, announce: Callable[[str], None] = _print_to_stderr) -> None:
        """Serve in the foreground until SIGINT or SIGTERM, then save the data (if a data file is set)."""
        sock = self._bind()
        server = self._uvicorn(quiet=False)
        where = f"data in {self.data_file}" if self.data_file else "data kept in memory only"
        announce(
            f"Webex emulator for organization {self.org_id} at {self.scim_url} ({where}); Ctrl+C stops it"
        )
        if self._autosaver is not None:
            self._autosaver.start()
        # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
        # it found; a no-op one lets this function return normally, so the users get saved.
        in_main_thread = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, _ignore) for sig in _STOP_SIGNALS} if in_main_thread else {}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            sock.close()
            if self._autosaver is not None:
                self._autosaver.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ----------------------------------------------------------------------- test helpers

    @property
    def faults(self) -> Faults:
        """The fault switches (``rate_limit``, ``fail_rate``, ``latency_ms``, ``fail_next``, ...)."""
        return self.emulator.faults

    @property
    def request_log(self) -> list[RequestLogEntry]:
        """``(method, path, status)`` of every request served since start or ``reset()``."""
        return self.emulator.request_log

    def users(self) -> list[dict[str, Any]]:
        """Every stored user, as the API returns it (creation order)."""
        return self.emulator.users(self.scim_url)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """One stored user as the API returns it, or ``None``."""
        return self.emulator.user(user_id, self.scim_url)

    def add_user(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Seed a user directly (validated like a POST; an ``id`` given is kept); returns it."""
        return self.emulator.add_user(resource, self.scim_url)

    def archived_users(self) -> list[dict[str, Any]]:
        """Deleted users, with ``meta.deleted``; never served over HTTP."""
        return self.emulator.archived_users()

    def reserve_user_name(self, user_name: str) -> None:
        """Pretend another Webex organization owns ``user_name``: creating it answers 409."""
        self.emulator.store.reserve(user_name)

    def groups(self) -> list[dict[str, Any]]:
        """Every group as ``GET /Groups/{id}`` returns it (creation order; members capped the same way)."""
        return self.emulator.group_list(self.scim_url)

    def group(self, group_id: str) -> dict[str, Any] | None:
        """One group as the API returns it, or ``None``."""
        return self.emulator.group(group_id, self.scim_url)

    def add_group(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Seed a group directly (validated like a POST; schemas may be left out; an ``id`` is kept)."""
        return self.emulator.add_group(resource, self.scim_url)

    def group_members(self, group_id: str) -> list[str]:
        """The ids of every member of a group, in the order they were added (no page limit)."""
        return [member_id for member_id, _ in self.emulator.group_store.member_ids(group_id)]

    def groups_of(self, member_id: str) -> set[str]:
        """The ids of the groups a user (or group) is a direct member of."""
        return set(self.emulator.group_store.groups_of(member_id))

    def add_license(self, name: str, units: int, **options: Any) -> dict[str, Any]:
        """Add a licence (or set the units of the one with that name) and return it as listed.
        ``options``: ``calling`` (default: the name contains "Calling"), ``subscription_id``,
        ``site_url``, ``site_type``."""
        return self.emulator.add_license(name, units, **options)

    def give_license(self, user_id: str, name: str) -> None:
        """Assign the licence called ``name`` to a SCIM user, as an administrator would in Control
        Hub (``KeyError`` when there is no such licence)."""
        found = [lic for lic in self.emulator.book.licenses() if lic.name.casefold() == name.casefold()]
        if not found:
            raise KeyError(f"no licence named {name!r}")
        self.emulator.book.assign(user_id, [LicenseChange(found[0].id, "add")])

    def licenses(self) -> list[dict[str, Any]]:
        """Every licence as ``GET /v1/licenses`` lists it, with its consumed units."""
        return list(self.emulator.licenses.list_all({})["items"])

    def user_licenses(self, user_id: str) -> list[str]:
        """The ids of the licences a SCIM user holds."""
        return list(self.emulator.book.held_by(user_id))

    def messages(self, room_id: str | None = None) -> list[dict[str, Any]]:
        """Messages posted through ``/v1/messages`` (to one space, or all), oldest first."""
        return self.emulator.messages.messages(room_id)

    def revoke(self, token: str) -> None:
        """Make a token (the static one, an access or a refresh token) invalid."""
        self.emulator.auth.revoke(token)

    def expire_access_tokens(self) -> None:
        """Expire every access token issued by ``/v1/access_token`` so far."""
        self.emulator.auth.expire_access_tokens()

    def reset(self) -> None:
        """No users, groups, licence assignments or messages; the configured licences with all units
        free; faults off; configured tokens only; empty request log."""
        self.emulator.reset()

    def save(self) -> None:
        """Write the data file now (when one is set and something changed)."""
        if self._autosaver is not None:
            self._autosaver.save_if_changed()


def serve(
    host: str,
    port: int,
    org_id: str,
    token: str | None,
    data: str | Path | None = None,
    rate_limit: int | None = None,
    fail_rate: float = 0.0,
    latency_ms: int = 0,
    *,
    announce: Callable[[str], None] = _print_to_stderr,
    **options: Any,
) -> None:
    """Run the emulator in the foreground until SIGINT/SIGTERM (``webex-provisioner emulator``).

    ``options`` are the other ``EmulatorServer`` settings (``oauth_clients``, ``refresh_tokens``,
    ``token_lifetime``, ``max_count``, ``licenses``, ...). Users, groups and licences are saved to
    ``data`` on the way out.
    """
    server = EmulatorServer(org_id, token, data_file=data, host=host, port=port, **options)
    server.faults.rate_limit = rate_limit
    server.faults.fail_rate = fail_rate
    server.faults.latency_ms = latency_ms
    server.run(announce)
