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
from typing import Generic, TypeVar

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
    pool = _Pool(units, work, should_stop)
    threads = [
        threading.Thread(target=pool.worker, name=f"{name}-{i}", daemon=True)
        for i in range(max(1, concurrency))
    ]
    for thread in threads:
        thread.start()
    pool.running = len(threads)
    try:
        pool.collect(on_result, on_tick, tick_seconds)
    except BaseException as exc:
        pool.halt.set()
        pool.failure = exc
        pool.drain()  # let the workers finish their unit; their results are dropped
    finally:
        for thread in threads:
            thread.join()
    if pool.failure is not None:
        raise pool.failure


class _Pool(Generic[Unit, Result]):
    """What the workers and the calling thread share."""

    def __init__(
        self, units: Iterable[Unit], work: Callable[[Unit], Result], should_stop: Callable[[], bool]
    ) -> None:
        self._source = iter(units)
        self._take = threading.Lock()
        self._work = work
        self._should_stop = should_stop
        self.results: queue.SimpleQueue[tuple[object, BaseException | None]] = queue.SimpleQueue()
        self.halt = threading.Event()
        self.running = 0
        self.failure: BaseException | None = None

    def worker(self) -> None:
        try:
            while not self.halt.is_set() and not self._should_stop():
                with self._take:
                    unit = next(self._source, _DONE)
                if unit is _DONE:
                    break
                self.results.put((self._work(unit), None))  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the calling thread, which raises it
            self.halt.set()
            self.results.put((None, exc))
        finally:
            self.results.put((_DONE, None))

    def collect(
        self, on_result: Callable[[Result], None], on_tick: Callable[[], None], tick_seconds: float
    ) -> None:
        """Hand each result to ``on_result`` until every worker is done, ticking on the way."""
        next_tick = time.monotonic() + tick_seconds
        while self.running:
            try:
                value, error = self.results.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                value, error = None, None
            else:
                if value is _DONE:
                    self.running -= 1
                elif error is not None:
                    self.failure = self.failure or error
                else:
                    on_result(value)  # type: ignore[arg-type]
            if time.monotonic() >= next_tick:
                on_tick()
                next_tick = time.monotonic() + tick_seconds

    def drain(self) -> None:
        while self.running:
            if self.results.get()[0] is _DONE:
                self.running -= 1
