"""The groups of ``InMemoryDirectory``: stored the way a directory holds them, read the way
``LdapDirectory`` reads them (the ``GroupSource`` port).

A stored group is an entry: an anchor, a DN, attributes (the names ``groups.name`` would read)
and member DNs, users and groups alike, as a ``member`` attribute lists them. Which member is a
group is decided when the groups are read, by looking the DN up among the stored groups, as the
LDAP adapter does: a nested group that was removed leaves its DN behind as a plain member.

Read, a selected group's ``members`` are the normalized DNs of its members that are not groups:

* ``flatten``: member groups are expanded, depth first, at any depth; each group once per
  selected group (a diamond adds nothing more); a group reached again on the path being expanded
  is a cycle, cut and named from that group back to it (``A > B > A``, DNs as the path gave them);
  ``nested`` lists the groups flattened in, in the order first reached;
* ``direct``: member groups are neither expanded nor members; ``nested`` and ``cycles`` are empty.

The digest is the directory's epoch and a count of group changes: every change to a group
changes it, a change to a user does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from webex_provisioner.model import DirectoryGroup, GroupRead
from webex_provisioner.model.keys import normalize_dn

GROUPS = "ou=groups,dc=example,dc=com"

Nesting = Literal["flatten", "direct"]


def group_dn(cn: str) -> str:
    """``cn=<cn>,ou=groups,dc=example,dc=com``."""
    return f"cn={cn},{GROUPS}"


@dataclass(frozen=True, slots=True)
class StoredGroup:
    """A group entry of the in-memory directory. ``members`` are member DNs as given (users and
    groups); ``selected`` says whether ``groups:`` would select it."""

    anchor: str
    dn: str
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    selected: bool = True


@dataclass
class _Walk:
    members: set[str] = field(default_factory=set)
    nested: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)
    expanded: set[str] = field(default_factory=set)


class GroupBook:
    """The stored groups and their change count; not thread-safe (``InMemoryDirectory`` calls it
    under its lock)."""

    def __init__(self, epoch: str, nesting: Nesting = "flatten") -> None:
        self.epoch = epoch
        self.nesting: Nesting = nesting
        self.version = 0
        self._groups: dict[str, StoredGroup] = {}

    # -- storing ------------------------------------------------------------------------------

    def put(self, group: StoredGroup) -> StoredGroup:
        self._groups[group.anchor] = group
        self.version += 1
        return group

    def remove(self, anchor: str) -> None:
        self.get(anchor)
        del self._groups[anchor]
        self.version += 1

    def get(self, anchor: str) -> StoredGroup:
        group = self._groups.get(anchor)
        if group is None:
            raise KeyError(f"the in-memory directory has no group with anchor {anchor!r}")
        return group

    def stored(self) -> list[StoredGroup]:
        return list(self._groups.values())

    # -- reading ------------------------------------------------------------------------------

    def digest(self) -> str:
        return f"memory-groups:{self.epoch}:{self.version}"

    def read(self) -> GroupRead:
        """The selected groups, in the order they were first put."""
        return GroupRead(tuple(self._read(g) for g in self._groups.values() if g.selected), self.digest())

    def find(self, key: str) -> DirectoryGroup | None:
        """By anchor, or by DN in any spelling; selected or not."""
        key = key.strip()
        if not key:
            return None
        if key in self._groups:
            return self._read(self._groups[key])
        wanted = normalize_dn(key) if "=" in key else None
        found = next((g for g in self._groups.values() if normalize_dn(g.dn) == wanted), None)
        return None if found is None else self._read(found)

    def _read(self, group: StoredGroup) -> DirectoryGroup:
        by_dn = {normalize_dn(g.dn): g for g in self._groups.values()}
        root = normalize_dn(group.dn)
        walk = _Walk(expanded={root})
        if self.nesting == "flatten":
            _flatten(group, [(root, group.dn)], by_dn, walk)
        else:
            keys = (normalize_dn(member) for member in group.members)
            walk.members = {key for key in keys if key not in by_dn and key != root}
        return DirectoryGroup(
            anchor=group.anchor,
            dn=group.dn,
            attributes=dict(group.attributes),
            members=frozenset(walk.members),
            nested=tuple(walk.nested),
            cycles=tuple(walk.cycles),
        )


def _flatten(
    group: StoredGroup, path: list[tuple[str, str]], by_dn: Mapping[str, StoredGroup], walk: _Walk
) -> None:
    """Walk ``group``'s members depth first; ``path`` is (normalized DN, DN as given) from the
    selected group down to ``group``."""
    on_path = [key for key, _ in path]
    for member in group.members:
        key = normalize_dn(member)
        if key in on_path:
            loop = [dn for _, dn in path[on_path.index(key) :]]
            walk.cycles.append(" > ".join([*loop, loop[0]]))
        elif key not in by_dn:
            walk.members.add(key)
        elif key not in walk.expanded:
            walk.expanded.add(key)
            walk.nested.append(member)
            _flatten(by_dn[key], [*path, (key, member)], by_dn, walk)


def member_list(members: Iterable[str], groups: Iterable[str]) -> tuple[str, ...]:
    """Member DNs of users and of groups as one ``member`` attribute lists them, without repeats."""
    return tuple(dict.fromkeys([*members, *groups]))
