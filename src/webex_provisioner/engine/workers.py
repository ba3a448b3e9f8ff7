"""Units of work on a few threads, their results back on the calling thread as they complete.

The executor's shape: worker threads talk to Webex, the calling thread alone writes to the state
store. Workers take units from a shared iterator (no future per unit, no waiting on sets of
futures) and put each result on one queue; the caller handles results in completion order and
gets a ``tick`` at least every ``tick_seconds`` even when nothing completes (to flush what it
batched).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

Unit = TypeVar("Unit")
Result = TypeVar("Result")

_DONE = object()


def run_concurrently(
    units: Iterable[Unit],
    work: Callable[[Unit], Result],
    *,
    concurrency: int,
    on_result: Callable[[Result], None],
    on_tick: Callable[[], None],
    tick_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    name: str = "worker",
) -> None:
    """Run ``work`` on every unit with ``concurrency`` threads; call ``on_result`` (here, in the
    calling thread) with each result as it completes, and ``on_tick`` at least every
    ``tick_seconds``.

    Once ``should_stop()`` says yes, workers take no further unit (the units in progress finish).
    An exception raised by ``work`` (a bug: ``work`` is expected to report failures in its
    result) stops the workers the same way and is raised here once they have all finished and
    their results were handled. An exception raised by ``on_result`` stops the workers too; the
    results still coming are then dropped, and it is raised once the workers have finished.
    """
    source = iter(units)
    take = threading.Lock()
    results: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
    halt = threading.Event()

    def worker() -> None:
        try:
            while not halt.is_set() and not should_stop():
                with take:
                    unit = next(source, _DONE)
                if unit is _DONE:
                    break
                results.put((work(unit), None))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the calling thread, which raises it
            halt.set()
            results.put((None, exc))
        finally:
            results.put((_DONE, None))

    threads = [
        threading.Thread(target=worker, name=f"{name}-{i}", daemon=True) for i in range(max(1, concurrency))
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    failure: BaseException | None = None
    next_tick = time.monotonic() + tick_seconds
    try:
        while running:
            try:
                value, error = results.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                value, error = None, None
            else:
                if value is _DONE:
                    running -= 1
                elif error is not None:
                    failure = failure or error
                else:
                    on_result(value)  # type: ignore[arg-type]
            if time.monotonic() >= next_tick:
                on_tick()
                next_tick = time.monotonic() + tick_seconds
    except BaseException as exc:
        halt.set()
        failure = exc
        while running:  # let the workers finish their unit; their results are dropped
            if results.get()[0] is _DONE:
                running -= 1
    finally:
        for thread in threads:
            thread.join()
    if failure is not None:
        raise failure
