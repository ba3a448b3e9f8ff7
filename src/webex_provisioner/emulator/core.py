"""One emulated Webex organization: its settings and the parts that serve it, wired together.

``Emulator`` is what the HTTP app serves and what ``EmulatorServer`` exposes to tests: the
users (``UserService``), groups (``GroupService``), licences (``LicenseService`` over a
``LicenseBook``), the People view, the posted messages, the fault switches, the bearer tokens
and the request log. Deleting a user takes it out of its groups and frees its licences.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webex_provisioner.emulator.auth import TokenAuthority
from webex_provisioner.emulator.faults import Faults
from webex_provisioner.emulator.group_store import GroupStore
from webex_provisioner.emulator.groups import GroupLimits, GroupService
from webex_provisioner.emulator.license_book import LicenseBook, make_license
from webex_provisioner.emulator.licenses import LicenseService, Overflow, render
from webex_provisioner.emulator.messages import BOT_EMAIL, MessageBoard
from webex_provisioner.emulator.people import PeopleService
from webex_provisioner.emulator.service import UserService, seed_body
from webex_provisioner.emulator.store import InMemoryUserStore, UserStore

RequestLogEntry = tuple[str, str, int]


@dataclass(frozen=True)
class EmulatorConfig:
    """Settings of one emulated organization. Only ``org_id`` is required."""

    org_id: str
    token: str | None = None
    """The static bearer token; valid until revoked."""
    oauth_clients: Mapping[str, str] = field(default_factory=dict)
    """Client id → client secret accepted by ``POST /v1/access_token``."""
    refresh_tokens: tuple[str, ...] = ()
    """Refresh tokens accepted at start."""
    token_lifetime: int = 3600
    """Seconds an access token from the refresh grant stays valid (``expires_in``)."""
    rotate_refresh_tokens: bool = True
    """Each refresh returns a new refresh token and invalidates the one used."""
    default_count: int = 100
    max_count: int = 1000
    """Searches return at most this many users per page, whatever ``count`` asks."""
    max_bulk_operations: int = 100
    wrong_org_status: int = 404
    """The answer for an organization id in the path that is not ``org_id`` (404 or 403)."""
    request_log_size: int = 100_000
    unique_group_names: bool = True
    """A group's displayName is unique ignoring case (409 ``uniqueness``)."""
    max_members_per_patch: int | None = 500
    """A group PATCH may name at most this many members (400 beyond); ``None``: no limit."""
    max_group_members: int | None = 250_000
    """A group holds at most this many members (400 beyond); ``None``: no limit."""
    members_in_group_resource: int = 500
    """A group resource lists at most this many members; ``/Groups/{id}/Members`` pages them all."""
    licenses: Mapping[str, int] = field(default_factory=dict)
    """Licence name → total units, present from the start and after every ``reset()``."""
    license_overflow: Overflow = "partial"
    """An add without a free unit: ``partial`` (skipped, answer 206) or ``error`` (whole request 400)."""
    bot_email: str = BOT_EMAIL
    """The author of the messages posted through ``/v1/messages``."""
    rooms: tuple[str, ...] = ()
    """The space ids ``/v1/messages`` accepts; empty: any."""


