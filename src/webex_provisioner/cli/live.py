"""The live view of a cycle on a terminal: the phase it is in, and while applying one bar with
done/total, rate, time left and the failures so far.

Meanwhile the per-action log lines stay off the console (they are in the audit log; ``--log-level
debug`` shows them), and other log lines print above the view. Not on a terminal (cron, CI, a
pipe) there is no view, and logs go to standard error as configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from webex_provisioner.cli.text import duration, make_console, number
from webex_provisioner.engine.logs import per_action_lines_hidden
from webex_provisioner.engine.report import Phase


class _Bar(BarColumn):
    def render(self, task: Task) -> Text:  # type: ignore[override]
        return Text("") if task.total is None else super().render(task)  # type: ignore[return-value]


class _Count(ProgressColumn):
    def render(self, task: Task) -> Text:
        if task.total is None:
            return Text("")
        return Text(f"{number(int(task.completed))}/{number(int(task.total))}")


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.0f}/s" if task.total is not None and speed else "")


class _Left(ProgressColumn):
    max_refresh = 0.5

    def render(self, task: Task) -> Text:
        left = task.time_remaining
        if task.total is None or left is None:
            return Text(f"{duration(task.elapsed or 0)}" if task.total is None else "")
        return Text(f"{duration(left)} left")


class _Failed(ProgressColumn):
    def render(self, task: Task) -> Text:
        failed = int(task.fields.get("failed", 0))
        return Text(f"{number(failed)} failed", style="red") if failed else Text("")


class LiveView:
    """Shows a cycle's phases and its apply; pass ``phase`` and ``progress`` to the cycle."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            _Bar(bar_width=12),
            _Count(),
            _Rate(),
            _Left(),
            _Failed(),
            console=make_console(stderr=True),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,
            refresh_per_second=5,
        )
        self._task = self._progress.add_task("starting", total=None, failed=0)
        self._failed = 0

    def phase(self, phase: Phase) -> None:
        """Show ``phase`` (the bar only while applying)."""
        self._progress.remove_task(self._task)
        self._task = self._progress.add_task(phase.value, total=None, failed=self._failed)
        self._progress.refresh()

    def progress(self, total: int, done: int) -> Callable[[int, int], None]:
        """The bar of one apply (a cycle's follow-ups get a second one); failures add up."""
        self._progress.reset(self._task, total=total, completed=done, description=Phase.APPLY.value)
        self._progress.refresh()

        def advance(done: int, failed: int) -> None:
            self._failed += failed
            self._progress.update(self._task, advance=done, failed=self._failed)

        return advance

    @contextmanager
    def shown(self, level: str) -> Iterator[LiveView]:
        with per_action_lines_hidden(level):
            self._progress.start()
            try:
                yield self
            finally:
                self._progress.stop()


@contextmanager
def live_view(level: str) -> Iterator[LiveView | None]:
    """A live view while the block runs when standard error is a terminal; else ``None``."""
    console = make_console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        yield None
        return
    with LiveView().shown(level) as view:
        yield view
