"""What the commands do besides running cycles: check the setup, gather the status, approve held
actions for a running instance, drop links. The CLI renders the results; nothing is decided there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from webex_provisioner.config import Config
from webex_provisioner.config.risks import accepted_insecure
from webex_provisioner.config.values import mask_url
from webex_provisioner.engine.bookkeeping import approve_held_later, ask_retry, forget_baseline
from webex_provisioner.engine.license_report import check_licenses
from webex_provisioner.engine.wiring import Engine
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import (
    Action,
    AuditEntry,
    CycleRecord,
    DirectoryGroup,
    GroupAction,
    GroupLink,
    InstanceRecord,
    LicenseAction,
    Link,
    Member,
    Outcome,
    Problem,
    ProblemKind,
    WebexUser,
)
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.ports import GroupSource, Record, StateStore, WebexGroups

SUCCEEDED = ("succeeded", "partial", "held")
"""Cycle outcomes that count as a success for ``status`` (the cycle ran to its end)."""


def check(engine: Engine) -> tuple[dict[str, Any], bool]:
    """What ``check`` reports: the directory server and scope size, the Webex organization's
    size, the number of links; and whether both servers answered."""
    config = engine.config
    result: dict[str, Any] = {"config": "valid"}
    ok = True
    total = in_scope = disabled = 0
    labels: Counter[str] = Counter()
    try:
        directory = dict(engine.directory.probe())
        for user in engine.directory.read_users():
            total += 1
            in_scope += user.in_scope
            disabled += user.in_scope and user.disabled
            if user.in_scope and not user.disabled:
                labels.update(user.labels)
        result["directory"] = {
            **directory,
            "users": total,
            "in_scope": in_scope,
            "in_scope_disabled": disabled,
        }
    except ProvisionerError as exc:
        ok = False
        result["directory"] = {"error": exc.message}
    try:
        result["webex"] = {
            "url": mask_url(config.webex.url),
            "org_id": config.webex.org_id,
            "users": engine.webex.count_users(),
        }
    except ProvisionerError as exc:
        ok = False
        result["webex"] = {"error": exc.message}
    if config.licenses is not None:
        result["licenses"] = check_licenses(config, engine.webex, labels, in_scope - disabled)
        ok = ok and not ({"error", "problems"} & result["licenses"].keys())
    result["state"] = {"links": engine.store.count_links()}
    warnings = accepted_insecure(config)
    if warnings:
        result["warnings"] = warnings
    return result, ok


@dataclass
class Status:
    """What ``status`` shows."""

    cycles: list[CycleRecord]
    held: list[Action]
    failing: list[Link]
    owner: str | None
    instances: list[InstanceRecord]
    held_groups: list[GroupAction] = field(default_factory=list)
    held_licenses: list[LicenseAction] = field(default_factory=list)
    grants: GrantCounts | None = None
    """With ``licenses:``, the licences recorded (``None`` without)."""
    drift: list[Problem] = field(default_factory=list)
    """The drift in Webex reported by recent cycles and not resolved since (docs/drift.md)."""
    last_success: datetime | None = None
    last_success_age: float | None = field(default=None)


@dataclass(frozen=True, slots=True)
class GrantCounts:
    """The licences the state records: assigned by this tool (ours), held before (not ours),
    and how many users hold them."""

    ours: int
    not_ours: int
    users: int


def count_grants(store: StateStore) -> GrantCounts:
    ours = not_ours = 0
    users: set[str] = set()
    for grant in store.grants():
        users.add(grant.anchor)
        if grant.ours:
            ours += 1
        else:
            not_ours += 1
    return GrantCounts(ours, not_ours, len(users))


def read_status(store: StateStore, config: Config, now: datetime, *, limit: int) -> Status:
    """Recent cycles, held actions, users whose last action failed, the drift reported in Webex,
    and the running instances (an instance announced as active that no longer holds the lock has
    died: not listed)."""
    cycles = store.cycles(limit)
    owner = store.lock_owner()
    instances = [
        i
        for i in store.instances(config.ha.takeover_after.total_seconds())
        if i.role != "active" or i.name == owner
    ]
    status = Status(
        cycles, store.held(), [link for link in store.links() if link.last_error], owner, instances
    )
    status.held_groups = store.held_groups()
    status.held_licenses = store.held_licenses()
    if config.licenses is not None:
        status.grants = count_grants(store)
    status.drift = [p for p in store.open_problems() if p.kind is ProblemKind.DRIFT]
    succeeded = [c for c in cycles if c.outcome in SUCCEEDED and c.finished_at]
    if succeeded:
        status.last_success = succeeded[0].finished_at
        assert status.last_success is not None
        status.last_success_age = (now - status.last_success).total_seconds()
    return status


def orphans(engine: Engine) -> list[WebexUser]:
    """The Webex users no link points to (created by hand, by another tool, or leavers from before
    webex-provisioner), by e-mail; one listing of Webex. Nothing is done to them."""
    linked = {link.webex_id for link in engine.store.links()}
    found = [user for user in engine.webex.list_users() if user.id not in linked]
    return sorted(found, key=lambda user: (fold_email(user.email), user.id))


def approve_for_running_instance(store: StateStore) -> tuple[str, int] | None:
    """With ``run`` holding the lock, record the approval of the held actions for it to apply
    in its next cycle; (the holder, how many). ``None`` when no instance holds the lock."""
    holder = store.lock_owner()
    if holder is None:
        return None
    return holder, approve_held_later(store)


def dropped_by_operator(link: Link, cycle_id: str, now: datetime, command: str) -> Record:
    """The audited removal of ``link`` by an operator's ``command`` (Webex is not touched)."""
    entry = AuditEntry(
        cycle_id,
        now,
        link.anchor,
        link.email,
        "forget",
        "operator",
        Outcome.APPLIED,
        link.webex_id,
        f"link dropped by '{command}'; Webex untouched",
    )
    return Record(entry, drop_link=link.anchor)


