"""Reading what Webex holds for a drift check (docs/drift.md), cheaply and safely.

* **A full cycle** (``WebexListing``) lists every Webex user in a thread of its own, started once
  the links are loaded, while the directory is read and planned: each page is compared with the
  links as it arrives, and only what differs is kept, with the Webex ids of the active links not
  seen yet. A user is compared only when its fingerprint (``rules.verified``: what Webex sent,
  what was applied, what is compared) is not one the last check verified; the fingerprints of
  the users found as applied are kept for the next check (``DriftFindings.verified``, saved by
  the cycle). Linked
  users the listing did not return are read one by one (at most ``VERIFY_AT_MOST``) before they
  count as deleted: a user deleted while the listing ran shifts the pages after it. Then each
  pushed group's members are read and compared with the members this tool added.
* **Another cycle** (``read_linked``) reads the Webex users of a few links one by one (``sync
  --user``, ``users explain``, the users whose repair waits for an approval).

A read that fails (Webex unreachable, a listing that cannot be trusted: ``webex.paging``)
concludes nothing: the findings carry the error and no drift.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterable, Mapping, Sequence

import structlog

from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import GroupLink, Link, LinkState
from webex_provisioner.model.drift import DriftFindings, GroupDrift
from webex_provisioner.ports import DriftBookkeeping, WebexClient, WebexGroups
from webex_provisioner.rules.drift import compare_user
from webex_provisioner.rules.verified import Verifier

log = structlog.get_logger("webex_provisioner.engine.drift")

VERIFY_AT_MOST = 200
"""Linked users missing from a listing that are read again before counting as deleted; beyond
this many, the complete listing is trusted (the guard holds a mass re-creation anyway)."""


class WebexListing:
    """The drift check of a full cycle: ``start`` it once the links are loaded, then take its
    ``findings`` (which wait for it to end); ``stop`` abandons it."""

    def __init__(
        self,
        webex: WebexClient,
        links: Mapping[str, Link],
        keys: Sequence[str] | None,
        groups: Sequence[GroupLink] = (),
        group_reader: WebexGroups | None = None,
        store: DriftBookkeeping | None = None,
    ) -> None:
        self._webex = webex
        self._store = store
        self._links = links
        self._keys = keys
        self._groups = groups
        self._group_reader = group_reader
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drift-listing", daemon=True)
        self._findings = DriftFindings()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def findings(self) -> DriftFindings:
        """What the check found, once it has ended."""
        self._thread.join()
        return self._findings

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        found = self._findings
        try:
            self._users(found)
        except ProvisionerError as exc:
            self._failed(found, f"reading Webex users failed: {exc.message}")
            return
        except Exception as exc:  # a bug must not leave the cycle waiting or conclude anything
            self._failed(found, f"reading Webex users failed unexpectedly: {exc!r}"[:500])
            return
        if self._group_reader is None or not self._groups or self._stop.is_set():
            return
        try:
            found.groups = list(self._group_drift(self._group_reader))
            found.groups_checked = True
        except ProvisionerError as exc:
            found.groups_error = f"reading the pushed groups in Webex failed: {exc.message}"

    def _verified(self) -> frozenset[bytes]:
        """What earlier checks verified; nothing when it cannot be read (every user is compared)."""
        if self._store is None:
            return frozenset()
        try:
            return self._store.verified()
        except ProvisionerError as exc:
            log.warning("drift.verified_not_read", error=exc.message)
            return frozenset()

    def _failed(self, found: DriftFindings, error: str) -> None:
        found.users.clear()
        found.verified.clear()
        found.error = f"{error}; no drift is concluded in this cycle"

    def _users(self, found: DriftFindings) -> None:
        fingerprint = Verifier(self._keys).fingerprint
        known = self._verified()
        kept = found.verified
        keep = kept.append
        links = self._links
        unseen = {link.webex_id: anchor for anchor, link in links.items()}
        stopped = self._stop.is_set
        users = self._webex.scan_users(self._keys)
        listed_users = orphans = unchanged = 0
        try:
            for listed in users:  # 100,000 users: what each costs counts (locals, no attribute)
                if stopped():
                    found.error = "stopped before the Webex listing ended"
                    return
                listed_users += 1
                anchor = unseen.pop(listed.id, None)
                if anchor is None:
                    orphans += 1
                    continue
                link = links[anchor]
                if link.state is not LinkState.ACTIVE:
                    continue  # not compared (compare_user)
                verified = fingerprint(link, listed.fingerprint)
                if verified in known:
                    keep(verified)  # compared as applied before, and nothing compared changed since
                    unchanged += 1
                    continue
                found.compared += 1
                drift = compare_user(link, listed.read(), self._keys)
                if drift is None:
                    keep(verified)
                else:
                    found.users[anchor] = drift
        finally:
            found.webex_users += listed_users
            found.orphans += orphans
            found.unchanged += unchanged
            if isinstance(users, Generator):
                users.close()  # an abandoned listing sends no further request
        found.verified_changed = frozenset(kept) != known
        missing = [a for a in unseen.values() if links[a].state is LinkState.ACTIVE]
        del unseen
        self._missing(found, missing)

    def _missing(self, found: DriftFindings, anchors: list[str]) -> None:
        """The active links the listing did not return: read again (the first ``VERIFY_AT_MOST``)."""
        for n, anchor in enumerate(anchors):
            link = self._links[anchor]
            user = self._webex.get_user(link.webex_id) if n < VERIFY_AT_MOST else None
            drift = compare_user(link, user, self._keys)
            if drift is not None:
                found.users[anchor] = drift

    def _group_drift(self, reader: WebexGroups) -> Iterable[GroupDrift]:
        for link in self._groups:
            if self._stop.is_set():
                return
            ids = {a: self._links[a].webex_id for a in link.members if a in self._links}
            if not ids:
                continue
            group = reader.get_group(link.webex_id)
            members = group.members or frozenset() if group is not None else frozenset()
            missing = frozenset(a for a, webex_id in ids.items() if webex_id not in members)
            if missing:
                yield GroupDrift(link.anchor, link.name, link.dn, link.webex_id, missing, gone=group is None)


def read_linked(webex: WebexClient, links: Iterable[Link], keys: Sequence[str] | None) -> DriftFindings:
    """The drift check of a few links: each active one's Webex user read by id."""
    found = DriftFindings()
    try:
        for link in links:
            if link.state is not LinkState.ACTIVE:
                continue
            user = webex.get_user(link.webex_id)
            found.webex_users += user is not None
            found.compared += 1
            drift = compare_user(link, user, keys)
            if drift is not None:
                found.users[link.anchor] = drift
    except ProvisionerError as exc:
        found.users.clear()
        found.error = f"reading Webex users failed: {exc.message}; no drift is concluded in this cycle"
    return found
