"""Commands that read, plan and apply: check, plan, sync, run, status."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import closing

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from webex_provisioner.cli.base import (
    PROGRESS_THRESHOLD,
    Context,
    cli,
    emit_json,
    failures,
    pass_context,
    streamed_cycle_json,
)
from webex_provisioner.cli.json_forms import cycle_record_json, instance_json, link_json, plan_json
from webex_provisioner.cli.render import (
    cycles_table,
    instances_table,
    links_table,
    make_console,
    render_cycle,
    render_plan,
)
from webex_provisioner.config import Config
from webex_provisioner.engine import operations
from webex_provisioner.engine.notifications import Notifications
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_OK, utc_now
from webex_provisioner.engine.wiring import open_engine, open_feed, open_store
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import Plan
from webex_provisioner.service.lease import cycle_lock, instance_name


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def check(ctx: Context, as_json: bool) -> None:
    """Validate the configuration and reach the directory and Webex.

    Reports what the directory server is, how many directory users are in scope (and how many
    of them are disabled), and how many users the Webex organization has. Writes nothing.
    """
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        result, ok = operations.check(engine)
    if as_json:
        emit_json(result)
    else:
        console = make_console()
        for section, values in result.items():
            if isinstance(values, dict):
                console.print(f"[bold]{section}[/bold]")
                for key, value in values.items():
                    console.print(f"  {key}: {value}", highlight=False)
            else:
                console.print(f"[bold]{section}[/bold]: {values}")
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


@cli.command()
@click.option("--user", "user", metavar="EMAIL|ANCHOR|DN", help="Plan for one user only.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@pass_context
def plan(ctx: Context, user: str | None, as_json: bool) -> None:
    """Show what a sync would do, and why, without doing it.

    Reads the directory, the state and Webex; prints every action with its reason and the
    attribute changes, the deprovisions a guard would hold, and the users left alone (conflicts,
    invalid data, protected). Writes nothing anywhere: not the state, not Webex, not the audit log.
    """
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        report = engine.cycle().run(apply=False, user=user)
        held = engine.store.held()
    if as_json:
        data = streamed_cycle_json(report)
        data["held_from_earlier_cycles"] = plan_json(Plan(held=tuple(held)))["held"]
        emit_json(data)
    else:
        console = make_console()
        console.print(render_cycle(report))
        if held:
            console.print(
                f"{len(held)} deprovision(s) from an earlier cycle are held; see 'webex-provisioner status'."
            )
    sys.exit(report.exit_code)


def _progress_factory(enabled: bool) -> Callable[[int, int], Callable[[int], None]] | None:
    if not enabled:
        return None

    def factory(total: int, _done: int) -> Callable[[int], None]:
        if total < PROGRESS_THRESHOLD:
            return lambda _n: None
        progress = Progress(
            TextColumn("applying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=make_console(stderr=True),
            transient=True,
        )
        task = progress.add_task("apply", total=total)
        progress.start()

        def advance(n: int) -> None:
            progress.advance(task, n)
            if progress.finished:
                progress.stop()

        return advance

    return factory


@cli.command()
@click.option("--full", is_flag=True, help="Read the whole scope, even when an incremental cycle could run.")
@click.option(
    "--user", "user", metavar="EMAIL|ANCHOR|DN", help="Provision this one user now, with the same guards."
)
@click.option("--approve-held", is_flag=True, help="Apply deprovisions held by the guard, if still wanted.")
@click.option("--discard-held", is_flag=True, help="Drop held deprovisions without applying them.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def sync(
    ctx: Context, full: bool, user: str | None, approve_held: bool, discard_held: bool, as_json: bool
) -> None:
    """Run one cycle: read the directory, plan, apply to Webex, record.

    Once a cycle has stored where the directory stood (directory.change_detection), the next one
    is incremental: it reads only what changed since. The first cycle, and any with --full, read
    the whole scope. Per-user failures never stop the cycle: they are reported and the exit code
    is 3. Deprovisions beyond safety.max_deprovisions are held (exit code 4). While 'run' is
    active, --approve-held records the approval and the running instance applies it.
    """
    if approve_held and discard_held:
        raise click.UsageError("--approve-held and --discard-held exclude each other")
    config = ctx.config()
    if approve_held and not user:
        _approve_for_running_instance(config)
    with (
        failures(),
        open_engine(config) as engine,
        closing(Notifications(config)) as notifications,
        cycle_lock(engine.store, instance_name()),
    ):
        cycle = engine.cycle(progress=_progress_factory(not as_json and sys.stderr.isatty()))
        try:
            feed = None if user else open_feed(config, engine.directory)
        except ProvisionerError as exc:
            notifications.after(cycle.record_failure(exc), engine.store)
            raise
        try:
            report = cycle.run(
                apply=True,
                user=user,
                approve_held=approve_held,
                discard_held=discard_held,
                feed=feed,
                full=full,
            )
        finally:
            if feed is not None:
                feed.close()
        notifications.after(report, engine.store)  # never raises: the report below is always shown
    if as_json:
        emit_json(streamed_cycle_json(report))
    else:
        make_console().print(render_cycle(report))
    sys.exit(report.exit_code)


def _approve_for_running_instance(config: Config) -> None:
    """With 'run' holding the lock, record the approval for it to apply, and exit 0."""
    with failures():
        store = open_store(config)
        try:
            approved = operations.approve_for_running_instance(store)
        finally:
            store.close()
    if approved is None:
        return
    holder, count = approved
    click.echo(
        f"approved {count} held deprovision(s); {holder} is running cycles and applies them in its "
        "next cycle, re-checking each (see 'webex-provisioner status')"
    )
    sys.exit(0)


@cli.command()
@pass_context
def run(ctx: Context) -> None:
    """Run as a service that keeps Webex in step with the directory continuously.

    A full cycle at start and every schedule.full_every; incremental cycles every
    schedule.interval, or, with a persistent content sync (schedule.persist), as soon as the
    directory reports a change. Serves /healthz and /metrics on schedule.listen. Rides out
    directory and Webex outages with backoff, never deprovisioning because of one. SIGTERM or
    Ctrl+C finishes the actions in flight and exits 0. A second 'run' on the same state store
    waits as a standby. See docs/daemon.md.
    """
    from webex_provisioner.service.daemon import Daemon  # noqa: PLC0415 - the metrics stack loads only for this command

    config = ctx.config()
    with failures():
        code = Daemon(config).run()
    sys.exit(code)


@cli.command()
@click.option("--limit", default=10, show_default=True, help="How many recent cycles to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@pass_context
def status(ctx: Context, limit: int, as_json: bool) -> None:
    """Show recent cycles, held deprovisions, users whose last action failed, and the running
    instances of 'run' (which one is active, since when, and the standbys)."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            found = operations.read_status(store, config, utc_now(), limit=limit)
        finally:
            store.close()
    last, age = found.last_success, found.last_success_age
    if as_json:
        emit_json(
            {
                "cycles": [cycle_record_json(c) for c in found.cycles],
                "last_success_at": last.isoformat() if last else None,
                "last_success_age_seconds": round(age, 1) if age is not None else None,
                "held": plan_json(Plan(held=tuple(found.held)))["held"],
                "failing_users": [link_json(link) for link in found.failing],
                "running": found.owner,
                "instances": [instance_json(i) for i in found.instances],
            }
        )
        return
    console = make_console()
    console.print(cycles_table(found.cycles) if found.cycles else "No cycle has run yet.")
    if age is not None:
        console.print(f"Last successful cycle finished {_age(age)} ago.")
    elif found.cycles:
        console.print("No cycle has succeeded yet.", style="bold red")
    if found.owner:
        console.print(f"A cycle is running now ({found.owner}).")
    if found.instances:
        console.print(instances_table(found.instances))
    if found.held:
        console.print(render_plan(Plan(held=tuple(found.held))))
    if found.failing:
        console.print(links_table(found.failing))


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
