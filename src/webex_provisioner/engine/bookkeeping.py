"""What a cycle reads from and leaves in the state between cycles (``Bookkeeping`` port), with
the pure rules of ``rules.carryover`` deciding what to keep.

* **Watermarks.** A change feed's watermark is stored wrapped with a digest of the configuration
  it was taken under and the state's baseline token: after a change to the directory, mapping
  or provisioning settings, or after the links were dropped (``forget_baseline``), the next
  cycle is a full one.
* **Retries, open problems, approvals**: see ``rules.carryover``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable

import structlog

from webex_provisioner.config import Config
from webex_provisioner.model import ActionKind, Plan, Problem
from webex_provisioner.ports import Bookkeeping, ChangeFeed, StateStore
from webex_provisioner.rules.carryover import (
    MAX_RETRIES,
    anchors_to_retry,
    carry_problems,
    retry_later,
    usable_approvals,
)

log = structlog.get_logger("webex_provisioner.engine.bookkeeping")


def config_digest(config: Config) -> str:
    """A fingerprint of the settings that decide what a cycle plans (not secrets, not timeouts).
    ``licenses:`` counts: its rules decide which labels the directory puts on users."""
    directory = config.directory.model_dump(
        mode="json", exclude={"bind_password", "timeout", "page_size", "ca_file", "tls_verify"}
    )
    data = {
        "directory": directory,
        "attributes": config.directory_attributes(),
        "mapping": {k: repr(v) for k, v in sorted(config.mapping.items())},
        "provisioning": config.provisioning.model_dump(mode="json"),
    }
    if config.licenses is not None:  # their labels come with the users a feed reads
        data["licenses"] = config.licenses.model_dump(mode="json")
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class StoredWatermark:
    """A feed's watermark in the state store, valid only under the configuration it was taken
    with, and only while the state's baseline token stands (``forget_baseline`` drops it)."""

    def __init__(self, store: Bookkeeping, feed: ChangeFeed, config: Config) -> None:
        self._store = store
        self.name = feed.watermark_name
        self._digest = config_digest(config)

    def load(self) -> str | None:
        """The feed's watermark, or ``None`` when there is none or it no longer applies."""
        stored = self._store.get_watermark(self.name)
        token = self._store.baseline()
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
        token = self._store.baseline()
        if token is None:
            token = uuid.uuid4().hex[:12]
            self._store.set_baseline(token)
        self._store.set_watermark(self.name, f"{self._digest}.{token}:{watermark}")


def forget_baseline(store: Bookkeeping) -> None:
    """Make the next cycle with a change feed a full one (after the links were dropped, say)."""
    store.set_baseline(None)


def ask_retry(store: Bookkeeping, anchors: Iterable[str]) -> None:
    """Have the next incremental cycles read these directory users again (a forgotten link)."""
    current = store.retry_anchors()
    wanted = retry_later(current, anchors)
    if wanted != current:
        store.set_retry_anchors(wanted)


def save_retries(store: Bookkeeping, plan: Plan, failed: Iterable[str]) -> None:
    """Remember the users to try again: failed actions and failed Webex lookups."""
    anchors = anchors_to_retry(plan, failed)
    if anchors.dropped:
        log.warning(
            "cycle.too_many_retries",
            failed=len(anchors.kept) + anchors.dropped,
            detail=f"only {MAX_RETRIES} are retried by incremental cycles; the next full cycle retries all",
        )
    if list(anchors.kept) != store.retry_anchors():
        store.set_retry_anchors(anchors.kept)


def carry_open_problems(
    store: Bookkeeping, plan: Plan, reread: set[str], *, incremental: bool
) -> tuple[Problem, ...]:
    """Store this cycle's problems and return the earlier ones an incremental cycle did not
    re-read, to report again."""
    earlier = store.open_problems() if incremental else []
    result = carry_problems(earlier, plan.problems, reread, incremental=incremental)
    store.set_open_problems(result.stored)
    return result.carried


def held_keys(store: StateStore) -> set[tuple[str, ActionKind]]:
    """(anchor, kind) of every held action, of users, groups and licences."""
    held = {(a.anchor, a.kind) for a in store.held()}
    held |= {(a.anchor, a.kind) for a in store.held_licenses()}
    return held | {(a.anchor, a.kind) for a in store.held_groups()}


def approve_held_later(store: StateStore) -> int:
    """Approve the actions held now, for the instance running cycles (``run``) to apply in its
    next cycle, each re-checked then; returns how many."""
    held = held_keys(store)
    store.set_approvals(held)
    return len(held)


def approved_held(store: StateStore, *, everything: bool, apply: bool) -> set[tuple[str, ActionKind]]:
    """The held actions approved for this cycle: all of them with ``everything``
    (``--approve-held``), else those approved by ``approve_held_later`` and still held. A stored
    approval is used (and forgotten) by the first cycle that applies."""
    held = held_keys(store)
    if everything:
        return held
    if not apply:
        return set()
    approved = store.approvals()
    if not approved:
        return set()
    store.set_approvals(())
    return usable_approvals(held, approved)
