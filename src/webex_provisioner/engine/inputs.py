"""What a cycle plans from, as one value: the directory users to plan, the links they involve,
and what the read tells about the users it did not return.

* **Full** (``full_read``): every directory user, streamed from the directory (a reader process
  may read while the links load), and every link; only a complete read may conclude that an
  unseen linked user was deleted.
* **From a change feed** (``feed_input``): the changes since the stored watermark. An incremental
  set is planned with the users a full cycle would have retried or re-planned (``Bookkeeping``
  retry anchors and held actions), the deleted anchors, and only the links these involve (their
  own, and those of the DNs their attributes name: a manager), so a cycle with nothing changed
  costs a few small queries whatever the size of the directory.
* **One user** (``one_user``): ``sync --user`` and ``users explain``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from webex_provisioner.errors import UserNotFoundError
from webex_provisioner.model import CycleKind, DirectoryUser, Link
from webex_provisioner.model.keys import is_dn
from webex_provisioner.ports import (
    ChangeFeed,
    ChangeSet,
    DirectorySource,
    MarkableFeed,
    StateStore,
    UserStream,
)
from webex_provisioner.rules.carryover import classify_retries


@dataclass
class CycleInput:
    """The users a cycle plans, the links it plans them against, and what its read concludes."""

    kind: CycleKind
    users: Iterable[DirectoryUser]
    links: dict[str, Link]
    complete: bool
    """The read covered the whole scope: linked users it did not return are gone."""
    link_count: int | None = None
    """How many links exist, when ``links`` holds them all (``None``: only those involved)."""
    deleted: tuple[str, ...] = ()
    watermark: str | None = None
    """Where the feed stood: stored once the cycle's actions are applied."""
    reread: set[str] = field(default_factory=set)
    """The anchors an incremental read re-read or saw deleted."""
    reading: UserStream | None = None

    @property
    def incremental(self) -> bool:
        return self.kind is CycleKind.INCREMENTAL

    def close(self) -> None:
        """Stop a directory read that was not read to the end (a reader process is killed)."""
        if self.reading is not None:
            self.reading.close()


def full_read(
    directory: DirectorySource,
    store: StateStore,
    add_time: Callable[[float], None],
    *,
    watermark: str | None = None,
) -> CycleInput:
    """Every directory user (the read starts before the links load) and every link."""
    reading = directory.read_users()
    try:
        links = {link.anchor: link for link in store.links()}
    except BaseException:
        reading.close()
        raise
    return CycleInput(
        CycleKind.FULL,
        timed(reading, add_time),
        links,
        complete=True,
        link_count=len(links),
        watermark=watermark,
        reading=reading,
    )


def feed_input(
    feed: ChangeFeed,
    since: str | None,
    directory: DirectorySource,
    store: StateStore,
    add_time: Callable[[float], None],
) -> CycleInput:
    """What changed since ``since``: an incremental set, a full set, or, for a feed that can mark
    where the directory stands, a full read that stores that mark."""
    if since is None and isinstance(feed, MarkableFeed):
        return full_read(directory, store, add_time, watermark=feed.mark())
    started = time.monotonic()
    try:
        changes = feed.changes(since)
        if not changes.full:
            return incremental_input(changes, directory, store)
    finally:
        add_time(time.monotonic() - started)
    links = {link.anchor: link for link in store.links()}
    return CycleInput(
        CycleKind.FULL,
        changes.changed,
        links,
        complete=True,
        link_count=len(links),
        watermark=changes.watermark,
    )


def incremental_input(changes: ChangeSet, directory: DirectorySource, store: StateStore) -> CycleInput:
    """An incremental set with the users to retry or re-plan, and the links they involve."""
    users = {u.anchor: u for u in changes.changed}
    deleted = set(changes.deleted) - set(users)
    again = [
        anchor
        for anchor in dict.fromkeys([*store.retry_anchors(), *(a.anchor for a in store.held())])
        if anchor not in users and anchor not in deleted
    ]
    found = {anchor: directory.find_user(anchor) for anchor in again}
    linked = {anchor for anchor, user in found.items() if user is None and store.get_link(anchor) is not None}
    retried = classify_retries(again, found, linked)
    users.update((u.anchor, u) for u in retried.users)
    deleted.update(retried.deleted)
    links: dict[str, Link] = {}
    for anchor in [*users, *deleted]:
        link = store.get_link(anchor)
        if link is not None:
            links[anchor] = link
    for dn in referenced_dns(users.values()):
        for link in store.find_links(dn):
            links.setdefault(link.anchor, link)
    return CycleInput(
        CycleKind.INCREMENTAL,
        list(users.values()),
        links,
        complete=False,
        deleted=tuple(sorted(deleted)),
        watermark=changes.watermark,
        reread=set(users) | deleted,
    )


def one_user(directory: DirectorySource, store: StateStore, key: str) -> CycleInput:
    """The directory user and the links ``key`` (e-mail, anchor or DN) names."""
    found = directory.find_user(key)
    linked = store.find_links(key)
    if found is None and linked:
        found = directory.find_user(linked[0].anchor)
    if found is None and not linked:
        raise UserNotFoundError(
            f"no directory user and no link matches {key!r}; give an e-mail, an anchor or a DN "
            "(see 'webex-provisioner users list')"
        )
    links = {link.anchor: link for link in linked}
    if found is not None and found.anchor not in links:
        link = store.get_link(found.anchor)
        if link is not None:
            links[link.anchor] = link
    return CycleInput(CycleKind.USER, [found] if found else [], links, complete=True)


def owners_of(store: StateStore, webex_ids: Iterable[str], links: Mapping[str, Link]) -> dict[str, Link]:
    """Links (not yet in ``links``) holding these Webex ids: a candidate's match may be linked to
    someone else, which the planner must see to report the conflict."""
    known = {link.webex_id for link in links.values()}
    found: dict[str, Link] = {}
    for webex_id in webex_ids:
        if webex_id in known:
            continue
        for link in store.find_links(webex_id):
            if link.webex_id == webex_id:
                found[link.anchor] = link
    return found


def referenced_dns(users: Iterable[DirectoryUser]) -> set[str]:
    """DN values of the users' attributes (a manager, say), whose links the mapping may need."""
    return {
        value
        for user in users
        for name, values in user.attributes.items()
        if name != "dn"
        for value in values
        if "=" in value and "," in value and is_dn(value)
    }


def timed(users: Iterable[DirectoryUser], add: Callable[[float], None]) -> Iterator[DirectoryUser]:
    """``users``, passing to ``add`` the seconds spent waiting for each next one."""
    iterator = iter(users)
    while True:
        started = time.monotonic()
        try:
            user = next(iterator)
        except StopIteration:
            return
        finally:
            add(time.monotonic() - started)
        yield user
