"""Commands around the engine: the Webex emulator and the state database."""

from __future__ import annotations

from pathlib import Path

import click

from webex_provisioner.cli.base import Context, cli, failures, pass_context
from webex_provisioner.engine.wiring import open_store
from webex_provisioner.service.lease import cycle_lock, instance_name
from webex_provisioner.state import head_revision
from webex_provisioner.state.transfer import export_state, import_state


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on.")
@click.option("--org-id", required=True, help="The organization UUID served under /identity/scim/ORG/v2.")
@click.option(
    "--token", required=True, envvar="WEBEX_EMULATOR_TOKEN", help="The bearer token clients must send."
)
@click.option(
    "--data",
    "data",
    metavar="FILE",
    help="Load users, groups and licences from this JSON file and save them to it.",
)
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
@click.option(
    "--license",
    "licenses",
    metavar="NAME=UNITS",
    multiple=True,
    help="A licence of the organization and its units (repeatable).",
)
@click.option(
    "--license-overflow",
    type=click.Choice(["partial", "error"]),
    default="partial",
    show_default=True,
    help="An assignment beyond the free units: skipped with 206, or the request refused with 400.",
)
@click.option("--duplicate-group-names", is_flag=True, help="Allow groups with the same displayName.")
@click.option(
    "--max-members-per-patch",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Members one group PATCH may name (0: no limit).",
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
    licenses: tuple[str, ...],
    license_overflow: str,
    duplicate_group_names: bool,
    max_members_per_patch: int,
) -> None:
    """Run the local Webex-compatible server: SCIM users and groups, licences, people, messages
    (see docs/emulator.md)."""
    try:
        from webex_provisioner.emulator import serve  # noqa: PLC0415 - the web stack loads only here
        from webex_provisioner.emulator.license_book import parse_license_option  # noqa: PLC0415
    except ImportError as exc:
        raise click.ClickException(
            f"the emulator needs its web stack ({exc.name} is missing); install it with "
            "pip install 'webex-provisioner[emulator]'"
        ) from exc

    try:
        seeded = dict(parse_license_option(text) for text in licenses)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--license") from None
    serve(
        host=host,
        port=port,
        org_id=org_id,
        token=token,
        data=data,
        rate_limit=rate_limit,
        fail_rate=fail_rate,
        latency_ms=latency_ms,
        licenses=seeded,
        license_overflow=license_overflow,
        unique_group_names=not duplicate_group_names,
        max_members_per_patch=max_members_per_patch or None,
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
