"""The members of one selected group, through its nested groups: flattening with cycles cut.

Pure (no I/O): the caller says which member DNs are groups and reads a nested group's member
values when asked. ``DirectoryGroup`` (model/groups.py) states what the result means:

* ``flatten``: a member that is a group is expanded, depth first, and its members count as the
  selected group's. Each group is expanded at most once per selected group: reached again
  *off* the path being expanded (a diamond), it adds nothing more; reached again *on* that path
  (a cycle), the edge is cut and the loop is named in ``cycles``, from the group reached again
  back to it (``cn=eng,... > cn=sre,... > cn=eng,...``, each DN as the path first gave it).
  ``nested`` lists the groups flattened in, in the order they were first reached, each once, DNs
  as the member values give them. A member the caller lists as a group but cannot read any more
  (deleted meanwhile) is kept as a plain member DN.
* ``direct``: member groups are neither expanded nor members; ``nested`` and ``cycles`` stay
  empty.

``members`` holds normalized DNs (``model.keys.normalize_dn``) of members that are not groups,
never the selected group's own DN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from webex_provisioner.directory.dn import normalize_dn

IsGroup = Callable[[str], bool]
"""Whether a normalized DN is a group (of ``directory.group_filter``)."""

ReadMembers = Callable[[str], Sequence[str] | None]
"""The member values of the group at a DN (as given), or ``None`` when it is no group (any more)."""

Normalize = Callable[[str], str]
"""``normalize_dn``, or a memo of it (a user is a member of many groups)."""


@dataclass(frozen=True, slots=True)
class Flattened:
    """What ``flatten`` found for one selected group."""

    members: frozenset[str]
    nested: tuple[str, ...] = ()
    cycles: tuple[str, ...] = ()


@dataclass
class _Walk:
    """The state of one depth-first expansion: the path from the selected group down."""

    path: list[tuple[str, str]]  # (normalized DN, DN as given)
    on_path: set[str]
    expanded: set[str]
    members: set[str] = field(default_factory=set)
    nested: list[str] = field(default_factory=list)
    cycles: list[str] = field(default_factory=list)

    def enter(self, key: str, dn: str) -> None:
        self.path.append((key, dn))
        self.on_path.add(key)
        self.expanded.add(key)

    def leave(self) -> None:
        key, _ = self.path.pop()
        self.on_path.discard(key)

    def cycle_to(self, key: str) -> str:
        start = next(i for i, (on, _) in enumerate(self.path) if on == key)
        loop = [dn for _, dn in self.path[start:]]
        return " > ".join([*loop, loop[0]])


def flatten(
    dn: str,
    values: Iterable[str],
    *,
    is_group: IsGroup,
    read_members: ReadMembers,
    nested: bool,
    normalize: Normalize = normalize_dn,
) -> Flattened:
    """The members of the group at ``dn`` whose member values are ``values``; with ``nested``
    (``groups.nested: flatten``) through its nested groups (see the module docstring)."""
    root = normalize(dn)
    if not nested:
        keys = {normalize(value) for value in values}
        return Flattened(frozenset(k for k in keys if k != root and not is_group(k)))
    walk = _Walk(path=[], on_path=set(), expanded=set())
    walk.enter(root, dn)
    stack: list[Iterator[str]] = [iter(values)]
    while stack:
        member = next(stack[-1], None)
        if member is None:
            stack.pop()
            walk.leave()
            continue
        key = normalize(member)
        if not is_group(key) and key != root:
            walk.members.add(key)
        elif key in walk.on_path:
            walk.cycles.append(walk.cycle_to(key))
        elif key not in walk.expanded:
            found = read_members(member)
            if found is None:
                walk.members.add(key)
                continue
            walk.enter(key, member)
            walk.nested.append(member)
            stack.append(iter(found))
    return Flattened(frozenset(walk.members), tuple(walk.nested), tuple(walk.cycles))
