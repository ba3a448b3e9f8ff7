"""Where the emulator keeps users: a small port and its in-memory adapter.

``userName`` is unique case-insensitively across the emulator, checked inside the store's lock
so two concurrent creates of one address cannot both succeed. Lookups by id and by userName are
O(1). Stored user dicts are treated as immutable: writers replace them, never mutate them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

from webex_provisioner.emulator.errors import ScimError, not_found

User = dict[str, Any]


def taken(user_name: str) -> ScimError:
    """The 409 ``uniqueness`` answer for a userName already in use."""
    return ScimError(409, f"userName {user_name!r} is already in use", "uniqueness")


class UserStore(Protocol):
    """Users by id, in creation order, with a unique case-insensitive userName."""

    generation: int
    """Grows on every change; persistence saves when it moved."""

    def get(self, user_id: str) -> User | None: ...

    def id_for_user_name(self, user_name: str) -> str | None: ...

    def users(self) -> list[User]:
        """Every user, in creation order."""
        ...

    def page(self, offset: int, count: int) -> tuple[int, list[User]]:
        """How many users there are, and at most ``count`` of them from the 0-based ``offset``
        on, in creation order (a listing's page without copying every user)."""
        ...

    def create(self, user: User) -> None:
        """Store a new user; raises ``ScimError`` 409 if its userName is taken."""
        ...

    def update(self, user_id: str, change: Callable[[User], User]) -> User:
        """Replace a user by ``change(current)`` atomically; 404 if unknown, 409 if the new
        userName is taken. ``change`` may raise ``ScimError`` to refuse."""
        ...

    def delete(self, user_id: str, deleted_at: str) -> User:
        """Remove a user (404 if unknown) and keep it in the archive with ``meta.deleted``."""
        ...

    def archived(self) -> list[User]: ...

    def reserve(self, user_name: str) -> None:
        """Mark a userName as owned outside this organization: creating it answers 409."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """Everything stored, as JSON-ready data."""
        ...

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace everything stored by a ``snapshot``."""
        ...

    def clear(self) -> None: ...


class InMemoryUserStore:
    """The ``UserStore`` adapter in process memory, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, User] = {}
        self._ids_by_name: dict[str, str] = {}
        self._archive: list[User] = []
        self._reserved: set[str] = set()
        self.generation = 0

    def get(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def id_for_user_name(self, user_name: str) -> str | None:
        return self._ids_by_name.get(user_name.casefold())

    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    def page(self, offset: int, count: int) -> tuple[int, list[User]]:
        with self._lock:
            return len(self._users), list(itertools.islice(self._users.values(), offset, offset + count))

    def _check_free(self, key: str, user_name: str) -> None:
        if key in self._ids_by_name or key in self._reserved:
            raise taken(user_name)

    def create(self, user: User) -> None:
        key = user["userName"].casefold()
        with self._lock:
            self._check_free(key, user["userName"])
            if user["id"] in self._users:
                raise ScimError(409, f"a user with id {user['id']!r} already exists", "uniqueness")
            self._users[user["id"]] = user
            self._ids_by_name[key] = user["id"]
            self.generation += 1

    def update(self, user_id: str, change: Callable[[User], User]) -> User:
        with self._lock:
            current = self._users.get(user_id)
            if current is None:
                raise not_found(f"no user with id {user_id!r}")
            new = change(current)
            old_key, new_key = current["userName"].casefold(), new["userName"].casefold()
            if new_key != old_key:
                self._check_free(new_key, new["userName"])
                del self._ids_by_name[old_key]
                self._ids_by_name[new_key] = user_id
            self._users[user_id] = new
            self.generation += 1
            return new

    def delete(self, user_id: str, deleted_at: str) -> User:
        with self._lock:
            user = self._users.pop(user_id, None)
            if user is None:
                raise not_found(f"no user with id {user_id!r}")
            del self._ids_by_name[user["userName"].casefold()]
            self._archive.append({**user, "meta": {**user["meta"], "deleted": deleted_at}})
            self.generation += 1
            return user

    def archived(self) -> list[User]:
        with self._lock:
            return list(self._archive)

    def reserve(self, user_name: str) -> None:
        with self._lock:
            self._reserved.add(user_name.casefold())
            self.generation += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "users": list(self._users.values()),
                "archive": list(self._archive),
                "reserved": sorted(self._reserved),
            }

    def restore(self, snapshot: dict[str, Any]) -> None:
        users: list[User] = list(snapshot.get("users", []))
        with self._lock:
            self._users = {u["id"]: u for u in users}
            self._ids_by_name = {u["userName"].casefold(): u["id"] for u in users}
            self._archive = list(snapshot.get("archive", []))
            self._reserved = set(snapshot.get("reserved", []))
            self.generation += 1

    def clear(self) -> None:
        self.restore({})
