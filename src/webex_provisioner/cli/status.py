"""``status``: recent cycles, held deprovisions, failing users, drift reported in Webex, the
running instances."""

from __future__ import annotations

from typing import Any

import click

from webex_provisioner.cli.base import Context, cli, emit_json, failures, pass_context
from webex_provisioner.cli.cycles import all_option
from webex_provisioner.cli.json_forms import (
    cycle_record_json,
    instance_json,
    license_action_json,
    link_json,
    plan_json,
    problem_json,
)
from webex_provisioner.cli.render import capped_table, cycles_table, drift_table, instances_table, links_table
from webex_provisioner.cli.report_view import DETAIL_ROWS, render_held
from webex_provisioner.cli.rows import held_sections
from webex_provisioner.cli.text import duration, make_console, number, plain, plural
from webex_provisioner.engine import operations
from webex_provisioner.engine.report import utc_now
from webex_provisioner.engine.wiring import open_store
from webex_provisioner.model import Plan


@cli.command()
@click.option("--limit", default=10, show_default=True, help="How many recent cycles to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@all_option(f"Print every held deprovision and failing user, not only the first {DETAIL_ROWS}.")
@pass_context
def status(ctx: Context, limit: int, as_json: bool, show_all: bool) -> None:
    """Show recent cycles, held deprovisions, users whose last action failed, the drift reported
    in Webex, and the running instances of 'run' (which one is active, since when, and the
    standbys)."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            found = operations.read_status(store, config, utc_now(), limit=limit)
        finally:
            store.close()
    if as_json:
        emit_json(status_json(found))
    else:
        print_status(found, None if show_all else DETAIL_ROWS)


def status_json(found: operations.Status) -> dict[str, Any]:
    last, age = found.last_success, found.last_success_age
    return {
        "cycles": [cycle_record_json(c) for c in found.cycles],
        "last_success_at": last.isoformat() if last else None,
        "last_success_age_seconds": round(age, 1) if age is not None else None,
        "held": plan_json(Plan(held=tuple(found.held)))["held"],
        "held_group_actions": plan_json(Plan(held_groups=tuple(found.held_groups)))["held_group_actions"],
        "held_license_actions": [license_action_json(a) for a in found.held_licenses],
        "licenses": (
            {"assigned": found.grants.ours, "held_before": found.grants.not_ours, "users": found.grants.users}
            if found.grants is not None
            else None
        ),
        "failing_users": [link_json(link) for link in found.failing],
        "drift": [problem_json(p) for p in found.drift],
        "running": found.owner,
        "instances": [instance_json(i) for i in found.instances],
    }


def print_status(found: operations.Status, limit: int | None) -> None:
    """The cycles, the last success, the instances; then at most ``limit`` held deprovisions
    and as many failing users, each with a count."""
    console = make_console()
    console.print(cycles_table(found.cycles) if found.cycles else "No cycle has run yet.")
    if found.last_success_age is not None:
        console.print(f"Last successful cycle finished {duration(found.last_success_age)} ago.")
    elif found.cycles:
        console.print("No cycle has succeeded yet.", style="bold red")
    if found.owner:
        console.print("A cycle is running now (", plain(found.owner), ").", sep="")
    if found.instances:
        console.print(instances_table(found.instances))
    hint = "'status --all' prints every one; 'status --json' prints them as JSON"
    if found.grants is not None:
        grants = found.grants
        console.print(
            f"Licences: {plural(grants.ours, 'licence')} assigned by webex-provisioner, "
            f"{number(grants.not_ours)} held before (never reclaimed), over {plural(grants.users, 'user')}."
        )
    if found.held or found.held_groups or found.held_licenses:
        held = Plan(
            held=tuple(found.held),
            held_groups=tuple(found.held_groups),
            held_licenses=tuple(found.held_licenses),
        )
        console.print(render_held(held_sections(held), limit, hint))
    if found.failing:
        failing = f"Users whose last action failed ({number(len(found.failing))})"
        console.print(
            *capped_table(found.failing, limit, "failing user", hint, lambda rows: links_table(rows, failing))
        )
    if found.drift:
        drift = f"Drift reported in Webex ({number(len(found.drift))})"
        console.print(
            *capped_table(found.drift, limit, "drifted user", hint, lambda rows: drift_table(rows, drift))
        )
