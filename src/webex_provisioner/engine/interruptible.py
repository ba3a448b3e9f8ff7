"""Pieces that let a cycle stop on request and time its directory reads (used by ``run``).

``apply_in_batches`` applies a plan a few users at a time and asks, before each batch, whether
to stop: a daemon told to stop (SIGTERM) finishes the actions in flight, records them, and leaves
the rest to the next cycle, which plans them again. ``timed`` measures how long a cycle waits for
the directory while it streams users through the planner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from webex_provisioner.engine.executor import ApplyResult, Executor
from webex_provisioner.model import Action, DirectoryUser


def apply_in_batches(
    executor: Executor, actions: Sequence[Action], should_stop: Callable[[], bool], *, users_per_batch: int
) -> ApplyResult:
    """Apply ``actions`` (each user's together, in order), asking ``should_stop`` before each batch
    of ``users_per_batch`` users; the result counts only what was applied."""
    by_user: dict[str, list[Action]] = {}
    for action in actions:
        by_user.setdefault(action.anchor, []).append(action)
    groups = list(by_user.values())
    result = ApplyResult()
    for start in range(0, len(groups), max(1, users_per_batch)):
        if should_stop():
            break
        part = executor.apply([a for group in groups[start : start + users_per_batch] for a in group])
        result.counts.update(part.counts)
        result.failures.extend(part.failures)
    return result


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
