"""``InMemoryWebex``: a Webex organization in memory, for tests of the engine without HTTP.

It implements ``WebexClient``, ``BulkCreator``, ``WebexGroups``, ``WebexLicenses`` and
``CountsRequests`` with the rules of Webex (and of the project's emulator): ``userName`` is
unique case-insensitively, so a create or an e-mail change to a taken address is a
``WebexConflictError`` (409); updating an unknown id is a ``WebexNotFoundError`` (404); deleting
one is fine. Attributes are kept flat, as given; an empty value counts as absent, as in Webex.

Groups (``testing.webex_groups``): names are unique ignoring case (``unique_group_names``), members
are ids of its users (another id is a ``WebexRejectedError``, 400), a request adds or removes at
most ``max_members`` (more is a ``ValueError``, as for ``ScimWebexClient``), and deleting a user
takes it out of every group, as Webex does.

Licences (``testing.webex_licenses``): seeded with ``add_license`` (a stable id made from the
name), held per user, their consumed units following every change and every deleted user (its
units are freed); a change is refused whole for an unknown licence (``WebexRejectedError``,
``code`` 400000) or a Calling licence added (400411, as the port never sends the number it
needs), and an add with no free unit is skipped (a partial answer, Webex's 206).
``set_user_licenses`` gives a user licences as an administrator does by hand in Control Hub.

For precise fault sequences a test scripts the next calls of an operation::

    webex.fail_next("create_user", WebexUnavailableError("down", status=503), times=2)
    webex.lose_answer_next("create_user", key="ann@example.com")  # created, then no answer
    webex.lose_answer_next("create_group", key="Sales")
    webex.answer_bulk({"bob@example.com": LOST, "cy@example.com": WebexRejectedError("bad")})

and reads ``calls`` afterwards: (operation, key) in call order, the key being the folded e-mail
(``find_by_email``, ``create_user``, one entry per user of ``create_users``), the id (``get_user``,
``update_user``, ``delete_user``, ``user_licenses``, ``change_licenses``, and the group
operations but these), the group name as given (``find_group``, ``create_group``), the licence id
(``license_holders``) or ``""``. ``request_stats`` counts one request per call (a
``change_licenses`` with nothing to change is the ``user_licenses`` it sends instead).
Safe to share between threads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum

from webex_provisioner.errors import (
    WebexConflictError,
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
)
from webex_provisioner.model import (
    Attributes,
    Change,
    License,
    LicenseAnswer,
    ListedUser,
    WebexGroup,
    WebexUser,
)
from webex_provisioner.model.keys import fold_email
from webex_provisioner.ports import NO_ANSWER, CreateOutcome, StatsSnapshot
from webex_provisioner.testing.faults import FaultScript
from webex_provisioner.testing.webex_groups import GroupBook
from webex_provisioner.testing.webex_licenses import LicenseBook


# Each operation of the port, and the HTTP method Webex would see (for ``request_stats``).
class _Listed(ListedUser):
    """A user as ``InMemoryWebex.scan_users`` lists it."""

    __slots__ = ("_user", "_webex")

    def __init__(self, webex: InMemoryWebex, user: WebexUser) -> None:
        held = [user.id, user.email, user.active, sorted(user.attributes.items())]
        super().__init__(user.id, hashlib.blake2b(json.dumps(held).encode(), digest_size=16).digest())
        self._webex = webex
        self._user = user

    def read(self) -> WebexUser:
        self._webex.reads += 1
        return self._user


METHODS = {
    "find_by_email": "GET",
    "list_users": "GET",
    "scan_users": "GET",
    "count_users": "GET",
    "get_user": "GET",
    "create_user": "POST",
    "update_user": "PATCH",
    "delete_user": "DELETE",
    "create_users": "POST",
    "find_group": "GET",
    "list_groups": "GET",
    "get_group": "GET",
    "create_group": "POST",
    "rename_group": "PATCH",
    "add_members": "PATCH",
    "remove_members": "PATCH",
    "delete_group": "DELETE",
    "list_licenses": "GET",
    "license_holders": "GET",
    "user_licenses": "GET",
    "change_licenses": "PATCH",
}
GROUP_OPERATIONS = frozenset(
    operation for operation in METHODS if "group" in operation or "members" in operation
)
WRITES = (
    "create_user",
    "update_user",
    "delete_user",
    "create_users",
    "create_group",
    "rename_group",
    "add_members",
    "remove_members",
    "delete_group",
    "change_licenses",
)


class BulkAnswer(Enum):
    """A scripted outcome of one create in a ``create_users`` call (besides a ``WebexError``)."""

    LOST = "lost"
    """The user is created, but its outcome says ``WebexOutcomeUnknownError``."""


LOST = BulkAnswer.LOST


@dataclass
class _Answer:
    """What the request in progress answers: its HTTP status, and what it was doing."""

    what: str
    status: int = 200


class InMemoryWebex:
    """A fake Webex organization; see the module docstring. ``max_batch``: the most creates one
    ``create_users`` call takes, ``max_members``: the most members one group call takes (more is
    a ``ValueError``, as for ``ScimWebexClient``); ``unique_group_names=False`` allows two groups
    of one name."""

    def __init__(
        self,
        *,
        max_batch: int = 100,
        id_prefix: str = "webex-user-",
        max_members: int = 100,
        unique_group_names: bool = True,
    ) -> None:
        self.max_batch = max_batch
        self.max_members = max_members
        self.calls: list[tuple[str, str]] = []
        self.closed = False
        self._id_prefix = id_prefix
        self._lock = threading.RLock()
        self._users: dict[str, WebexUser] = {}  # by id, in creation order
        self._ids: dict[str, str] = {}  # folded e-mail -> id
        self._created = 0
        self.reads = 0
        """How many users listed by ``scan_users`` were read (``ListedUser.read``)."""
        self._faults = FaultScript("InMemoryWebex", METHODS)
        self._bulk: dict[str, BulkAnswer | WebexError] = {}
        self._requests: Counter[tuple[str, str]] = Counter()
        self._groups = GroupBook(unique_names=unique_group_names)
        self._licenses = LicenseBook()

    # -- WebexClient --------------------------------------------------------------------------

    def find_by_email(self, email: str) -> WebexUser | None:
        with self._lock, self._request("find_by_email", fold_email(email), what=f"looking up {email}"):
            webex_id = self._ids.get(fold_email(email))
            return self._copy(webex_id) if webex_id is not None else None

    def list_users(self, keys: Collection[str] | None = None) -> Iterator[WebexUser]:
        """Every user, in creation order (a generator: faults hit when iteration starts)."""
        with self._lock, self._request("list_users", what="listing Webex users"):
            users = [self._copy(webex_id) for webex_id in self._users]
        if keys is None:
            yield from users
            return
        kept = {*keys, "email"}
        for user in users:
            attributes = {k: v for k, v in user.attributes.items() if k in kept}
            yield WebexUser(user.id, user.email, user.active, attributes)

    def scan_users(self, keys: Collection[str] | None = None) -> Iterator[ListedUser]:
        """What ``list_users`` lists (its own faults and calls: ``scan_users``), each user's
        fingerprint a hash of all it reads as; ``reads`` counts the users read."""
        with self._lock, self._request("scan_users", what="listing Webex users"):
            users = [self._copy(webex_id) for webex_id in self._users]
        kept = None if keys is None else {*keys, "email"}
        for user in users:
            if kept is None:
                yield _Listed(self, user)
            else:
                attributes = {k: v for k, v in user.attributes.items() if k in kept}
                yield _Listed(self, WebexUser(user.id, user.email, user.active, attributes))

    def count_users(self) -> int:
        with self._lock, self._request("count_users", what="counting Webex users"):
            return len(self._users)

    def get_user(self, webex_id: str) -> WebexUser | None:
        with self._lock, self._request("get_user", webex_id, what=f"reading Webex user {webex_id}") as answer:
            if webex_id not in self._users:
                answer.status = 404
                return None
            return self._copy(webex_id)

    def create_user(self, attributes: Attributes, *, active: bool = True) -> WebexUser:
        email = attributes.get("email", "")
        what = f"creating Webex user {email or '(no e-mail)'}"
        with self._lock, self._request("create_user", fold_email(email), what=what) as answer:
            answer.status = 201
            return self._create(attributes, active, what)

    def update_user(
        self, webex_id: str, changes: Sequence[Change], *, active: bool | None = None
    ) -> WebexUser:
        what = f"updating Webex user {webex_id}"
        with self._lock, self._request("update_user", webex_id, what=what):
            user = self._users.get(webex_id)
            if user is None:
                raise WebexNotFoundError(f"{what}: the Webex user does not exist (any more)", status=404)
            attributes = dict(user.attributes)
            for change in changes:
                if change.old == change.new:
                    continue
                if change.new:
                    attributes[change.attribute] = change.new
                elif change.attribute == "email":
                    raise WebexRejectedError(
                        f"{what}: the email (userName) of a Webex user cannot be removed, only changed",
                        status=400,
                    )
                else:
                    attributes.pop(change.attribute, None)
            return self._store(webex_id, attributes, user.active if active is None else active, what)

    def delete_user(self, webex_id: str) -> None:
        with (
            self._lock,
            self._request("delete_user", webex_id, what=f"deleting Webex user {webex_id}") as answer,
        ):
            user = self._users.pop(webex_id, None)
            if user is None:
                answer.status = 404
                return
            del self._ids[fold_email(user.email)]
            self._groups.forget_user(webex_id)
            self._licenses.forget_user(webex_id)
            answer.status = 204

    def close(self) -> None:
        self.closed = True

    # -- WebexGroups --------------------------------------------------------------------------

    def find_group(self, name: str) -> WebexGroup | None:
        with self._lock, self._request("find_group", name, what=f'looking up Webex group "{name}"'):
            return self._groups.find(name)

    def list_groups(self) -> Iterator[WebexGroup]:
        """Every group, in creation order, without members (a generator, like ``list_users``)."""
        with self._lock, self._request("list_groups", what="listing Webex groups"):
            groups = self._groups.all()
        yield from groups

    def get_group(self, group_id: str) -> WebexGroup | None:
        what = f"reading Webex group {group_id}"
        with self._lock, self._request("get_group", group_id, what=what) as answer:
            group = self._groups.get(group_id)
            if group is None:
                answer.status = 404
            return group

    def create_group(self, name: str, external_id: str, members: Sequence[str] = ()) -> WebexGroup:
        wanted = self._members_of_one_call(members, "create a group with")
        with self._lock, self._request("create_group", name, what=f'creating Webex group "{name}"') as answer:
            answer.status = 201
            return self._groups.create(name, external_id, wanted, self._users, answer.what)

    def rename_group(self, group_id: str, name: str) -> None:
        what = f'renaming Webex group {group_id} to "{name}"'
        with self._lock, self._request("rename_group", group_id, what=what):
            self._groups.rename(group_id, name, what)

    def add_members(self, group_id: str, members: Sequence[str]) -> None:
        wanted = self._members_of_one_call(members, "add")
        what = f"adding {len(wanted)} member(s) to Webex group {group_id}"
        with self._lock, self._request("add_members", group_id, what=what):
            self._groups.add(group_id, wanted, self._users, what)

    def remove_members(self, group_id: str, members: Sequence[str]) -> None:
        wanted = self._members_of_one_call(members, "remove")
        what = f"removing {len(wanted)} member(s) from Webex group {group_id}"
        with self._lock, self._request("remove_members", group_id, what=what):
            self._groups.remove(group_id, wanted, what)

    def delete_group(self, group_id: str) -> None:
        what = f"deleting Webex group {group_id}"
        with self._lock, self._request("delete_group", group_id, what=what) as answer:
            answer.status = 204 if self._groups.delete(group_id) else 404

    def _members_of_one_call(self, members: Sequence[str], doing: str) -> list[str]:
        wanted = list(dict.fromkeys(members))
        if len(wanted) > self.max_members:
            raise ValueError(
                f"one request may {doing} at most {self.max_members} members (max_members), not {len(wanted)}"
            )
        return wanted

    # -- WebexLicenses ------------------------------------------------------------------------

    def list_licenses(self) -> list[License]:
        with self._lock, self._request("list_licenses", what="listing the Webex licences"):
            return self._licenses.all()

    def license_holders(self, license_id: str) -> Iterator[str]:
        """The holders of a licence (a generator: faults hit when iteration starts)."""
        what = f"listing the holders of Webex licence {license_id}"
        with self._lock, self._request("license_holders", license_id, what=what) as answer:
            if not self._licenses.known(license_id):
                answer.status = 404
                raise WebexNotFoundError(f"{what}: Webex has no such licence", status=404)
            holders = self._licenses.holders(license_id)
        yield from holders

    def user_licenses(self, webex_id: str) -> frozenset[str]:
        what = f"reading the licences of Webex user {webex_id}"
        with self._lock, self._request("user_licenses", webex_id, what=what):
            self._existing_user(webex_id, what)
            return self._licenses.held_by(webex_id)

    def change_licenses(
        self, webex_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> LicenseAnswer:
        if not add and not remove:
            return LicenseAnswer(self.user_licenses(webex_id), complete=True)
        what = f"changing the licences of Webex user {webex_id}"
        with self._lock, self._request("change_licenses", webex_id, what=what) as answer:
            self._existing_user(webex_id, what)
            changed = self._licenses.change(webex_id, list(add), list(remove), what)
            answer.status = 200 if changed.complete else 206
            return changed

    def _existing_user(self, webex_id: str, what: str) -> None:
        if webex_id not in self._users:
            raise WebexNotFoundError(f"{what}: the Webex user does not exist (any more)", status=404)

    # -- BulkCreator, CountsRequests ----------------------------------------------------------

    def create_users(self, users: Sequence[tuple[Attributes, bool]]) -> list[CreateOutcome]:
        """Per user and in order, its new id or its error; a scripted ``answer_bulk`` outcome
        replaces what an e-mail would have got (see ``answer_bulk``)."""
        if len(users) > self.max_batch:
            raise ValueError(f"a Bulk request takes at most {self.max_batch} creates, not {len(users)}")
        emails = [fold_email(attributes.get("email", "")) for attributes, _ in users]
        what = f"creating {len(users)} Webex user(s) in a Bulk request"
        with self._lock, self._request("create_users", *emails, what=what):
            return [self._create_in_bulk(attributes, active) for attributes, active in users]

    def request_stats(self) -> StatsSnapshot:
        """Calls counted as the requests Webex would have seen: (HTTP method, status), ``none``
        for an answer lost."""
        with self._lock:
            return StatsSnapshot(dict(self._requests))

    # -- scripting faults ---------------------------------------------------------------------

    def fail_next(self, operation: str, error: WebexError, *, times: int = 1, key: str | None = None) -> None:
        """The next ``times`` calls of ``operation`` (about ``key``: an e-mail, an id or a group
        name as the call gives it, when given) raise ``error`` without changing anything."""
        with self._lock:
            self._faults.add(operation, error, times=times, key=_key(operation, key))

    def lose_answer_next(
        self, operation: str = "create_user", *, times: int = 1, key: str | None = None
    ) -> None:
        """The next ``times`` calls of the write ``operation`` (about ``key``) are applied, then
        raise ``WebexOutcomeUnknownError`` (the answer was lost)."""
        if operation not in WRITES:
            raise ValueError(f"only a write loses its answer ({', '.join(WRITES)}), not {operation!r}")
        with self._lock:
            self._faults.add(operation, None, times=times, key=_key(operation, key))

    def answer_bulk(self, outcomes: Mapping[str, BulkAnswer | WebexError]) -> None:
        """The next create of each e-mail in a ``create_users`` call answers its outcome: a
        ``WebexError`` (the user is not created; a ``WebexOutcomeUnknownError`` then means "lost
        before it was applied"), or ``LOST`` (created, answered ``WebexOutcomeUnknownError``)."""
        with self._lock:
            self._bulk.update({fold_email(email): outcome for email, outcome in outcomes.items()})

    def pending_faults(self) -> int:
        """How many scripted faults and Bulk outcomes have not happened yet."""
        with self._lock:
            return self._faults.pending() + len(self._bulk)

    # -- seeding and looking ------------------------------------------------------------------

    def add_user(
        self, email: str, *, active: bool = True, webex_id: str | None = None, **attributes: str
    ) -> WebexUser:
        """Put a user in the organization directly (not a call: neither logged nor counted)."""
        with self._lock:
            return self._create({**attributes, "email": email}, active, f"seeding {email}", webex_id)

    def edit_user(self, webex_id: str, *, active: bool | None = None, **attributes: str | None) -> None:
        """Change a user directly, as an administrator would in Control Hub (not a call): each
        attribute given is set (removed when ``None``), and ``active`` when given."""
        with self._lock:
            user = self._users[webex_id]
            values = {**user.attributes, **attributes}
            kept = {key: value for key, value in values.items() if value is not None}
            self._store(webex_id, kept, user.active if active is None else active, f"editing {webex_id}")

    def remove_user(self, webex_id: str) -> None:
        """Delete a user directly, as an administrator would (not a call); it leaves its groups."""
        with self._lock:
            user = self._users.pop(webex_id)
            del self._ids[fold_email(user.email)]
            self._groups.forget_user(webex_id)

    def users(self) -> list[WebexUser]:
        """Every user, in creation order (copies)."""
        with self._lock:
            return [self._copy(webex_id) for webex_id in self._users]

    def user(self, email: str) -> WebexUser | None:
        """The user with this e-mail (any case), or ``None``; not a call."""
        with self._lock:
            webex_id = self._ids.get(fold_email(email))
            return self._copy(webex_id) if webex_id is not None else None

    def add_group(self, name: str, members: Sequence[str] = (), external_id: str | None = None) -> WebexGroup:
        """Put a group with these members (ids of its users) in the organization directly (not a
        call: neither logged nor counted, and ``max_members`` does not apply); a taken name or
        an unknown member is a ``ValueError``."""
        what = f"seeding Webex group {name!r}"
        with self._lock:
            try:
                return self._groups.create(name, external_id, list(dict.fromkeys(members)), self._users, what)
            except WebexError as exc:
                raise ValueError(str(exc)) from exc

    def groups(self) -> list[WebexGroup]:
        """Every group with its members, in creation order (not a call)."""
        with self._lock:
            return self._groups.all(members=True)

    def group(self, name: str) -> WebexGroup | None:
        """The group with this name (any case) and its members, or ``None``; not a call."""
        with self._lock:
            return self._groups.find(name, members=True)

    def add_license(self, name: str, total: int, *, calling: bool | None = None) -> License:
        """Put a licence with ``total`` units in the organization (not a call); its id is made
        from its name, and it is a Calling one when its name says so (unless ``calling`` says
        otherwise)."""
        with self._lock:
            return self._licenses.add(name, total, calling)

    def licenses(self) -> list[License]:
        """Every licence with its consumed units, in the order added (not a call)."""
        with self._lock:
            return self._licenses.all()

    def set_user_licenses(self, webex_id: str, license_ids: Sequence[str]) -> None:
        """Give a user exactly these licences, as an administrator does by hand in Control Hub
        (not a call; units are not checked). ``ValueError`` for an unknown user or licence."""
        with self._lock:
            if webex_id not in self._users:
                raise ValueError(f"no Webex user {webex_id} in this organization")
            self._licenses.set(webex_id, license_ids)

    def held_licenses(self, webex_id: str) -> frozenset[str]:
        """The ids of the licences a user holds (not a call)."""
        with self._lock:
            return self._licenses.held_by(webex_id)

    def calls_of(self, operation: str) -> list[str]:
        """The keys of the calls of ``operation``, in order."""
        with self._lock:
            return [key for name, key in self.calls if name == operation]

    # -- internals ----------------------------------------------------------------------------

    @contextmanager
    def _request(self, operation: str, *keys: str, what: str) -> Iterator[_Answer]:
        """Log the call, apply a scripted fault, count the answer (under the lock)."""
        self.calls.extend((operation, key) for key in keys or ("",))
        method = METHODS[operation]
        fault = self._faults.take(operation, keys)
        if fault is not None and fault.error is not None:
            error = fault.raised()
            self._count(method, error.status if isinstance(error, WebexError) else 0)
            raise error
        answer = _Answer(what)
        try:
            yield answer
        except WebexError as exc:
            self._count(method, exc.status)
            raise
        if fault is not None:
            self._count(method, 0)
            raise WebexOutcomeUnknownError(
                f"{what}: no answer came back (lost on purpose by the test); it was applied: look "
                "it up before trying again"
            )
        self._count(method, answer.status)

    def _count(self, method: str, status: int) -> None:
        self._requests[(method, str(status) if status else NO_ANSWER)] += 1

    def _create_in_bulk(self, attributes: Attributes, active: bool) -> CreateOutcome:
        email = attributes.get("email", "")
        what = f"creating Webex user {email or '(no e-mail)'} in a Bulk request"
        scripted = self._bulk.pop(fold_email(email), None)
        if isinstance(scripted, WebexError):
            return copy.copy(scripted)
        try:
            user = self._create(attributes, active, what)
        except WebexError as exc:
            return exc
        if scripted is LOST:
            return WebexOutcomeUnknownError(
                f"{what}: the Bulk answer has no result for this operation (lost on purpose by the "
                "test); it was applied: look the user up by e-mail before trying again"
            )
        return user.id

    def _create(
        self, attributes: Attributes, active: bool, what: str, webex_id: str | None = None
    ) -> WebexUser:
        if webex_id is None:
            self._created += 1
            webex_id = f"{self._id_prefix}{self._created:06d}"
        elif webex_id in self._users:
            raise ValueError(f"{what}: the Webex id {webex_id} is taken")
        return self._store(webex_id, attributes, active, what)

    def _store(self, webex_id: str, attributes: Mapping[str, str], active: bool, what: str) -> WebexUser:
        """Save the user (new or changed) after checking its e-mail is there and not taken."""
        values = {key: value for key, value in attributes.items() if value}
        email = values.get("email")
        if not email:
            raise WebexRejectedError(f"{what}: a Webex user needs an email (its userName)", status=400)
        owner = self._ids.get(fold_email(email))
        if owner is not None and owner != webex_id:
            raise WebexConflictError(
                f"{what}: the e-mail {email} is taken by Webex user {owner}",
                status=409,
                scim_type="uniqueness",
            )
        before = self._users.get(webex_id)
        if before is not None:
            del self._ids[fold_email(before.email)]
        self._users[webex_id] = WebexUser(webex_id, email, active, values)
        self._ids[fold_email(email)] = webex_id
        return self._copy(webex_id)

    def _copy(self, webex_id: str) -> WebexUser:
        user = self._users[webex_id]
        return WebexUser(user.id, user.email, user.active, dict(user.attributes))

    def __repr__(self) -> str:
        with self._lock:
            return f"InMemoryWebex(users={len(self._users)}, calls={len(self.calls)})"


def _key(operation: str, key: str | None) -> str | None:
    """A fault's key as calls are logged: e-mails folded, ids and group names as they are."""
    if key is None or operation in GROUP_OPERATIONS:
        return key
    return fold_email(key) if "@" in key else key
