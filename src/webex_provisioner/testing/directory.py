"""``InMemoryDirectory`` and ``InMemoryChangeFeed``: a directory of ``DirectoryUser`` values in
memory, and its change feed, for tests of the engine without LDAP.

A test puts users (``directory_user`` builds one), then changes, disables, moves, takes out of
scope or removes them; every change bumps the directory's ``version``, which is what the change
feed's watermarks count. Reads can be scripted to stop after k users (``fail_read``), as an LDAP
read that loses its paging cookie does.

    directory = InMemoryDirectory([directory_user("a1", "ann@example.com", givenName="Ann")])
    feed = InMemoryChangeFeed(directory)
    start = feed.mark()
    directory.disable("a1")
    assert feed.changes(start).changed[0].disabled

Users carry the licence rules' labels a test gives them (``directory_user(labels=...)``,
``add_label``, ``remove_label``, ``set_labels``), handed over unchanged by reads, ``find_user``
and change sets. Putting a label on or taking it off is a change of the user, as a user entering
or leaving a rule's group (or matching its filter anew) is a changed user for the LDAP feeds.

    directory.add_label(group_label(group_dn("messaging")), "a1")
    assert feed.changes(start).changed[0].labels == {"group:cn=messaging,ou=groups,dc=example,dc=com"}

It holds groups too (the ``GroupSource`` port; testing/directory_groups.py says how they read):
a test puts group entries (``put_group``: anchor, DN, member DNs of users and of groups, the
attributes ``groups.name`` would read, whether ``groups:`` selects it), then changes or removes
them. Group changes change the group digest and nothing else: they are not user changes, so
the change feed does not see them (and a user change leaves the group digest alone).

    ann = directory.get("a1").dn
    directory.put_group("g1", group_dn("eng"), members=[ann], groups=[group_dn("sre")], cn="eng")
    digest = directory.group_digest()
    directory.change_group("g1", remove=[ann])
    assert directory.group_digest() != digest
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Generator, Iterable, Sequence
from dataclasses import replace

from webex_provisioner.errors import DirectoryError, DirectoryIncompleteError
from webex_provisioner.model import DirectoryGroup, DirectoryUser, GroupRead
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import ChangeSet
from webex_provisioner.testing.directory_groups import (
    GROUPS,
    GroupBook,
    Nesting,
    StoredGroup,
    group_dn,
    member_list,
)
from webex_provisioner.testing.faults import FaultScript

__all__ = [
    "GROUPS",
    "PEOPLE",
    "InMemoryChangeFeed",
    "InMemoryDirectory",
    "StoredGroup",
    "directory_user",
    "group_dn",
]

PEOPLE = "ou=people,dc=example,dc=com"

Values = str | Sequence[str] | None


def directory_user(
    anchor: str,
    email: str | None = None,
    *,
    dn: str | None = None,
    disabled: bool = False,
    in_scope: bool = True,
    scope_reason: str = "",
    email_attribute: str = "mail",
    labels: Iterable[str] = (),
    **attributes: Values,
) -> DirectoryUser:
    """A directory user: ``uid=<anchor>,ou=people,dc=example,dc=com`` unless ``dn`` says,
    ``email`` in ``email_attribute``, the licence rules' ``labels`` it carries, other attributes
    by name (a string or several values)."""
    values = {name: v for name, v in _values({email_attribute: email, **attributes}).items() if v}
    reason = scope_reason or ("in scope" if in_scope else "out of scope")
    return DirectoryUser(
        anchor,
        dn or f"uid={anchor},{PEOPLE}",
        values,
        disabled=disabled,
        in_scope=in_scope,
        scope_reason=reason,
        labels=frozenset(labels),
    )


class InMemoryDirectory:
    """A ``DirectorySource`` over users held in memory; see the module docstring.

    ``email_attribute`` is the attribute ``find_user`` matches an e-mail against (folded).
    ``read_users`` yields the users in the order they were first put. ``groups_nested`` is
    ``groups.nested``: how ``read_groups`` and ``find_group`` give a group's members. Safe to
    share between threads.
    """

    def __init__(
        self,
        users: Iterable[DirectoryUser] = (),
        *,
        email_attribute: str = "mail",
        groups_nested: Nesting = "flatten",
    ) -> None:
        self.email_attribute = email_attribute.lower()
        self.epoch = uuid.uuid4().hex[:12]  # tells this directory's watermarks from another's
        self.reads = 0
        self.group_reads = 0
        self.digests = 0
        self.open_reads = 0
        self.prepared: int | None = None
        self.closed = False
        self._lock = threading.RLock()
        self._users: dict[str, DirectoryUser] = {}
        self._version = 0
        self._changed: dict[str, int] = {}  # anchor -> version of its last change
        self._deleted: dict[str, int] = {}  # anchor -> version of its removal
        self._groups = GroupBook(self.epoch, groups_nested)
        self._faults = FaultScript(
            "InMemoryDirectory",
            ("read_users", "find_user", "probe", "read_groups", "group_digest", "find_group"),
        )
        for user in users:
            self.put(user)

    # -- DirectorySource ----------------------------------------------------------------------

    def read_users(self) -> Generator[DirectoryUser, None, None]:
        """Every user (a generator: a scripted fault raises after yielding ``after`` users)."""
        with self._lock:
            self.reads += 1
            fault = self._faults.take("read_users")
            users = list(self._users.values())
        return self._read(users, fault.after if fault else None, fault.raised() if fault else None)

    def _read(
        self, users: list[DirectoryUser], stop: int | None, error: BaseException | None
    ) -> Generator[DirectoryUser, None, None]:
        with self._lock:
            self.open_reads += 1
        try:
            for index, user in enumerate(users):
                if index == stop:
                    break
                yield user
            if error is not None:
                raise error
        finally:
            with self._lock:
                self.open_reads -= 1

    def prepare_read(self, expected_users: int) -> None:
        self.prepared = expected_users

    def find_user(self, key: str) -> DirectoryUser | None:
        """By DN (any spelling), anchor or e-mail (any case); ``DirectoryError`` when an e-mail
        is shared by several users, as ``LdapDirectory`` does."""
        key = key.strip()
        with self._lock:
            fault = self._faults.take("find_user", (key,))
            if fault is not None:
                raise fault.raised()
            if not key:
                return None
            if "=" in key:
                wanted = normalize_dn(key)
                return next((u for u in self._users.values() if normalize_dn(u.dn) == wanted), None)
            if key in self._users:
                return self._users[key]
            folded = fold_email(key)
            found = [
                u for u in self._users.values() if folded in map(fold_email, u.values(self.email_attribute))
            ]
        if len(found) > 1:
            raise DirectoryError(
                f"{len(found)} directory users match {key!r} ({'; '.join(u.dn for u in found)}); their "
                "e-mail is shared: look the user up by anchor or DN, and fix the duplicate"
            )
        return found[0] if found else None

    def probe(self) -> dict[str, str]:
        with self._lock:
            fault = self._faults.take("probe")
            if fault is not None:
                raise fault.raised()
            return {"vendor": "in-memory", "users": str(len(self._users)), "version": str(self._version)}

    def close(self) -> None:
        self.closed = True

    # -- GroupSource --------------------------------------------------------------------------

    def read_groups(self) -> GroupRead:
        """The selected groups, in the order first put, and the group digest."""
        with self._lock:
            self._raise_fault("read_groups")
            self.group_reads += 1
            return self._groups.read()

    def group_digest(self) -> str:
        """Changes with every change to a group (and with nothing else)."""
        with self._lock:
            self._raise_fault("group_digest")
            self.digests += 1
            return self._groups.digest()

    def find_group(self, key: str) -> DirectoryGroup | None:
        """A group (selected or not) by anchor or DN (any spelling), read as ``read_groups``
        reads it; ``None`` when there is none."""
        with self._lock:
            self._raise_fault("find_group", (key.strip(),))
            return self._groups.find(key)

    # -- changing the groups ------------------------------------------------------------------

    def put_group(
        self,
        anchor: str,
        dn: str,
        *,
        members: Iterable[str] = (),
        groups: Iterable[str] = (),
        selected: bool = True,
        **attributes: Values,
    ) -> StoredGroup:
        """Add a group, or replace the one with its anchor: its DN, the DNs of its members that
        are users (``members``) and groups (``groups``; a DN no stored group has reads as a
        plain member), whether ``groups:`` selects it, and attributes by name (lower-cased)."""
        values = {name: v for name, v in _values(attributes).items() if v}
        group = StoredGroup(anchor, dn, values, member_list(members, groups), selected)
        with self._lock:
            return self._groups.put(group)

    def change_group(
        self,
        anchor: str,
        *,
        dn: str | None = None,
        members: Iterable[str] | None = None,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        selected: bool | None = None,
        **attributes: Values,
    ) -> StoredGroup:
        """Change a group: a new ``dn`` (a rename or a move), all its member DNs (``members``), or
        some (``add``, ``remove``: compared normalized), whether it is selected, attributes
        (``None`` or ``()`` removes one)."""
        with self._lock:
            group = self._groups.get(anchor)
            gone = {normalize_dn(dn) for dn in remove}
            listed = group.members if members is None else tuple(members)
            kept = [m for m in member_list(listed, add) if normalize_dn(m) not in gone]
            values = {**group.attributes, **_values(attributes)}
            return self._groups.put(
                StoredGroup(
                    anchor,
                    dn or group.dn,
                    {k: v for k, v in values.items() if v},
                    tuple(kept),
                    group.selected if selected is None else selected,
                )
            )

    def remove_group(self, anchor: str) -> None:
        """Delete a group (groups listing its DN keep it, as a plain member DN then)."""
        with self._lock:
            self._groups.remove(anchor)

    def stored_groups(self) -> list[StoredGroup]:
        """The group entries as stored (members unflattened), in the order first put."""
        with self._lock:
            return self._groups.stored()

    @property
    def group_version(self) -> int:
        """How many changes the groups have seen."""
        with self._lock:
            return self._groups.version

    # -- changing the directory ---------------------------------------------------------------

    def put(self, user: DirectoryUser) -> DirectoryUser:
        """Add a user, or replace the one with its anchor (attribute names lower-cased)."""
        user = replace(user, attributes={name.lower(): tuple(v) for name, v in user.attributes.items()})
        with self._lock:
            self._users[user.anchor] = user
            self._deleted.pop(user.anchor, None)
            self._version += 1
            self._changed[user.anchor] = self._version
        return user

    def change(self, anchor: str, **attributes: Values) -> DirectoryUser:
        """Set attributes of a user (``None`` or ``()`` removes one)."""
        with self._lock:
            user = self._get(anchor)
            values = {**user.attributes, **_values(attributes)}
            return self.put(replace(user, attributes={k: v for k, v in values.items() if v}))

    def disable(self, anchor: str, disabled: bool = True) -> DirectoryUser:
        with self._lock:
            return self.put(replace(self._get(anchor), disabled=disabled))

    def enable(self, anchor: str) -> DirectoryUser:
        return self.disable(anchor, disabled=False)

    def move(self, anchor: str, dn: str) -> DirectoryUser:
        """Give a user another DN (a rename or a move to another branch)."""
        with self._lock:
            return self.put(replace(self._get(anchor), dn=dn))

    def set_scope(self, anchor: str, in_scope: bool, reason: str = "") -> DirectoryUser:
        """Take a user into or out of scope (a group membership or filter match changed)."""
        reason = reason or ("in scope" if in_scope else "out of scope")
        with self._lock:
            return self.put(replace(self._get(anchor), in_scope=in_scope, scope_reason=reason))

    def set_labels(self, anchor: str, *labels: str) -> DirectoryUser:
        """Give a user exactly these licence rule labels (a change of the user)."""
        with self._lock:
            return self.put(replace(self._get(anchor), labels=frozenset(labels)))

    def add_label(self, label: str, *anchors: str) -> list[DirectoryUser]:
        """Put ``label`` on these users (each a change, as entering a rule's group is)."""
        with self._lock:
            return [self.set_labels(a, *self._get(a).labels, label) for a in anchors]

    def remove_label(self, label: str, *anchors: str) -> list[DirectoryUser]:
        """Take ``label`` off these users (each a change, as leaving a rule's group is)."""
        with self._lock:
            return [self.set_labels(a, *(self._get(a).labels - {label})) for a in anchors]

    def labelled(self, label: str) -> list[str]:
        """The anchors of the users carrying ``label``, in read order."""
        with self._lock:
            return [a for a, u in self._users.items() if label in u.labels]

    def remove(self, anchor: str) -> None:
        """Delete a user from the directory."""
        with self._lock:
            self._get(anchor)
            del self._users[anchor]
            self._changed.pop(anchor, None)
            self._version += 1
            self._deleted[anchor] = self._version

    # -- looking at it ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """How many changes the directory has seen."""
        with self._lock:
            return self._version

    def get(self, anchor: str) -> DirectoryUser | None:
        with self._lock:
            return self._users.get(anchor)

    def users(self) -> list[DirectoryUser]:
        with self._lock:
            return list(self._users.values())

    def changed_since(self, version: int) -> tuple[list[DirectoryUser], list[str]]:
        """The users changed (or added) after ``version``, in read order, and the anchors removed
        after it, sorted."""
        with self._lock:
            changed = [u for a, u in self._users.items() if self._changed.get(a, 0) > version]
            return changed, sorted(a for a, at in self._deleted.items() if at > version)

    # -- scripting faults ---------------------------------------------------------------------

    def fail_read(self, after: int = 0, error: DirectoryError | None = None, *, times: int = 1) -> None:
        """The next ``times`` reads yield ``after`` users, then raise ``error`` (by default a
        ``DirectoryIncompleteError``)."""
        error = error or DirectoryIncompleteError(
            f"the in-memory directory stopped the read after {after} user(s), as scripted by the test"
        )
        with self._lock:
            self._faults.add("read_users", error, times=times, after=after)

    def fail_next(
        self, operation: str, error: DirectoryError, *, times: int = 1, key: str | None = None
    ) -> None:
        """The next ``times`` calls of ``find_user`` or ``find_group`` (with ``key``, when
        given), ``probe``, ``read_users`` (before any user), ``read_groups`` or ``group_digest``
        raise ``error``."""
        with self._lock:
            self._faults.add(operation, error, times=times, key=key)

    def _raise_fault(self, operation: str, keys: Sequence[str] = ()) -> None:
        fault = self._faults.take(operation, keys)
        if fault is not None:
            raise fault.raised()

    def pending_faults(self) -> int:
        with self._lock:
            return self._faults.pending()

    def _get(self, anchor: str) -> DirectoryUser:
        user = self._users.get(anchor)
        if user is None:
            raise KeyError(f"the in-memory directory has no user with anchor {anchor!r}")
        return user

    def __repr__(self) -> str:
        return (
            f"InMemoryDirectory(users={len(self._users)}, version={self._version}, "
            f"groups={len(self._groups.stored())}, group_version={self._groups.version})"
        )


class InMemoryChangeFeed:
    """A ``ChangeFeed`` (and ``MarkableFeed``) over an ``InMemoryDirectory``.

    A watermark is the directory's ``version`` (with its ``epoch``): ``changes`` answers the
    users changed and the anchors removed since, or a full read (``full=True``) for no watermark,
    one it cannot read, one of another directory, or one older than ``forget()``.
    """

    kind = "memory"
    watermark_name = "directory.memory.watermark"

    def __init__(self, directory: InMemoryDirectory) -> None:
        self.directory = directory
        self.asked: list[str | None] = []
        self.closed = False
        self._lock = threading.Lock()
        self._floor = 0
        self._faults = FaultScript("InMemoryChangeFeed", ("changes", "mark"))

    def changes(self, watermark: str | None) -> ChangeSet:
        with self._lock:
            self.asked.append(watermark)
            fault = self._faults.take("changes")
            if fault is not None:
                raise fault.raised()
            version = self._version_of(watermark)
        now = self._position()  # before reading: a change made during the read is not lost
        if version is None:
            return ChangeSet(tuple(self.directory.read_users()), (), now, full=True)
        changed, deleted = self.directory.changed_since(version)
        return ChangeSet(tuple(changed), tuple(deleted), now)

    def mark(self) -> str:
        with self._lock:
            fault = self._faults.take("mark")
            if fault is not None:
                raise fault.raised()
        return self._position()

    def close(self) -> None:
        self.closed = True

    def forget(self) -> None:
        """Forget the history: every watermark handed out so far makes a full read (as an
        expired content sync cookie does)."""
        with self._lock:
            self._floor = self.directory.version

    def fail_next(self, error: DirectoryError, *, times: int = 1, operation: str = "changes") -> None:
        """The next ``times`` calls of ``changes`` (or ``mark``) raise ``error``."""
        with self._lock:
            self._faults.add(operation, error, times=times)

    def _position(self) -> str:
        return f"memory:{self.directory.epoch}:{self.directory.version}"

    def _version_of(self, watermark: str | None) -> int | None:
        if watermark is None:
            return None
        kind, _, rest = watermark.partition(":")
        epoch, _, number = rest.partition(":")
        if kind != "memory" or epoch != self.directory.epoch or not number.isdigit():
            return None
        version = int(number)
        return version if self._floor <= version <= self.directory.version else None


def _values(attributes: dict[str, Values]) -> dict[str, tuple[str, ...]]:
    """Attribute values as ``DirectoryUser`` holds them: names lower-cased, tuples of strings."""
    return {
        name.lower(): () if value is None else (value,) if isinstance(value, str) else tuple(value)
        for name, value in attributes.items()
    }
