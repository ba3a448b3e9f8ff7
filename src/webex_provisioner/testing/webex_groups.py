"""The groups of ``InMemoryWebex``: the data and the rules of Webex SCIM Groups, without calls.

Names compare ignoring case (``str.casefold``, as Webex and the emulator do) and are unique
when ``unique_names`` is on (a taken name is a ``WebexConflictError``, 409); members are ids of
users of the organization (another id is a ``WebexRejectedError``, 400, and changes nothing);
an unknown group id is a ``WebexNotFoundError`` (404). Not thread-safe on its own:
``InMemoryWebex`` calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from webex_provisioner.errors import WebexConflictError, WebexNotFoundError, WebexRejectedError
from webex_provisioner.model import WebexGroup


@dataclass
class _Group:
    id: str
    name: str
    external_id: str | None
    members: dict[str, None] = field(default_factory=dict)
    """The member ids, in the order they were added."""

    def value(self, *, members: bool) -> WebexGroup:
        listed = frozenset(self.members) if members else None
        return WebexGroup(self.id, self.name, self.external_id, listed)


class GroupBook:
    """The groups of one fake organization, in creation order."""

    def __init__(self, *, unique_names: bool = True, id_prefix: str = "webex-group-") -> None:
        self.unique_names = unique_names
        self._id_prefix = id_prefix
        self._groups: dict[str, _Group] = {}
        self._created = 0

    # -- reads --------------------------------------------------------------------------------

    def find(self, name: str, *, members: bool = False) -> WebexGroup | None:
        """The group named ``name`` ignoring case (the one spelled exactly so first)."""
        matching = [g for g in self._groups.values() if g.name.casefold() == name.casefold()]
        exact = [g for g in matching if g.name == name]
        if exact or matching:
            return (exact or matching)[0].value(members=members)
        return None

    def all(self, *, members: bool = False) -> list[WebexGroup]:
        return [group.value(members=members) for group in self._groups.values()]

    def get(self, group_id: str) -> WebexGroup | None:
        group = self._groups.get(group_id)
        return group.value(members=True) if group is not None else None

    # -- writes -------------------------------------------------------------------------------

    def create(
        self, name: str, external_id: str | None, members: Sequence[str], users: Collection[str], what: str
    ) -> WebexGroup:
        self._check_name(name, None, what)
        self._check_users(members, users, what)
        self._created += 1
        group = _Group(f"{self._id_prefix}{self._created:06d}", name, external_id)
        group.members.update(dict.fromkeys(members))
        self._groups[group.id] = group
        return group.value(members=True)

    def rename(self, group_id: str, name: str, what: str) -> None:
        group = self._existing(group_id, what)
        self._check_name(name, group_id, what)
        group.name = name

    def add(self, group_id: str, members: Iterable[str], users: Collection[str], what: str) -> None:
        group = self._existing(group_id, what)
        wanted = list(members)
        self._check_users(wanted, users, what)
        group.members.update(dict.fromkeys(wanted))

    def remove(self, group_id: str, members: Iterable[str], what: str) -> None:
        group = self._existing(group_id, what)
        for member in members:
            group.members.pop(member, None)

    def delete(self, group_id: str) -> bool:
        """Delete the group; ``False`` when there was none."""
        return self._groups.pop(group_id, None) is not None

    def forget_user(self, user_id: str) -> None:
        """A user was deleted: it leaves every group, as in Webex."""
        for group in self._groups.values():
            group.members.pop(user_id, None)

    # -- rules --------------------------------------------------------------------------------

    def _existing(self, group_id: str, what: str) -> _Group:
        group = self._groups.get(group_id)
        if group is None:
            raise WebexNotFoundError(f"{what}: the Webex group does not exist (any more)", status=404)
        return group

    def _check_name(self, name: str, group_id: str | None, what: str) -> None:
        if not name.strip():
            raise WebexRejectedError(f"{what}: a Webex group needs a displayName", status=400)
        if not self.unique_names:
            return
        for other in self._groups.values():
            if other.id != group_id and other.name.casefold() == name.casefold():
                raise WebexConflictError(
                    f"{what}: the name {name!r} is taken by Webex group {other.id}",
                    status=409,
                    scim_type="uniqueness",
                )

    @staticmethod
    def _check_users(members: Iterable[str], users: Collection[str], what: str) -> None:
        unknown = [member for member in members if member not in users]
        if unknown:
            raise WebexRejectedError(
                f"{what}: no Webex user with id {', '.join(unknown)} in this organization",
                status=400,
                scim_type="invalidValue",
            )
