"""Targeted groups: who is a member, directly or through nested groups, and why.

Membership is computed from the groups' member attributes (``member``, ``uniqueMember``, ...),
compared by normalized DN. With nested groups on, the DNs of all groups (``group_filter``) of the
naming contexts holding the targeted groups are listed once (a DN-only search); a member DN among
them is read as a nested group, and its members count too. (When the root DSE does not name the
naming contexts, every member DN that is not a directory user is read instead.) Every group is
expanded at most once, which is also the cycle guard. Active Directory's ranged retrieval
(``member;range=0-1499``) is followed to the end.

A targeted group that does not exist is an error, never an empty scope: an empty scope would
take every linked user out of scope and deprovision them. The same expansion serves other groups
whose members are wanted (a licence rule's group): ``Targets`` says which, and how to name them.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.connection import Connection
from webex_provisioner.directory.dn import is_under, normalize_dn
from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError, DirectoryUnavailableError

log = structlog.get_logger()

_RANGE = re.compile(r"^range=(\d+)-(\d+|\*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Membership:
    """Who the targeted groups contain: normalized member DN -> why (``member of G via H``)."""

    reasons: Mapping[str, str]
    groups: tuple[str, ...]
    nested: bool

    def reason(self, dn: str) -> str | None:
        """Why ``dn`` is in scope, or ``None`` if it is not a member of any targeted group.

        A DN whose lower-case form is a member's normalized DN normalizes to it too (the
        normalized form is lower case and normalizes to itself): that lookup comes first."""
        found = self.reasons.get(dn.lower())
        return found if found is not None else self.reasons.get(normalize_dn(dn))

    @property
    def not_member(self) -> str:
        if self.nested:
            return "not a member of any targeted group"
        return "not a direct member of any targeted group (nested groups are off)"


@dataclass(frozen=True, slots=True)
class Targets:
    """Groups whose members are wanted, expanded through nested groups when ``nested``: the
    targeted groups of ``directory.scope`` (``scope_targets``), or a licence rule's group. What
    they are, the configuration key that names them and what a missing one would cause go into
    the errors."""

    groups: tuple[str, ...]
    nested: bool
    what: str = "targeted group"
    key: str = "directory.scope.groups"
    missing: str = "a missing group would put every user out of scope"


def scope_targets(config: DirectoryConfig) -> Targets:
    """The targeted groups of ``config.scope`` (none when the scope is not by group)."""
    return Targets(tuple(config.scope.groups), config.scope.nested_groups)


class NestedGroupCandidates:
    """Which member DNs may be nested groups, hence worth a read. Searches once, on first use.

    ``groups`` are the groups being expanded (by default the targeted groups): the naming
    contexts holding them are where nested groups are listed."""

    def __init__(
        self, conn: Connection, config: DirectoryConfig, groups: Sequence[str] | None = None
    ) -> None:
        self._conn = conn
        self._config = config
        self._targets = tuple(config.scope.groups if groups is None else groups)
        self._groups: set[str] | None = None
        self._users: set[str] | None = None

    def __call__(self, normalized_dn: str) -> bool:
        if self._groups is None and self._users is None:
            self._load()
        if self._groups is not None:
            return normalized_dn in self._groups
        return self._users is not None and normalized_dn not in self._users

    def _load(self) -> None:
        conn, config = self._conn, self._config
        bases = naming_contexts_of(conn, self._targets)
        if bases is not None:
            self._groups = {
                normalize_dn(dn)
                for base in bases
                for dn, _ in conn.search_all(base, config.group_filter, ["1.1"], what="group DNs")
            }
        else:
            found = conn.search_all(config.base_dn, config.user_filter, ["1.1"], what="directory user DNs")
            self._users = {normalize_dn(dn) for dn, _ in found}


def naming_contexts_of(conn: Connection, groups: Iterable[str]) -> set[str] | None:
    """The naming contexts holding ``groups`` (DNs, or bases groups live under); ``None`` if the
    root DSE does not name them all."""
    try:
        dse = conn.root_dse()
    except DirectoryUnavailableError:
        raise
    except DirectoryError:
        return None  # the root DSE is not readable: fall back to listing the users
    contexts = [
        value.decode("utf-8", "replace")
        for name, values in dse.items()
        if name.lower() == "namingcontexts"
        for value in values
    ]
    bases: set[str] = set()
    for group in groups:
        holding = [context for context in contexts if context and is_under(group, context)]
        if not holding:
            return None
        bases.add(max(holding, key=len))
    return bases


def expand_membership(
    conn: Connection,
    config: DirectoryConfig,
    might_be_group: Callable[[str], bool],
    targets: Targets | None = None,
) -> Membership:
    """Read the targeted groups of ``config.scope`` (or ``targets``) and, with nested groups on,
    their nested groups. ``might_be_group`` tells, for a normalized member DN, whether to read it
    as a possible nested group (see ``NestedGroupCandidates``); it is asked only with nested
    groups on.
    """
    targets = targets or scope_targets(config)
    attributes = list(config.member_attributes)
    reasons: dict[str, str] = {}
    expanded: set[str] = set()
    for target in targets.groups:
        if normalize_dn(target) in expanded:
            continue  # already expanded as a group nested in an earlier targeted group
        queue = deque([(target, read_targeted_group(conn, config, target, targets), "")])
        expanded.add(normalize_dn(target))
        while queue:
            group_dn, attrs, via = queue.popleft()
            reason = f"member of {target}" + (f" via {via}" if via else "")
            members = member_values(conn, group_dn, attrs, attributes)
            if not members:
                log.warning("directory.group_empty", group=group_dn, member_attributes=attributes)
            for member in members:
                key = normalize_dn(member)
                if key in expanded:
                    continue  # a group already expanded: a cycle or a diamond
                if targets.nested and key not in reasons and might_be_group(key):
                    nested = conn.read(member, config.group_filter, attributes, what="the nested group")
                    if nested is not None:
                        expanded.add(key)
                        queue.append((member, nested[1], f"{via} > {member}" if via else member))
                        continue
                reasons.setdefault(key, reason)
    return Membership(reasons=reasons, groups=targets.groups, nested=targets.nested)


def read_targeted_group(
    conn: Connection, config: DirectoryConfig, dn: str, targets: Targets | None = None
) -> dict[str, list[bytes]]:
    """The member attributes of a targeted group (or a group of ``targets``); ``DirectoryError``
    when it does not exist or does not match ``directory.group_filter``."""
    targets = targets or scope_targets(config)
    what = f"the {targets.what}"
    found = conn.read(dn, config.group_filter, config.member_attributes, what=what)
    if found is not None:
        return found[1]
    if conn.read(dn, "(objectClass=*)", ["1.1"], what=what) is None:
        raise DirectoryError(
            f"{what} {dn} does not exist at {config.url} (or the bind DN cannot see it); "
            f"fix {targets.key}. Nothing was read: {targets.missing}"
        )
    raise DirectoryError(
        f"{what} {dn} at {config.url} does not match directory.group_filter "
        f"{config.group_filter}; fix {targets.key} or widen group_filter"
    )


def member_values(
    conn: Connection, dn: str, attrs: Mapping[str, list[bytes]], wanted: Iterable[str]
) -> list[str]:
    wanted_lower = {name.lower() for name in wanted}
    values: list[str] = []
    for name, raw in attrs.items():
        base, _, option = name.partition(";")
        if base.lower() not in wanted_lower:
            continue
        values += _decode(dn, base, raw)
        if option:
            values += _rest_of_range(conn, dn, base, option)
    return values


def _rest_of_range(conn: Connection, dn: str, attribute: str, option: str) -> list[str]:
    """Active Directory returns large groups in slices (``member;range=0-1499``); fetch the rest.

    Each slice must start where the previous one ended and advance: a server that answers
    another range (or none) would loop forever or skip members, so that is an incomplete read."""
    values: list[str] = []
    match = _RANGE.match(option)
    while match is not None and match.group(2) != "*":
        start = int(match.group(2)) + 1
        found = conn.read(
            dn, "(objectClass=*)", [f"{attribute};range={start}-*"], what="the group members of"
        )
        ranged = [
            (name, raw)
            for name, raw in (found[1] if found else {}).items()
            if name.partition(";")[0].lower() == attribute.lower() and ";" in name
        ]
        if not ranged:
            raise _range_stopped(conn, dn, attribute, start, "the server returned no further range")
        name, raw = ranged[0]
        match = _RANGE.match(name.partition(";")[2])
        if match is None or int(match.group(1)) != start or not _advances(match, start):
            answered = f"the server answered {name[:80]!r}, which does not continue there"
            raise _range_stopped(conn, dn, attribute, start, answered)
        values += _decode(dn, attribute, raw)
    return values


def _advances(match: re.Match[str], start: int) -> bool:
    return match.group(2) == "*" or int(match.group(2)) >= start


def _range_stopped(
    conn: Connection, dn: str, attribute: str, start: int, why: str
) -> DirectoryIncompleteError:
    return DirectoryIncompleteError(
        f"reading {attribute} of {dn} at {conn.config.url} stopped at value {start}: {why}; the "
        "group's membership is unknown, so nothing was concluded"
    )


def _decode(dn: str, attribute: str, raw: list[bytes]) -> list[str]:
    try:
        return [value.decode("utf-8") for value in raw]
    except UnicodeDecodeError:
        pass  # one by one, to name each value that is not UTF-8
    values = []
    for value in raw:
        try:
            values.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            log.warning("directory.member_undecodable", group=dn, attribute=attribute, value=value.hex())
    return values
