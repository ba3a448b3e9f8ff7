"""The groups phase of a cycle: read the selected directory groups, plan their Webex groups
with ``rules.groups`` after the users are planned, apply once the users are applied.

Reading every group costs one search of their members; a cycle skips it when nothing can have
changed: the groups' digest (``GroupSource.group_digest``: no member read) and the ``groups:``
settings are those of the last cycle that left every group in step, and no user joins, leaves
or moves in this cycle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import structlog

from webex_provisioner.config import Config
from webex_provisioner.engine.executor import ApplyResult, Executor
from webex_provisioner.engine.group_steps import GroupSender
from webex_provisioner.engine.matching import GROUP_LIST_FROM, match_groups
from webex_provisioner.model import (
    ActionKind,
    GroupAction,
    GroupLink,
    Link,
    Member,
    Plan,
)
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.ports import GroupSource, Record, StateStore, WebexGroups
from webex_provisioner.rules.groups import GroupOptions, group_names, names_to_look_up, plan_groups
from webex_provisioner.rules.safety import DeprovisionLimits, guard_groups

log = structlog.get_logger("webex_provisioner.engine.group_cycle")

DIGEST = "groups.digest"
"""The bookkeeping watermark holding the digest of the groups (and ``groups:``) last in step."""


@dataclass
class GroupsPlanned:
    """What the groups phase planned, and what it needs to apply it and to record it."""

    plan: Plan
    digest: str | None = None
    links: dict[str, GroupLink] = field(default_factory=dict)


class GroupPhase:
    """Plans and applies the Webex groups of ``groups:`` for one set of ports."""

    def __init__(
        self,
        config: Config,
        directory: GroupSource,
        webex: WebexGroups,
        store: StateStore,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        assert config.groups is not None
        self._config = config
        self._groups = config.groups
        self._directory = directory
        self._webex = webex
        self._store = store
        self._clock = clock
        self._options = GroupOptions(
            on_deleted=config.groups.on_deleted, protected=config.groups.names_protected()
        )
        self._settings = _settings_digest(config)

    def plan(
        self,
        plan: Plan,
        links: Mapping[str, Link] | None,
        moved: Mapping[str, str],
        approved: set[tuple[str, ActionKind]],
    ) -> GroupsPlanned:
        """Add the group actions (and the group problems) to the users' ``plan``. ``links`` are
        every user link before this cycle (``None``: read them here); ``moved`` the new DNs of
        users whose entry moved."""
        if self._nothing_changed(plan, moved):  # the groups' problems still stand: report them again
            earlier = tuple(p for p in self._store.open_problems() if p.resource == "group")
            return GroupsPlanned(replace(plan, problems=(*plan.problems, *earlier)))
        read = self._directory.read_groups()
        group_links = {link.anchor: link for link in self._store.group_links()}
        users = links if links is not None else {link.anchor: link for link in self._store.links()}
        named = group_names(read.groups, self._groups.name)
        matches = match_groups(self._webex, names_to_look_up(named, group_links), list_from=GROUP_LIST_FROM)
        planned = plan_groups(named, group_links, _people(users, moved, plan), matches, self._options)
        limit = self._config.safety.max_deprovisions
        kept, held = guard_groups(
            planned.actions,
            {anchor: len(link.members) for anchor, link in group_links.items()},
            len(group_links),
            DeprovisionLimits(limit.count, limit.percent),
            approved,
        )
        merged = replace(
            plan,
            groups=kept,
            held_groups=held,
            problems=(*plan.problems, *planned.problems),
            groups_read=len(read.groups),
        )
        return GroupsPlanned(merged, f"{self._settings}:{read.digest}", group_links)

    def _nothing_changed(self, plan: Plan, moved: Mapping[str, str]) -> bool:
        if moved or any(a.kind in _MEMBERSHIP_CHANGES for a in plan.actions):
            return False
        stored = self._store.get_watermark(DIGEST)
        if stored is None or stored != f"{self._settings}:{self._directory.group_digest()}":
            return False
        return not self._store.held_groups()

    def apply(
        self,
        planned: GroupsPlanned,
        *,
        cycle_id: str,
        concurrency: int,
        on_records: Callable[[Sequence[Record]], None] | None,
        should_stop: Callable[[], bool],
    ) -> ApplyResult | None:
        """Apply the group actions (after the users': their members must be in Webex); store the
        digest when every group is in step."""
        actions = planned.plan.groups
        self._store.hold_groups(list(planned.plan.held_groups), cycle_id)
        if not actions:
            self._remember(planned, ApplyResult())
            return None
        user_ids = {link.anchor: link.webex_id for link in self._store.links()}
        sender = GroupSender(self._webex, planned.links, user_ids, cycle_id=cycle_id, clock=self._clock)
        executor = Executor(
            sender,
            self._store,
            cycle_id=cycle_id,
            concurrency=concurrency,
            on_records=on_records,
            should_stop=should_stop,
        )
        result = executor.apply(actions)
        self._remember(planned, result)
        return result

    def _remember(self, planned: GroupsPlanned, result: ApplyResult) -> None:
        """Store the digest only when every group was left in step (nothing failed, held or left
        to do); otherwise forget it, so that the next cycle reads the groups again. (The groups'
        problems are kept with the open problems and reported again while nothing changes.)"""
        plan = planned.plan
        done = result.recorded == len(plan.groups)
        in_step = done and not (result.failures or plan.held_groups)
        if planned.digest is None:
            return
        self._store.set_watermark(DIGEST, planned.digest if in_step else None)


_MEMBERSHIP_CHANGES = frozenset({ActionKind.CREATE, ActionKind.LINK, ActionKind.DELETE})


def _people(links: Mapping[str, Link], moved: Mapping[str, str], plan: Plan) -> dict[str, Member]:
    """Who can be a member: linked users (at their new DN when their entry moved) who are not
    deleted by this cycle, and users joining Webex in it, by normalized DN."""
    leaving = {a.anchor for a in plan.actions if a.kind is ActionKind.DELETE}
    people = {
        normalize_dn(moved.get(anchor, link.dn)): Member(anchor, link.email)
        for anchor, link in links.items()
        if anchor not in leaving and link.dn
    }
    for action in plan.actions:
        if action.kind in (ActionKind.CREATE, ActionKind.LINK) and action.dn:
            people[normalize_dn(action.dn)] = Member(action.anchor, action.email)
    return people


def _settings_digest(config: Config) -> str:
    """A digest of the settings that decide the groups' plan."""
    assert config.groups is not None
    data = {"groups": config.groups.model_dump(mode="json"), "directory": config.directory.group_filter}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:12]


def group_phase(
    config: Config, directory: object, webex: object, store: StateStore, *, clock: Callable[[], datetime]
) -> GroupPhase | None:
    """The groups phase when ``groups:`` is configured and the ports can serve it."""
    if config.groups is None:
        return None
    if not isinstance(directory, GroupSource) or not isinstance(webex, WebexGroups):
        log.warning("groups.unsupported", detail="the directory or Webex client cannot push groups")
        return None
    webex.max_members = config.groups.members_per_request
    return GroupPhase(config, directory, webex, store, clock=clock)


__all__ = ["GroupAction", "GroupPhase", "GroupsPlanned", "group_phase"]
