"""The command line: a thin layer over the library (design.md §9).

Exit codes: 0 done; 1 failed; 2 usage or configuration error; 3 done but some users failed;
4 done but actions held by a guard.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from webex_provisioner import __version__
from webex_provisioner.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, Config, load_config
from webex_provisioner.cycle import EXIT_FAILED, EXIT_OK, EXIT_USAGE, utc_now
from webex_provisioner.errors import ConfigError, ProvisionerError
from webex_provisioner.explain import explain, explanation_json, render_explanation
from webex_provisioner.incremental import forget_baseline, open_feed, retry_later
from webex_provisioner.logs import audit_json, configure_logging
from webex_provisioner.model import AuditEntry, Outcome, Plan
from webex_provisioner.ports import Record
from webex_provisioner.report import (
    audit_table,
    cycle_json,
    cycle_record_json,
    cycles_table,
    instance_json,
    instances_table,
    link_json,
    links_table,
    make_console,
    plan_json,
    render_cycle,
    render_plan,
)
from webex_provisioner.runtime import config_secrets, cycle_lock, instance_name, open_engine, open_store
from webex_provisioner.state import head_revision
from webex_provisioner.state.transfer import export_state, import_state

PROGRESS_THRESHOLD = 50


class Context:
    def __init__(self, config_file: str | None, log_format: str | None, log_level: str | None) -> None:
        self.config_file = config_file
        self.log_format = log_format
        self.log_level = log_level
        self._config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_file)
            except ConfigError as exc:
                click.echo(f"error: {exc.message}", err=True)
                sys.exit(EXIT_USAGE)
            logging_config = self._config.logging
            configure_logging(
                self.log_format or logging_config.format,
                self.log_level or logging_config.level,
                config_secrets(self._config),
            )
        return self._config


pass_context = click.make_pass_decorator(Context)


@contextmanager
def failures() -> Iterator[None]:
    """Turn our errors into a clear message and exit code 1 (2 for configuration)."""
    try:
        yield
    except ConfigError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(EXIT_USAGE)
    except ProvisionerError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(EXIT_FAILED)


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON, 64 KB at a time (a 100,000-action plan is never one string)."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    chunks: list[str] = []
    size = 0
    for chunk in encoder.iterencode(data):
        chunks.append(chunk)
        size += len(chunk)
        if size >= 65536:
            click.echo("".join(chunks), nl=False)
            chunks.clear()
            size = 0
    click.echo("".join(chunks))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="webex-provisioner")
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help=f"Configuration file [default: ${CONFIG_ENV} or ./{DEFAULT_CONFIG_PATH}].",
)
@click.option(
    "--log-format", type=click.Choice(["console", "json"]), help="Log format (overrides logging.format)."
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="Log level (overrides logging.level).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, log_format: str | None, log_level: str | None) -> None:
    """Keep the users of a Webex organization in step with an LDAP directory.

    Start with 'check', look at 'plan', then 'sync'. Exit codes: 0 done, 1 failed, 2 usage or
    configuration error, 3 done but some users failed, 4 done but deprovisions held by the guard.
    """
    ctx.obj = Context(config_file, log_format, log_level)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def check(ctx: Context, as_json: bool) -> None:
    """Validate the configuration and reach the directory and Webex.

    Reports what the directory server is, how many directory users are in scope (and how many
    of them are disabled), and how many users the Webex organization has. Writes nothing.
    """
    config = ctx.config()
    result: dict[str, Any] = {"config": "valid"}
    ok = True
    with failures(), open_engine(config, read_only=True) as engine:
        try:
            result["directory"] = dict(engine.directory.probe())
            total = in_scope = disabled = 0
            for user in engine.directory.read_users():
                total += 1
                in_scope += user.in_scope
                disabled += user.in_scope and user.disabled
            result["directory"].update(users=total, in_scope=in_scope, in_scope_disabled=disabled)
        except ProvisionerError as exc:
            ok = False
            result["directory"] = {"error": exc.message}
        try:
            result["webex"] = {
                "url": config.webex.url,
                "org_id": config.webex.org_id,
                "users": engine.webex.count_users(),
            }
        except ProvisionerError as exc:
            ok = False
            result["webex"] = {"error": exc.message}
        result["state"] = {"links": sum(1 for _ in engine.store.links())}
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
        data = cycle_json(report)
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
    is 3. Deprovisions beyond safety.max_deprovisions are held (exit code 4).
    """
    if approve_held and discard_held:
        raise click.UsageError("--approve-held and --discard-held exclude each other")
    config = ctx.config()
    with failures(), open_engine(config) as engine, cycle_lock(engine.store, instance_name()):
        cycle = engine.cycle(progress=_progress_factory(not as_json and sys.stderr.isatty()))
        try:
            feed = None if user else open_feed(config, engine.directory)
        except ProvisionerError as exc:
            cycle.record_failure(exc)
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
    if as_json:
        emit_json(cycle_json(report))
    else:
        make_console().print(render_cycle(report))
    sys.exit(report.exit_code)


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
    from webex_provisioner.daemon import Daemon  # noqa: PLC0415 - the metrics stack loads only for this command

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
            cycles = store.cycles(limit)
            held = store.held()
            failing = [link for link in store.links() if link.last_error]
            owner = store.lock_owner()
            running = store.instances(config.ha.takeover_after.total_seconds())
        finally:
            store.close()
    succeeded = [c for c in cycles if c.outcome in ("succeeded", "partial", "held") and c.finished_at]
    last = succeeded[0].finished_at if succeeded else None
    age = (utc_now() - last).total_seconds() if last else None
    if as_json:
        emit_json(
            {
                "cycles": [cycle_record_json(c) for c in cycles],
                "last_success_at": last.isoformat() if last else None,
                "last_success_age_seconds": round(age, 1) if age is not None else None,
                "held": plan_json(Plan(held=tuple(held)))["held"],
                "failing_users": [link_json(link) for link in failing],
                "running": owner,
                "instances": [instance_json(i) for i in running],
            }
        )
        return
    console = make_console()
    console.print(cycles_table(cycles) if cycles else "No cycle has run yet.")
    if age is not None:
        console.print(f"Last successful cycle finished {_age(age)} ago.")
    elif cycles:
        console.print("No cycle has succeeded yet.", style="bold red")
    if owner:
        console.print(f"A cycle is running now ({owner}).")
    if running:
        console.print(instances_table(running))
    if held:
        console.print(render_plan(Plan(held=tuple(held))))
    if failing:
        console.print(links_table(failing))


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@cli.group()
def users() -> None:
    """Look at and manage linked users."""


