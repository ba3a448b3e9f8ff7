"""Group membership indexed both ways: each group's members, and each member's groups.

A group's members keep the order they were added in (a dict of member id → member type), so
pages of ``/Groups/{id}/Members`` are stable. Adding or removing k members costs O(k);
forgetting a member (a deleted user) costs O(number of its groups). Not locked on its own:
``GroupStore`` guards it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import islice


class Membership:
    """Who is in which group, with O(1) lookups in both directions."""

    def __init__(self) -> None:
        self._members: dict[str, dict[str, str]] = {}
        self._groups: dict[str, set[str]] = {}

    def add_group(self, group_id: str) -> None:
        """Start an empty member list for a new group."""
        self._members.setdefault(group_id, {})

    def members(self, group_id: str) -> Mapping[str, str]:
        """Member id → type of one group, in the order added (a live view: do not keep it)."""
        return self._members.get(group_id, {})

    def count(self, group_id: str) -> int:
        return len(self._members.get(group_id, ()))

    def contains(self, group_id: str, member_id: str) -> bool:
        return member_id in self._members.get(group_id, ())

    def groups_of(self, member_id: str) -> frozenset[str]:
        """The ids of the groups ``member_id`` belongs to directly."""
        return frozenset(self._groups.get(member_id, ()))

    def add(self, group_id: str, member_id: str, member_type: str) -> bool:
        """Add one member; ``False`` when it already was one (nothing changes then)."""
        members = self._members.setdefault(group_id, {})
        if member_id in members:
            return False
        members[member_id] = member_type
        self._groups.setdefault(member_id, set()).add(group_id)
        return True

    def remove(self, group_id: str, member_id: str) -> bool:
        """Remove one member; ``False`` when it was not one."""
        members = self._members.get(group_id)
        if members is None or members.pop(member_id, None) is None:
            return False
        groups = self._groups[member_id]
        groups.discard(group_id)
        if not groups:
            del self._groups[member_id]
        return True

    def clear(self, group_id: str) -> None:
        """Remove every member of one group (O(its members))."""
        for member_id in list(self._members.get(group_id, ())):
            self.remove(group_id, member_id)

    def drop_group(self, group_id: str) -> frozenset[str]:
        """Forget a deleted group: its members, and its own place in other groups (returned)."""
        self.clear(group_id)
        self._members.pop(group_id, None)
        return self.forget_member(group_id)

    def forget_member(self, member_id: str) -> frozenset[str]:
        """Take ``member_id`` out of every group; returns the ids of the groups it left."""
        groups = frozenset(self._groups.pop(member_id, ()))
        for group_id in groups:
            self._members[group_id].pop(member_id, None)
        return groups

    def page(
        self, group_id: str, start: int, count: int, member_type: str | None = None
    ) -> tuple[int, list[tuple[str, str]]]:
        """``(total, members)`` of a 1-based page, optionally of one member type only."""
        members = self._members.get(group_id, {})
        items: Iterator[tuple[str, str]] = iter(members.items())
        total = len(members)
        if member_type is not None:
            matching = [item for item in members.items() if item[1] == member_type]
            items, total = iter(matching), len(matching)
        return total, list(islice(items, start - 1, start - 1 + count))

    def snapshot(self) -> dict[str, list[list[str]]]:
        """Group id → ``[[member id, type], ...]`` (JSON-ready)."""
        return {g: [[m, t] for m, t in members.items()] for g, members in self._members.items() if members}

    def clear_all(self) -> None:
        self._members.clear()
        self._groups.clear()
