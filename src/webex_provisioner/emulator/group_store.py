"""Where the emulator keeps groups: records by id, name and externalId indexes, the membership.

One lock guards everything, so a write's uniqueness check, its record and its member changes
are one atomic step. ``displayName`` is unique ignoring case when ``unique_names`` is on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webex_provisioner.emulator.errors import ScimError, not_found
from webex_provisioner.emulator.group_resources import GroupRecord
from webex_provisioner.emulator.membership import Membership


@dataclass
class MemberDelta:
    """The member changes of one write: ``clear`` first, then ``removed``, then ``added``."""

    clear: bool = False
    added: dict[str, str] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)


Change = Callable[[GroupRecord, Membership], tuple[GroupRecord, MemberDelta]]


def name_taken(name: str) -> ScimError:
    return ScimError(409, f"a group named {name!r} already exists", "uniqueness")


class GroupStore:
    """Groups of one organization, their indexes and their members."""

    def __init__(self, *, unique_names: bool = True) -> None:
        self.unique_names = unique_names
        self._lock = threading.Lock()
        self.membership = Membership()
        self._groups: dict[str, GroupRecord] = {}
        self._by_name: dict[str, set[str]] = {}
        self._by_external_id: dict[str, set[str]] = {}
        self.generation = 0

    # ----------------------------------------------------------------------- reads

    def get(self, group_id: str) -> GroupRecord | None:
        return self._groups.get(group_id)

    def ids_named(self, name: str) -> frozenset[str]:
        """Ids of the groups whose displayName equals ``name`` ignoring case."""
        return frozenset(self._by_name.get(name.casefold(), ()))

    def ids_with_external_id(self, external_id: str) -> frozenset[str]:
        return frozenset(self._by_external_id.get(external_id, ()))

    def groups(self) -> list[GroupRecord]:
        """Every group, in creation order."""
        with self._lock:
            return list(self._groups.values())

    def member_ids(self, group_id: str) -> list[tuple[str, str]]:
        """``(member id, type)`` of one group, in the order added (a copy)."""
        with self._lock:
            return list(self.membership.members(group_id).items())

    def page(
        self, group_id: str, start: int, count: int, member_type: str | None = None
    ) -> tuple[int, list[tuple[str, str]]]:
        with self._lock:
            return self.membership.page(group_id, start, count, member_type)

    def groups_of(self, member_id: str) -> frozenset[str]:
        with self._lock:
            return self.membership.groups_of(member_id)

    # ----------------------------------------------------------------------- indexes

    def _check_name(self, name: str, group_id: str) -> None:
        if self.unique_names and self._by_name.get(name.casefold(), set()) - {group_id}:
            raise name_taken(name)

    def _index(self, record: GroupRecord) -> None:
        self._by_name.setdefault(record.display_name.casefold(), set()).add(record.id)
        if record.external_id is not None:
            self._by_external_id.setdefault(record.external_id, set()).add(record.id)

    def _unindex(self, record: GroupRecord) -> None:
        for index, key in (
            (self._by_name, record.display_name.casefold()),
            (self._by_external_id, record.external_id),
        ):
            if key is None:
                continue
            ids = index.get(key, set())
            ids.discard(record.id)
            if not ids:
                index.pop(key, None)

    def _apply(self, group_id: str, delta: MemberDelta) -> None:
        membership = self.membership
        if delta.clear:
            membership.clear(group_id)
        for member_id in delta.removed:
            membership.remove(group_id, member_id)
        for member_id, member_type in delta.added.items():
            membership.add(group_id, member_id, member_type)

    # ----------------------------------------------------------------------- writes

    def create(self, record: GroupRecord, members: Mapping[str, str]) -> None:
        """Store a new group with its members; 409 when its name (or id) is taken."""
        with self._lock:
            if record.id in self._groups:
                raise ScimError(409, f"a group with id {record.id!r} already exists", "uniqueness")
            self._check_name(record.display_name, record.id)
            self._groups[record.id] = record
            self._index(record)
            self.membership.add_group(record.id)
            self._apply(record.id, MemberDelta(added=dict(members)))
            self.generation += 1

    def update(self, group_id: str, change: Change) -> GroupRecord:
        """Replace a group by ``change(current, membership)`` atomically (404 if unknown, 409 if
        the new name is taken). ``change`` may raise ``ScimError``; then nothing changes."""
        with self._lock:
            current = self._groups.get(group_id)
            if current is None:
                raise not_found(f"no group with id {group_id!r}")
            new, delta = change(current, self.membership)
            self._check_name(new.display_name, group_id)
            self._unindex(current)
            self._groups[group_id] = new
            self._index(new)
            self._apply(group_id, delta)
            self.generation += 1
            return new

    def delete(self, group_id: str, touch: Callable[[GroupRecord], GroupRecord]) -> None:
        """Remove a group (404 if unknown); the groups it was a member of are ``touch``-ed."""
        with self._lock:
            record = self._groups.pop(group_id, None)
            if record is None:
                raise not_found(f"no group with id {group_id!r}")
            self._unindex(record)
            self._touch(self.membership.drop_group(group_id), touch)
            self.generation += 1

    def forget_member(self, member_id: str, touch: Callable[[GroupRecord], GroupRecord]) -> frozenset[str]:
        """Take a deleted user out of every group (O(its groups)); each group left is ``touch``-ed."""
        with self._lock:
            left = self.membership.forget_member(member_id)
            self._touch(left, touch)
            if left:
                self.generation += 1
            return left

    def _touch(self, group_ids: Iterable[str], touch: Callable[[GroupRecord], GroupRecord]) -> None:
        for group_id in group_ids:
            record = self._groups.get(group_id)
            if record is not None:
                self._groups[group_id] = touch(record)

    # ----------------------------------------------------------------------- persistence

    def snapshot(self) -> list[dict[str, Any]]:
        """Every group with its members, JSON-ready, in creation order."""
        with self._lock:
            members = self.membership.snapshot()
            return [
                {
                    "id": r.id,
                    "attributes": dict(r.attributes),
                    "created": r.created,
                    "lastModified": r.modified,
                    "version": r.version,
                    "members": members.get(r.id, []),
                }
                for r in self._groups.values()
            ]

    def restore(self, groups: Iterable[Mapping[str, Any]]) -> None:
        """Replace everything by the groups of a ``snapshot``."""
        with self._lock:
            self._groups.clear()
            self._by_name.clear()
            self._by_external_id.clear()
            self.membership.clear_all()
            for data in groups:
                record = GroupRecord(
                    data["id"],
                    dict(data["attributes"]),
                    data["created"],
                    data["lastModified"],
                    data["version"],
                )
                self._groups[record.id] = record
                self._index(record)
                self.membership.add_group(record.id)
                for member_id, member_type in data.get("members", []):
                    self.membership.add(record.id, member_id, member_type)
            self.generation += 1

    def clear(self) -> None:
        self.restore([])
