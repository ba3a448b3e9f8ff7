"""The licences command: the organization's licences, their units, and what the rules do with them."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.text import Text

from webex_provisioner.cli.base import Context, cli, emit_json, failures, pass_context
from webex_provisioner.cli.render import table
from webex_provisioner.cli.text import make_console, number, plain
from webex_provisioner.engine.license_report import LicenseOverview, license_overview, licenses_client
from webex_provisioner.engine.report import EXIT_USERS_FAILED
from webex_provisioner.engine.wiring import open_engine


@cli.command("licenses")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def licenses(ctx: Context, as_json: bool) -> None:
    """List the organization's licences (read from Webex now): units total, used and free, how
    many webex-provisioner assigned and how many users held before, and the licenses.rules that
    assign each. Exits 3 when a rule names a licence that cannot be assigned. Writes nothing."""
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        overview = license_overview(config, licenses_client(engine.webex), engine.store)
    if as_json:
        emit_json(_overview_json(overview))
    else:
        _print(overview)
    if overview.problems:
        sys.exit(EXIT_USERS_FAILED)


def _overview_json(overview: LicenseOverview) -> dict[str, Any]:
    return {
        "licenses": [
            {
                "id": line.license.id,
                "name": line.license.name,
                "total": line.license.total,
                "consumed": line.license.consumed,
                "free": line.license.free,
                "calling": line.license.calling,
                "assigned_by_webex_provisioner": line.assigned,
                "held_before": line.held_before,
                "rules": list(line.rules),
            }
            for line in overview.lines
        ],
        "problems": list(overview.problems),
    }


def _print(overview: LicenseOverview) -> None:
    console = make_console()
    if not overview.lines:
        console.print("The organization has no licence.")
    result = table("Licences", "licence", "total", "used", "free", "assigned here", "held before", "rules")
    for line in overview.lines:
        licence = line.license
        name = plain(licence.name) + (Text(" (Calling)") if licence.calling else Text(""))
        cells = (licence.total, licence.consumed, licence.free, line.assigned, line.held_before)
        rules = ", ".join(str(n) for n in line.rules)
        result.add_row(name, *(number(c) for c in cells), rules)
    if overview.lines:
        console.print(result)
    if not overview.configured:
        console.print("No licenses: section in the configuration: webex-provisioner assigns no licence.")
    for problem in overview.problems:
        console.print(Text("problem: ", style="bold red") + plain(problem, "red"))
