"""Commands that read, plan and apply: check, plan, sync, run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import click

from webex_provisioner.cli.base import Context, cli, emit_json, failures, pass_context, streamed_cycle_json
from webex_provisioner.cli.export import output_option, write_output
from webex_provisioner.cli.json_forms import plan_json
from webex_provisioner.cli.live import live_view
from webex_provisioner.cli.render import render_check
from webex_provisioner.cli.report_view import DETAIL_ROWS, render_report
from webex_provisioner.cli.rows import user_sections
from webex_provisioner.cli.text import make_console, plural
from webex_provisioner.config import Config
from webex_provisioner.engine import operations
from webex_provisioner.engine.notifications import Notifications
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_OK, CycleReport
from webex_provisioner.engine.wiring import open_engine, open_feed, open_store
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import Plan
from webex_provisioner.service.lease import cycle_lock, instance_name


def all_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--all`` flag: every row instead of the first ones."""
    return click.option("--all", "show_all", is_flag=True, help=help_text)


def log_level(ctx: Context, config: Config) -> str:
    return ctx.log_level or config.logging.level


def show_report(
    report: CycleReport,
    *,
    as_json: bool,
    show_all: bool,
    output: Path | None,
    hint: str,
    extra: dict[str, Any] | None = None,
) -> None:
    """The report of a plan or a sync: written to ``output`` when asked (complete), then printed
    as JSON (complete) or for a person (a summary and a screenful of rows)."""
    sections = user_sections(report)

    def data() -> dict[str, Any]:
        return {**streamed_cycle_json(report), **(extra or {})}

    if output is not None:
        write_output(output, sections, data)
        hint = f"every row is in {output}"
    if as_json:
        emit_json(data())
        return
    console = make_console()
    for part in render_report(report, sections, None if show_all else DETAIL_ROWS, hint):
        console.print(part)


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
        make_console().print(render_check(result))
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


@cli.command()
@click.option("--user", "user", metavar="EMAIL|ANCHOR|DN", help="Plan for one user only.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole plan as JSON.")
@all_option(f"Print every row of the plan, not only the first {DETAIL_ROWS}.")
@output_option("plan")
@pass_context
def plan(ctx: Context, user: str | None, as_json: bool, show_all: bool, output: Path | None) -> None:
    """Show what a sync would do, and why, without doing it.

    Reads the directory, the state and Webex; prints a summary (actions by kind and reason, the
    deprovisions a guard would hold, the users left alone) and the first rows of the plan: each
    action with its reason and the attribute changes. --all prints every row; --output writes
    them all to a file. Writes nothing else: not the state, not Webex, not the audit log.
    """
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine, live_view(log_level(ctx, config)) as view:
        report = engine.cycle(phase=view.phase if view else None).run(apply=False, user=user)
        held = engine.store.held()
    hint = "'plan --all' prints every one; 'plan --output FILE.csv' (or .json) writes them all to a file"
    extra = {"held_from_earlier_cycles": plan_json(Plan(held=tuple(held)))["held"]}
    show_report(report, as_json=as_json, show_all=show_all, output=output, hint=hint, extra=extra)
    if held and not as_json:
        make_console().print(
            f"{plural(len(held), 'deprovision')} from an earlier cycle held; see 'webex-provisioner status'."
        )
    sys.exit(report.exit_code)


@cli.command()
@click.option("--full", is_flag=True, help="Read the whole scope, even when an incremental cycle could run.")
@click.option(
    "--user", "user", metavar="EMAIL|ANCHOR|DN", help="Provision this one user now, with the same guards."
)
@click.option("--approve-held", is_flag=True, help="Apply deprovisions held by the guard, if still wanted.")
@click.option("--discard-held", is_flag=True, help="Drop held deprovisions without applying them.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@all_option(f"Print every row of the result, not only the first {DETAIL_ROWS}.")
@output_option("result")
@pass_context
def sync(
    ctx: Context,
    full: bool,
    user: str | None,
    approve_held: bool,
    discard_held: bool,
    as_json: bool,
    show_all: bool,
    output: Path | None,
) -> None:
    """Run one cycle: read the directory, plan, apply to Webex, record.

    Once a cycle has stored where the directory stood (directory.change_detection), the next one
    is incremental: it reads only what changed since. The first cycle, and any with --full, read
    the whole scope. Per-user failures never stop the cycle: they are reported and the exit code
    is 3. Deprovisions beyond safety.max_deprovisions are held (exit code 4). While 'run' is
    active, --approve-held records the approval and the running instance applies it. Prints a
    summary and the first rows of the result; --all prints every row, --output writes them all.
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
        live_view(log_level(ctx, config)) as view,
    ):
        cycle = engine.cycle(phase=view.phase if view else None, progress=view.progress if view else None)
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
    hint = (
        "next time, 'sync --all' prints every one and 'sync --output FILE.csv' (or .json) writes them "
        "to a file; the audit log has every action"
    )
    show_report(report, as_json=as_json, show_all=show_all, output=output, hint=hint)
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