@users.command("list")
@click.option("--state", type=click.Choice(["active", "disabled"]), help="Only links in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def users_list(ctx: Context, state: str | None, as_json: bool) -> None:
    """List linked users: e-mail, state, Webex id, anchor, last error."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            links = [link for link in store.links() if state is None or link.state.value == state]
        finally:
            store.close()
    links.sort(key=lambda link: link.email.lower())
    if as_json:
        emit_json([link_json(link) for link in links])
    else:
        make_console().print(links_table(links))


@users.command("show")
@click.argument("key", metavar="EMAIL|ANCHOR|DN")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def users_show(ctx: Context, key: str, as_json: bool) -> None:
    """Show one linked user: the link, what was last applied, and its recent history."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            links = store.find_links(key)
            history = {link.anchor: store.audit(anchor=link.anchor, limit=20) for link in links}
        finally:
            store.close()
    if not links:
        click.echo(f"error: no linked user matches {key!r}; see 'webex-provisioner users list'", err=True)
        sys.exit(EXIT_FAILED)
    if as_json:
        emit_json(
            [{**link_json(link), "history": [audit_json(e) for e in history[link.anchor]]} for link in links]
        )
        return
    console = make_console()
    for link in links:
        data = link_json(link)
        applied = data.pop("applied")
        for name, value in data.items():
            console.print(f"[bold]{name}[/bold]: {value if value is not None else ''}", highlight=False)
        console.print("[bold]last applied[/bold]:")
        for name, value in sorted(applied.items()):
            console.print(f"  {name}: {value}", highlight=False)
        console.print(audit_table(history[link.anchor]))


@users.command("explain")
@click.argument("key", metavar="EMAIL|ANCHOR|DN")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def users_explain(ctx: Context, key: str, as_json: bool) -> None:
    """Explain one user: the directory entry, scope, Webex match, link, and the next action.

    Shows whether the user is in scope and why (which group, nested path, or filter), disabled or
    not, the desired attributes next to what was last applied and what Webex holds, the action
    the next cycle would take and why, and the recent audit history. Writes nothing.
    """
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        explanation = explain(engine, key)
    if as_json:
        emit_json(explanation_json(explanation))
    else:
        make_console().print(render_explanation(explanation))
    if explanation.user is None and not explanation.links:
        sys.exit(EXIT_FAILED)


@users.command("forget")
@click.argument("key", metavar="EMAIL|ANCHOR|DN")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def users_forget(ctx: Context, key: str, yes: bool) -> None:
    """Drop a link without touching Webex.

    Use it when a conflict report says an e-mail belongs to a Webex user linked to another
    directory user (a reused address). The next cycle matches the directory users by e-mail again.
    """
    config = ctx.config()
    with failures():
        store = open_store(config)
        try:
            links = store.find_links(key)
            if not links:
                click.echo(
                    f"error: no linked user matches {key!r}; see 'webex-provisioner users list'", err=True
                )
                sys.exit(EXIT_FAILED)
            for link in links:
                if not yes:
                    click.confirm(
                        f"Forget the link of {link.email} (anchor {link.anchor}, Webex {link.webex_id})?",
                        abort=True,
                    )
                entry = AuditEntry(
                    "forget",
                    utc_now(),
                    link.anchor,
                    link.email,
                    "forget",
                    "operator",
                    Outcome.APPLIED,
                    link.webex_id,
                    "link dropped by 'users forget'; Webex untouched",
                )
                store.record([Record(entry, drop_link=link.anchor)])
                retry_later(store, [link.anchor])  # an incremental cycle matches it by e-mail again
                click.echo(f"forgot {link.email} ({link.anchor})")
        finally:
            store.close()


@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_context
def reset(ctx: Context, yes: bool) -> None:
    """Drop every link and held deprovision; keep nothing of what was applied.

    Webex is not touched. The next cycle links every directory user to the Webex user with the
    same e-mail again (matched_existing), so nothing is duplicated. The audit trail and the
    cycle history are kept; so is a rotated OAuth refresh token.
    """
    config = ctx.config()
    with failures():
        store = open_store(config)
        try:
            with cycle_lock(store, instance_name()):
                links = list(store.links())
                if not yes:
                    click.confirm(f"Drop all {len(links)} link(s)? Webex is not touched.", abort=True)
                now = utc_now()
                records = [
                    Record(
                        AuditEntry(
                            "reset",
                            now,
                            link.anchor,
                            link.email,
                            "forget",
                            "operator",
                            Outcome.APPLIED,
                            link.webex_id,
                            "link dropped by 'reset'; Webex untouched",
                        ),
                        drop_link=link.anchor,
                    )
                    for link in links
                ]
                for start in range(0, len(records), 1000):
                    store.record(records[start : start + 1000])
                store.hold([], "reset")
                forget_baseline(store)  # the next cycle reads the whole scope
        finally:
            store.close()
    click.echo(f"dropped {len(links)} link(s); the next sync re-links users by e-mail")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--org-id", required=True, help="The organization UUID served under /identity/scim/ORG/v2.")
@click.option(
    "--token", required=True, envvar="WEBEX_EMULATOR_TOKEN", help="The bearer token clients must send."
)
@click.option("--data", "data", metavar="FILE", help="Load users from and save them to this JSON file.")
@click.option(
    "--rate-limit", type=int, help="Answer 429 with Retry-After above this many requests per second."
)
@click.option(
    "--fail-rate", type=float, default=0.0, show_default=True, help="Fraction of requests answered 503."
)
@click.option(
    "--latency",
    "latency_ms",
    type=int,
    default=0,
    show_default=True,
    help="Added delay per request (ms).",
)
def emulator(
    host: str,
    port: int,
    org_id: str,
    token: str,
    data: str | None,
    rate_limit: int | None,
    fail_rate: float,
    latency_ms: int,
) -> None:
    """Run the local Webex-compatible SCIM 2.0 server (see docs/emulator.md)."""
    from webex_provisioner.emulator import serve  # noqa: PLC0415 - the web stack loads only for this command

    serve(
        host=host,
        port=port,
        org_id=org_id,
        token=token,
        data=data,
        rate_limit=rate_limit,
        fail_rate=fail_rate,
        latency_ms=latency_ms,
    )


@cli.group()
def state() -> None:
    """Manage the state database: migrate, export, import."""


@state.command("migrate")
@pass_context
def state_migrate(ctx: Context) -> None:
    """Bring the state database to this version's schema (also done on every start).

    A database at a newer schema than this version knows is refused with exit code 1.
    """
    config = ctx.config()
    with failures():
        store = open_store(config)
        store.close()
    click.echo(f"state database at schema revision {head_revision()}")


@state.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_context
def state_export(ctx: Context, file: Path) -> None:
    """Write the whole state (links, cycles, audit trail, watermarks, held actions) to FILE.

    FILE is JSON Lines, created readable by the owner only: it can hold a rotated OAuth refresh
    token. Use it for backups, or to move from SQLite to PostgreSQL with 'state import'.
    """
    config = ctx.config()
    with failures():
        store = open_store(config)
        try:
            counts = export_state(store, file)
        finally:
            store.close()
    click.echo(f"exported to {file}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@state.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Drop what the target state holds first.")
@pass_context
def state_import(ctx: Context, file: Path, replace: bool) -> None:
    """Load a 'state export' FILE into the configured state database, in one transaction.

    The target must be empty unless --replace is given. Links keep their anchors and Webex ids,
    so the next cycle continues where the exported state left off.
    """
    config = ctx.config()
    with failures():
        store = open_store(config)
        try:
            with cycle_lock(store, instance_name()):
                counts = import_state(store, file, replace=replace)
        finally:
            store.close()
    click.echo(f"imported from {file}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


def main() -> None:
    cli(prog_name="webex-provisioner")
