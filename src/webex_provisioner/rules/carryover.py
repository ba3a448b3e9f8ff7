"""What one cycle carries over to the next: users to retry, problems still open, approvals.
Pure: the engine reads and stores these through the state's bookkeeping port.

* **Retries.** An incremental cycle reads only what changed, so a user whose action (or Webex
  lookup) failed would wait for the next full cycle. Its anchor is kept, and the following
  incremental cycles read it again: found in the directory, it is planned like a changed user;
  gone from the directory while still linked, it counts as deleted (a deleted entry cannot be
  found, and a full read would not see it either).
* **Open problems.** A user left alone (no e-mail, a conflict, ...) and unchanged since would
  vanish from the reports of incremental cycles while still unprovisioned: the problems are kept
  and reported again until a cycle re-reads that user, or a full cycle starts the list afresh.
  Drift reported in Webex (docs/drift.md) stays until a full cycle compares Webex again.
* **Approvals.** ``sync --approve-held`` while ``run`` holds the lock records the approval; the
  running instance's next cycle applies the approved actions that are still held and planned.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from webex_provisioner.model import ActionKind, DirectoryUser, Plan, Problem, ProblemKind

MAX_RETRIES = 1000
"""Anchors re-read by each incremental cycle at most; a full cycle retries everyone."""


@dataclass(frozen=True, slots=True)
class Retried:
    """The retried anchors, classified: users read again, and anchors that now count as deleted."""

    users: tuple[DirectoryUser, ...]
    deleted: tuple[str, ...]


def classify_retries(
    anchors: Iterable[str], found: Mapping[str, DirectoryUser | None], linked: Collection[str]
) -> Retried:
    """``found`` holds what the directory answered for each anchor (``None``: no such entry);
    ``linked`` the anchors that have a link. A linked anchor the directory no longer has counts
    as deleted; an unlinked one is forgotten."""
    users: list[DirectoryUser] = []
    deleted: list[str] = []
    for anchor in dict.fromkeys(anchors):
        user = found.get(anchor)
        if user is not None:
            users.append(user)
        elif anchor in linked:
            deleted.append(anchor)
    return Retried(tuple(users), tuple(deleted))


@dataclass(frozen=True, slots=True)
class ToRetry:
    """The anchors to retry (sorted, at most ``MAX_RETRIES``) and how many did not fit."""

    kept: tuple[str, ...]
    dropped: int


def anchors_to_retry(plan: Plan, failed: Iterable[str]) -> ToRetry:
    """The anchors the next incremental cycles read again: users whose action failed, and users
    whose Webex lookup failed."""
    anchors = sorted(set(failed) | {p.anchor for p in plan.problems if p.kind is ProblemKind.FAILED})
    return ToRetry(tuple(anchors[:MAX_RETRIES]), max(0, len(anchors) - MAX_RETRIES))


def retry_later(current: Sequence[str], anchors: Iterable[str]) -> list[str]:
    """``current`` with ``anchors`` added after it (no repeats), at most ``MAX_RETRIES``."""
    return list(dict.fromkeys([*current, *anchors]))[:MAX_RETRIES]


@dataclass(frozen=True, slots=True)
class OpenProblems:
    """The problems to store for the next cycles, and the earlier ones reported again now."""

    stored: tuple[Problem, ...]
    carried: tuple[Problem, ...]


def carry_problems(
    earlier: Sequence[Problem], current: Sequence[Problem], reread: Collection[str], *, incremental: bool
) -> OpenProblems:
    """A full cycle starts afresh; an incremental one carries the earlier problems of the users
    it did not re-read (``reread``: the anchors it read or saw deleted), and the drift reported
    by earlier cycles (only a cycle that reads Webex can tell it is gone). Protected users are not
    problems to carry; the groups' problems are carried by the groups phase, which knows whether
    the groups changed."""
    carried = (
        tuple(
            p
            for p in earlier
            if p.resource == "user" and (p.anchor not in reread or p.kind is ProblemKind.DRIFT)
        )
        if incremental
        else ()
    )
    now = tuple(p for p in current if p.kind is not ProblemKind.PROTECTED)
    return OpenProblems(stored=(*now, *carried), carried=carried)


def usable_approvals(
    held: Iterable[tuple[str, ActionKind]], approved: Collection[tuple[str, ActionKind]]
) -> set[tuple[str, ActionKind]]:
    """The approved actions that are still held (an approval never reaches beyond what was
    held when it was given)."""
    return {key for key in held if key in approved}
