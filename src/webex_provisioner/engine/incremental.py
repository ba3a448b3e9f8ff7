"""The cycle's side of change detection: watermarks, what an incremental cycle reads, retries.

An incremental cycle plans from a ``ChangeSet`` instead of a full read. ``read_changes`` turns
one into what the planner needs: the changed users, plus the users a full cycle would have
retried (their last action failed) or re-planned (a deprovision held by the guard), the deleted
anchors, and only the links these involve (their own, their managers', and those of the Webex
users their e-mails match), so a cycle with nothing changed costs a few small queries whatever
the size of the directory.

The stored watermark is wrapped with a digest of the configuration it was taken under: after a
change to the directory, mapping or provisioning settings, the next cycle is a full one.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from webex_provisioner.config import Config
from webex_provisioner.directory.changes import open_change_feed, watermark_name
from webex_provisioner.directory.dn import is_dn
from webex_provisioner.directory.ldap import LdapDirectory
from webex_provisioner.model import DirectoryUser, Link, Plan, ProblemKind
from webex_provisioner.ports import ChangeFeed, ChangeSet, DirectorySource, StateStore
from webex_provisioner.rules.safety import DeprovisionLimits

log = structlog.get_logger("webex_provisioner.engine.incremental")

RETRY_WATERMARK = "cycle.retry_anchors"
BASELINE_WATERMARK = "cycle.baseline"  # a token every feed watermark carries; 'reset' drops it
MAX_RETRIES = 1000  # anchors re-read by each incremental cycle at most; a full cycle retries all
GUARD_WINDOW = timedelta(hours=1)


def config_digest(config: Config) -> str:
    """A fingerprint of the settings that decide what a cycle plans (not secrets, not timeouts)."""
    directory = config.directory.model_dump(
        mode="json", exclude={"bind_password", "timeout", "page_size", "ca_file", "tls_verify"}
    )
    data = {
        "directory": directory,
        "attributes": config.directory_attributes(),
        "mapping": {k: repr(v) for k, v in sorted(config.mapping.items())},
        "provisioning": config.provisioning.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StoredWatermark:
    """A feed's watermark in the state store, valid only under the configuration it was taken
    with, and only while the state's baseline token stands (``forget_baseline`` drops it)."""

    def __init__(self, store: StateStore, feed: ChangeFeed, config: Config) -> None:
        self._store = store
        self.name = watermark_name(feed)
        self._digest = config_digest(config)

    def load(self) -> str | None:
        """The feed's watermark, or ``None`` when there is none or it no longer applies."""
        stored = self._store.get_watermark(self.name)
        token = self._store.get_watermark(BASELINE_WATERMARK)
        if stored is None or token is None:
            return None
        prefix, sep, watermark = stored.partition(":")
        if not sep or prefix != f"{self._digest}.{token}":
            log.info(
                "cycle.watermark_outdated",
                watermark=self.name,
                detail="the configuration or the state changed since it was taken; this cycle reads all",
            )
            return None
        return watermark

    def save(self, watermark: str) -> None:
        token = self._store.get_watermark(BASELINE_WATERMARK)
        if token is None:
            token = uuid.uuid4().hex[:12]
            self._store.set_watermark(BASELINE_WATERMARK, token)
        self._store.set_watermark(self.name, f"{self._digest}.{token}:{watermark}")


def forget_baseline(store: StateStore) -> None:
    """Make the next cycle with a change feed a full one (after the links were dropped, say)."""
    store.set_watermark(BASELINE_WATERMARK, None)


def retry_later(store: StateStore, anchors: Iterable[str]) -> None:
    """Have the next incremental cycles read these directory users again (a forgotten link)."""
    current = load_retries(store)
    wanted = list(dict.fromkeys([*current, *anchors]))[:MAX_RETRIES]
    if wanted != current:
        store.set_watermark(RETRY_WATERMARK, json.dumps(wanted))


@dataclass
class ChangeRead:
    """What an incremental cycle plans from."""

    users: list[DirectoryUser]
    deleted: tuple[str, ...]
    links: dict[str, Link]
    watermark: str
    full: bool = False
    retried: int = 0
    streamed: bool = False
    """A full cycle that reads the directory itself (``users`` is empty)."""


def load_retries(store: StateStore) -> list[str]:
    raw = store.get_watermark(RETRY_WATERMARK)
    try:
        anchors = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [str(a) for a in anchors] if isinstance(anchors, list) else []