def forget(store: StateStore, link: Link, now: datetime) -> None:
    """Drop one link (Webex untouched); the next incremental cycles match the user by e-mail again."""
    store.record([dropped_by_operator(link, "forget", now, "users forget")])
    ask_retry(store, [link.anchor])


def reset(store: StateStore, links: Iterable[Link], now: datetime) -> int:
    """Drop these links (all of them, with their licence grants), the held actions and the
    licence refusals; the next cycle reads the whole scope and links everyone by e-mail again.
    Returns how many links were dropped."""
    records = [dropped_by_operator(link, "reset", now, "reset") for link in links]
    for start in range(0, len(records), 1000):
        store.record(records[start : start + 1000])
    store.hold([], "reset")
    store.hold_licenses([], "reset")
    store.set_license_refusals([])
    forget_baseline(store)
    return len(records)


@dataclass
class GroupDetails:
    """What ``groups show`` tells about one pushed group."""

    key: str
    link: GroupLink | None
    directory: DirectoryGroup | None
    expected: list[Member] = field(default_factory=list)
    """The provisioned users among its directory members: who should be in the Webex group."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Directory members who are not provisioned users, with why (DN, reason)."""
    in_webex: list[tuple[str, str, bool]] | None = None
    """Who is in the Webex group: (Webex id, e-mail or '', managed by webex-provisioner)."""
    error: str | None = None


def group_details(engine: Engine, key: str, *, resolve_at_most: int = 200) -> GroupDetails:
    """Gather ``groups show KEY`` (a group name, anchor or DN). Writes nothing."""
    links = list(engine.store.group_links())
    link = next(
        (g for g in links if key in (g.anchor, g.webex_id) or g.name.lower() == key.strip().lower()), None
    )
    directory = engine.directory if isinstance(engine.directory, GroupSource) else None
    group = directory.find_group(link.anchor if link else key) if directory else None
    details = GroupDetails(key, link, group)
    if link is None and group is None:
        details.error = (
            f"no pushed group and no directory group matches {key!r}; see 'webex-provisioner groups list'"
        )
        return details
    users = {link_.anchor: link_ for link_ in engine.store.links()}
    by_dn = {normalize_dn(u.dn): u for u in users.values() if u.dn}
    for dn in sorted(group.members if group else ()):
        user = by_dn.get(dn)
        if user is not None:
            details.expected.append(Member(user.anchor, user.email))
        elif len(details.skipped) < resolve_at_most:
            details.skipped.append((dn, _why_not_provisioned(engine, dn)))
    if link is not None and isinstance(engine.webex, WebexGroups):
        found = engine.webex.get_group(link.webex_id)
        emails = {u.webex_id: u.email for u in users.values()}
        managed_ids = {users[a].webex_id for a in link.members if a in users}
        members = (found.members or frozenset()) if found is not None else frozenset()
        details.in_webex = sorted(
            ((m, emails.get(m, ""), m in managed_ids) for m in members), key=lambda x: (x[1], x[0])
        )
    return details


def _why_not_provisioned(engine: Engine, dn: str) -> str:
    """Why a member DN is not a provisioned user, as the directory tells."""
    try:
        user = engine.directory.find_user(dn)
    except ProvisionerError as exc:
        return f"cannot tell: {exc.message}"
    if user is None:
        return "not a directory user of the scope's base DN and user filter (the DN does not resolve to one)"
    if not user.in_scope:
        return f"out of scope: {user.scope_reason}"
    if user.disabled:
        return "disabled in the directory"
    return (
        "in scope but not linked: it has a problem (see 'webex-provisioner plan') or joins in the next cycle"
    )
