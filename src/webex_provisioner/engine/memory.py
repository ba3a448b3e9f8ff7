"""The cyclic garbage collector, spaced out while a cycle runs.

A full cycle builds a few million short-lived objects (decoded entries, desired users, links)
while holding about as many long-lived ones. Reference counting frees nearly all of them; the
cyclic collector, run every 700 allocations by default, finds almost nothing yet rescans the
growing heap: about a quarter of a 100,000-user full cycle went there (docs/performance.md).

``spaced_collections`` freezes what exists before the cycle (modules, configuration: never
garbage) and collects the young generation every ``young`` allocations instead. Cyclic garbage
is still collected, only later; the default thresholds come back when the cycle ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def spaced_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Within the block, collect the young generation every ``young`` allocations, and leave what
    existed before the block out of collections. Nests (and may be entered from several threads):
    the outermost block restores the thresholds and unfreezes."""
    global _depth, _saved  # noqa: PLW0603 - the collector's settings are process-wide too
    with _lock:
        _depth += 1
        if _depth == 1:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(young, _saved[0]), _saved[1], _saved[2])
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
                _saved = None