class Emulator:
    """The state behind one emulated organization (no HTTP here; see ``app.create_app``)."""

    def __init__(self, config: EmulatorConfig, store: UserStore | None = None) -> None:
        self.config = config
        self.store: UserStore = store if store is not None else InMemoryUserStore()
        self.service = UserService(
            self.store, config.org_id, default_count=config.default_count, max_count=config.max_count
        )
        self.group_store = GroupStore(unique_names=config.unique_group_names)
        limits = GroupLimits(
            config.max_members_per_patch, config.max_group_members, config.members_in_group_resource
        )
        self.groups = GroupService(
            self.group_store,
            self.store,
            config.org_id,
            limits=limits,
            default_count=config.default_count,
            max_count=config.max_count,
        )
        seeded = [make_license(config.org_id, name, units) for name, units in config.licenses.items()]
        self.book = LicenseBook(config.org_id, seeded)
        self.people = PeopleService(
            self.store, self.book, config.org_id, wrong_org_status=config.wrong_org_status
        )
        self.licenses = LicenseService(self.book, self.people, overflow=config.license_overflow)
        self.messages = MessageBoard(bot_email=config.bot_email, rooms=config.rooms)
        self.service.deletion_listeners += [self.groups.forget_user, self.book.release]
        self.faults = Faults()
        self.auth = TokenAuthority(
            config.token,
            oauth_clients=config.oauth_clients,
            refresh_tokens=config.refresh_tokens,
            token_lifetime=config.token_lifetime,
            rotate_refresh_tokens=config.rotate_refresh_tokens,
        )
        self._log: deque[RequestLogEntry] = deque(maxlen=config.request_log_size)
        self.epoch = 0
        """Grows on every ``reset()``; a request that began before a reset is not logged after it."""

    def log_request(self, method: str, path: str, status: int, epoch: int) -> None:
        """Log a request that began in ``epoch`` (dropped if the emulator was reset since)."""
        if epoch == self.epoch:
            self._log.append((method, path, status))

    @property
    def request_log(self) -> list[RequestLogEntry]:
        """``(method, path, status)`` of every request served, oldest first."""
        return list(self._log)

    def users(self, base: str) -> list[dict[str, Any]]:
        """Every stored user as the API would return it under ``base`` (deep copies)."""
        return [copy.deepcopy(self.service.render(u, base)) for u in self.store.users()]

    def user(self, user_id: str, base: str) -> dict[str, Any] | None:
        """One stored user as the API would return it (a deep copy), or ``None``."""
        user = self.store.get(user_id)
        return None if user is None else copy.deepcopy(self.service.render(user, base))

    def add_user(self, resource: Mapping[str, Any], base: str) -> dict[str, Any]:
        """Seed a user without HTTP, validated like a POST; an ``id`` in ``resource`` is kept."""
        user_id = resource.get("id")
        user = self.service.create(seed_body(resource), user_id=user_id if isinstance(user_id, str) else None)
        return copy.deepcopy(self.service.render(user, base))

    def archived_users(self) -> list[dict[str, Any]]:
        """Deleted users as they were, with ``meta.deleted`` (deep copies)."""
        return copy.deepcopy(self.store.archived())

    def group_list(self, base: str) -> list[dict[str, Any]]:
        """Every group as ``GET /Groups/{id}`` returns it under ``base``, creation order."""
        return [self.groups.render(g, base) for g in self.group_store.groups()]

    def group(self, group_id: str, base: str) -> dict[str, Any] | None:
        record = self.group_store.get(group_id)
        return None if record is None else self.groups.render(record, base)

    def add_group(self, resource: Mapping[str, Any], base: str) -> dict[str, Any]:
        """Seed a group without HTTP, validated like a POST; an ``id`` in ``resource`` is kept."""
        body = dict(resource)
        body.setdefault("schemas", ["urn:ietf:params:scim:schemas:core:2.0:Group"])
        group_id = resource.get("id")
        record = self.groups.create(body, group_id=group_id if isinstance(group_id, str) else None)
        return self.groups.render(record, base)

    def add_license(self, name: str, units: int, **options: Any) -> dict[str, Any]:
        """Add a licence (or set the units of the one with that name); returns it as listed."""
        licence = self.book.put(self.book.make(name, units, **options))
        return render(licence, self.book.consumed(licence.id))

    @property
    def generation(self) -> int:
        """Grows on every change of users, groups or licences (persistence saves when it moved)."""
        return self.store.generation + self.group_store.generation + self.book.generation

    def snapshot(self) -> dict[str, Any]:
        """Users, groups and licences as JSON-ready data (the ``--data`` file's content)."""
        return {**self.store.snapshot(), "groups": self.group_store.snapshot(), **self.book.snapshot()}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace users, groups and licences by a ``snapshot`` (older files without groups or
        licences load too); the configured licences are kept, with their configured units."""
        self.store.restore(dict(snapshot))
        self.group_store.restore(snapshot.get("groups", []))
        self.book.restore(snapshot)

    def reset(self) -> None:
        """Back to an empty organization: no users, groups, assignments or messages (the configured
        licences stay, all units free), faults off, only the configured tokens, empty log."""
        self.store.clear()
        self.group_store.clear()
        self.book.reset()
        self.messages.clear()
        self.faults.reset()
        self.auth.reset()
        self.epoch += 1
        self._log.clear()
