"""Each group's actions against Webex's SCIM Groups, in order (the sender of group actions).

Members travel as the Webex ids of their users' links, at most ``max_members`` a request: a
group is created with its first members and the rest are added in further requests. A member
whose user is not in Webex (its create failed in this cycle) is left for the next cycle; a
member to remove whose user is gone from Webex (deleted: Webex took it out of its groups) is
only forgotten. A create follows the no-duplicate rules of ``rules.outcomes``: a 409 or a lost
answer is looked up by name before anything is sent again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

import structlog

from webex_provisioner.engine.senders import Done, by_anchor
from webex_provisioner.engine.units import Step, StoppedError, run_in_order
from webex_provisioner.errors import WebexError, WebexNotFoundError
from webex_provisioner.model import (
    ActionKind,
    AuditEntry,
    GroupAction,
    GroupLink,
    Member,
    Outcome,
    WebexGroup,
)
from webex_provisioner.ports import Record, WebexGroups
from webex_provisioner.rules.outcomes import (
    CreateProgress,
    Next,
    after_answer,
    after_lookup,
    answer_of,
    stops_the_apply,
)

log = structlog.get_logger("webex_provisioner.engine.group_steps")


class GroupSender:
    """Applies group actions, one group's in order, with the Webex ids of the users' links."""

    def __init__(
        self,
        webex: WebexGroups,
        links: Mapping[str, GroupLink],
        user_ids: Mapping[str, str],
        *,
        cycle_id: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._webex = webex
        self._links = links
        self._user_ids = user_ids
        self._cycle_id = cycle_id
        self._clock = clock
        self._stop = threading.Event()

    def units(self, actions: Sequence[GroupAction]) -> Iterator[Sequence[GroupAction]]:
        return by_anchor(actions)

    def stopped(self) -> bool:
        return self._stop.is_set()

    def send(self, unit: Sequence[GroupAction]) -> Done[GroupAction]:
        try:
            return run_in_order(unit, self._links.get(unit[0].anchor), self.step, self, self._stop), None
        except StoppedError as exc:
            stopped: StoppedError[GroupAction] = exc
            return stopped.results, stopped.error

    # -- one action ------------------------------------------------------------------------------

    def step(self, action: GroupAction, link: GroupLink | None) -> Step[GroupLink]:
        kind = action.kind
        if kind is ActionKind.CREATE_GROUP:
            return self._create(action)
        if kind is ActionKind.LINK_GROUP:
            assert action.webex_id is not None
            return Step(
                self._new_link(action, action.webex_id, frozenset()), "linked the existing Webex group"
            )
        if link is None:
            raise WebexError(
                f"{kind.value} for the group {action.name!r} ({action.anchor}) has no link to act on"
            )
        if kind is ActionKind.RELEASE_GROUP:
            return Step(None, "no longer managed; the Webex group is left as it is", drop=True)
        try:
            return self._on_linked(action, link)
        except WebexNotFoundError:
            detail = "the Webex group was deleted outside webex-provisioner; the next cycle creates it again"
            return Step(None, detail, drop=True)

    def _on_linked(self, action: GroupAction, link: GroupLink) -> Step[GroupLink]:
        kind = action.kind
        if kind is ActionKind.RENAME_GROUP:
            self._webex.rename_group(link.webex_id, action.name)
            return Step(
                replace(
                    link, name=action.name, dn=action.dn or link.dn, last_error=None, updated_at=self._clock()
                )
            )
        if kind is ActionKind.ADD_MEMBERS:
            added, waiting = self._add(link.webex_id, action.members)
            members = link.members | added
            return Step(
                replace(link, members=members, last_error=None, updated_at=self._clock()), _waiting(waiting)
            )
        if kind is ActionKind.REMOVE_MEMBERS:
            removed = self._remove(link.webex_id, action.members)
            members = link.members - {m.anchor for m in action.members}
            detail = (
                ""
                if removed == len(action.members)
                else f"{len(action.members) - removed} already gone from Webex"
            )
            return Step(replace(link, members=members, last_error=None, updated_at=self._clock()), detail)
        self._webex.delete_group(link.webex_id)
        return Step(None, drop=True)

    def _create(self, action: GroupAction) -> Step[GroupLink]:
        """Create the group with its first members and add the rest; a group found instead
        (after a 409 or a lost answer) gets every member added (one already in is fine)."""
        ids, waiting = self._ids(action.members)
        size = self._webex.max_members
        group = self._send_create(action, [webex_id for _, webex_id in ids[:size]])
        rest = ids[size:] if group.created else ids
        self._add_ids(group.id, rest)
        link = self._new_link(action, group.id, frozenset(anchor for anchor, _ in ids))
        details = [d for d in (group.progress_detail, _waiting(waiting)) if d]
        return Step(link, "; ".join(details))

    def _send_create(self, action: GroupAction, members: Sequence[str]) -> _Created:
        progress = CreateProgress()
        while True:
            error: WebexError | None = None
            created: WebexGroup | None = None
            try:
                created = self._webex.create_group(action.name, action.anchor, members)
            except WebexError as exc:
                if stops_the_apply(exc):
                    raise
                error = exc
            answer = answer_of(error)
            step, progress = after_answer(progress, answer)
            if step is Next.DONE:
                assert created is not None
                return _Created(created.id, True, progress.detail)
            if step is Next.LOOK_UP:
                found = self._webex.find_group(action.name)
                step, progress = after_lookup(progress, answer, found=found is not None)
                if step is Next.ADOPT:
                    assert found is not None
                    return _Created(found.id, False, progress.detail)
            if step is Next.FAIL:
                assert error is not None
                raise error

    def _ids(self, members: Sequence[Member]) -> tuple[list[tuple[str, str]], int]:
        """The (anchor, Webex id) of the members whose user is in Webex, and how many are not."""
        found = [(m.anchor, self._user_ids[m.anchor]) for m in members if m.anchor in self._user_ids]
        return found, len(members) - len(found)

    def _add(self, group_id: str, members: Sequence[Member]) -> tuple[frozenset[str], int]:
        ids, waiting = self._ids(members)
        self._add_ids(group_id, ids)
        return frozenset(anchor for anchor, _ in ids), waiting

    def _add_ids(self, group_id: str, ids: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(ids), self._webex.max_members):
            self._webex.add_members(
                group_id, [webex_id for _, webex_id in ids[start : start + self._webex.max_members]]
            )

    def _remove(self, group_id: str, members: Sequence[Member]) -> int:
        ids, _ = self._ids(members)  # a user gone from Webex left its groups with it
        for start in range(0, len(ids), self._webex.max_members):
            chunk = ids[start : start + self._webex.max_members]
            self._webex.remove_members(group_id, [webex_id for _, webex_id in chunk])
        return len(ids)

    def _new_link(self, action: GroupAction, webex_id: str, members: frozenset[str]) -> GroupLink:
        now = self._clock()
        return GroupLink(action.anchor, webex_id, action.name, action.dn, members, now, now)

    # -- outcomes --------------------------------------------------------------------------------

    def applied(self, action: GroupAction, done: Step[GroupLink], started: float) -> Record:
        entry = self._audit(action, Outcome.APPLIED, done.link, done.detail or _counted(action))
        log.info(
            "action applied",
            cycle=self._cycle_id,
            group=action.name,
            anchor=action.anchor,
            action=action.kind.value,
            reason=action.reason.value,
            members=len(action.members),
            ms=round((time.monotonic() - started) * 1000, 1),
            detail=done.detail or None,
        )
        if done.drop:
            return Record(entry, drop_group=action.anchor)
        return Record(entry, save_group=done.link)

    def failed(
        self, action: GroupAction, link: GroupLink | None, message: str, later: Sequence[GroupAction]
    ) -> list[tuple[GroupAction, Record]]:
        log.warning(
            "action failed", cycle=self._cycle_id, group=action.name, action=action.kind.value, error=message
        )
        failed_link = replace(link, last_error=message, updated_at=self._clock()) if link else None
        results = [
            (action, Record(self._audit(action, Outcome.FAILED, link, message), save_group=failed_link))
        ]
        detail = f"skipped: the {action.kind.value} before it failed"
        results += [(a, Record(self._audit(a, Outcome.SKIPPED, link, detail))) for a in later]
        return results

    def _audit(
        self, action: GroupAction, outcome: Outcome, link: GroupLink | None, detail: str
    ) -> AuditEntry:
        return AuditEntry.of(
            action,
            self._cycle_id,
            self._clock(),
            outcome,
            subject=action.name,
            webex_id=action.webex_id or (link.webex_id if link else None),
            detail=detail or action.detail,
        )


class _Created:
    """The Webex group a create ended with: created now, or an existing one found and linked."""

    __slots__ = ("created", "id", "progress_detail")

    def __init__(self, group_id: str, created: bool, detail: str) -> None:
        self.id = group_id
        self.created = created
        self.progress_detail = detail


def _waiting(count: int) -> str:
    return (
        f"{count} member(s) not in Webex yet (their create failed); the next cycle adds them" if count else ""
    )


def _counted(action: GroupAction) -> str:
    parts = []
    if action.members:
        parts.append(f"{len(action.members)} member(s)")
    if action.skipped:
        parts.append(f"{action.skipped} directory member(s) not provisioned")
    if action.old_name:
        parts.append(f"was {action.old_name!r}")
    return ", ".join(parts)