def save_retries(store: StateStore, plan: Plan, failed: Iterable[str]) -> None:
    """Remember the users to try again: failed actions and failed Webex lookups."""
    anchors = set(failed) | {p.anchor for p in plan.problems if p.kind is ProblemKind.FAILED}
    if len(anchors) > MAX_RETRIES:
        log.warning(
            "cycle.too_many_retries",
            failed=len(anchors),
            detail=f"only {MAX_RETRIES} are retried by incremental cycles; the next full cycle retries all",
        )
    value = json.dumps(sorted(anchors)[:MAX_RETRIES]) if anchors else None
    if value != store.get_watermark(RETRY_WATERMARK):
        store.set_watermark(RETRY_WATERMARK, value)


def read_changes(changes: ChangeSet, store: StateStore, directory: DirectorySource) -> ChangeRead:
    """The users, deletes and links an incremental cycle plans from (see the module docstring)."""
    users = {u.anchor: u for u in changes.changed}
    deleted = set(changes.deleted) - set(users)
    again = [a for a in dict.fromkeys([*load_retries(store), *(a.anchor for a in store.held())])]
    retried = 0
    for anchor in again:
        if anchor in users or anchor in deleted:
            continue
        found = directory.find_user(anchor)
        if found is not None:
            users[found.anchor] = found
            retried += 1
        elif store.get_link(anchor) is not None:
            deleted.add(anchor)
            retried += 1
    links: dict[str, Link] = {}
    for anchor in [*users, *deleted]:
        link = store.get_link(anchor)
        if link is not None:
            links[anchor] = link
    for dn in _referenced_dns(users.values()):
        for link in store.find_links(dn):
            links.setdefault(link.anchor, link)
    return ChangeRead(list(users.values()), tuple(sorted(deleted)), links, changes.watermark, retried=retried)


def read_feed(
    feed: ChangeFeed, since: str | None, store: StateStore, directory: DirectorySource
) -> ChangeRead:
    """What a cycle with a change feed plans from: the changes since ``since``; a full change
    set; or, for a full cycle whose feed can ``mark`` where the directory stands (before the
    cycle reads it), only that watermark (``streamed``: the cycle reads the directory itself)."""
    mark = getattr(feed, "mark", None)
    if since is None and callable(mark):
        return ChangeRead([], (), {}, str(mark()), full=True, streamed=True)
    changes = feed.changes(since)
    if changes.full:
        return ChangeRead(list(changes.changed), (), {}, changes.watermark, full=True)
    return read_changes(changes, store, directory)


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


def _referenced_dns(users: Iterable[DirectoryUser]) -> set[str]:
    """DN values of the users' attributes (a manager, say), whose links the mapping may need."""
    return {
        value
        for user in users
        for name, values in user.attributes.items()
        if name != "dn"
        for value in values
        if "=" in value and "," in value and is_dn(value)
    }


@dataclass
class DeprovisionWindow:
    """Deprovisions applied by recent incremental cycles, so that many small cycles (a change
    applied as it arrives) share ``safety.max_deprovisions`` over ``GUARD_WINDOW``."""

    window: timedelta = GUARD_WINDOW
    applied: deque[datetime] = field(default_factory=deque)

    def limits(self, limits: DeprovisionLimits, link_count: int, now: datetime) -> DeprovisionLimits:
        """What is left of ``limits`` for one more cycle."""
        while self.applied and self.applied[0] <= now - self.window:
            self.applied.popleft()
        allowed = limits.allowed(link_count)
        if allowed is None:
            return limits
        return DeprovisionLimits(count=max(0, allowed - len(self.applied)), percent=None)

    def add(self, count: int, now: datetime) -> None:
        self.applied.extend([now] * count)


def deprovision_count(counts: Mapping[tuple[str, str], int]) -> int:
    """How many disables and deletes an apply applied."""
    return sum(
        n for (kind, outcome), n in counts.items() if kind in ("disable", "delete") and outcome == "applied"
    )


def open_feed(config: Config, directory: DirectorySource) -> ChangeFeed | None:
    """The change feed of ``config`` for an LDAP directory source (``None`` for any other, or
    with ``directory.change_detection: none``)."""
    if not isinstance(directory, LdapDirectory):
        return None
    return open_change_feed(config.directory, directory)
