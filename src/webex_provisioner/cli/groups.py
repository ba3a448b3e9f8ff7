"""Commands about pushed groups: groups list, groups show."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from webex_provisioner.cli.base import Context, cli, emit_json, failures, pass_context
from webex_provisioner.cli.json_forms import group_link_json
from webex_provisioner.cli.render import table
from webex_provisioner.cli.text import make_console, number, plain
from webex_provisioner.engine import operations
from webex_provisioner.engine.logs import printable
from webex_provisioner.engine.report import EXIT_FAILED
from webex_provisioner.engine.wiring import open_engine, open_store
from webex_provisioner.model import GroupLink


@cli.group()
def groups() -> None:
    """Look at the Webex groups pushed from directory groups (groups: in the configuration)."""


@groups.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def groups_list(ctx: Context, as_json: bool) -> None:
    """List the pushed groups: name, members added by webex-provisioner, the directory group, last
    error (Webex ids in 'groups show' and --json)."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            links = sorted(store.group_links(), key=lambda g: g.name.lower())
        finally:
            store.close()
    if as_json:
        emit_json([group_link_json(link) for link in links])
        return
    make_console().print(_links_table(links) if links else "No group is pushed yet.")


def _links_table(links: list[GroupLink]) -> Table:
    result = table("Pushed groups", "name", "members added", "directory group", "last error")
    for link in links:
        result.add_row(
            plain(link.name), number(len(link.members)), plain(link.dn), plain(link.last_error or "")
        )
    return result


@groups.command("show")
@click.argument("key", metavar="NAME|ANCHOR|DN")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def groups_show(ctx: Context, key: str, as_json: bool) -> None:
    """Show one group: the members in Webex (and which webex-provisioner manages), the members
    expected from the directory, and the directory members skipped, with why. Writes nothing."""
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        details = operations.group_details(engine, key)
    if as_json:
        emit_json(_details_json(details))
    else:
        _print_details(details)
    if details.error:
        sys.exit(EXIT_FAILED)


def _details_json(d: operations.GroupDetails) -> dict[str, Any]:
    return {
        "key": d.key,
        "link": group_link_json(d.link) if d.link else None,
        "directory": None if d.directory is None else {"dn": d.directory.dn, "anchor": d.directory.anchor},
        "expected": [{"anchor": m.anchor, "email": m.email} for m in d.expected],
        "skipped": [{"dn": dn, "why": why} for dn, why in d.skipped],
        "in_webex": None
        if d.in_webex is None
        else [{"webex_id": i, "email": e or None, "managed": m} for i, e, m in d.in_webex],
        "error": d.error,
    }


def _print_details(d: operations.GroupDetails) -> None:
    console = make_console()
    if d.error:
        click.echo(f"error: {printable(d.error)}", err=True)
        return
    lines = [Text("Group ", style="bold") + plain(d.link.name if d.link else d.key, "bold")]
    if d.directory is not None:
        lines.append(Text("  directory: ") + plain(f"{d.directory.dn} (anchor {d.directory.anchor})"))
    if d.link is not None:
        added = len(d.link.members)
        lines.append(
            Text("  Webex group ") + plain(d.link.webex_id) + Text(f"; {added} member(s) added by it")
        )
    lines.append(Text(f"  expected members: {len(d.expected)}"))
    lines += [Text("    ") + plain(member.email) for member in d.expected]
    if d.in_webex is not None:
        lines.append(Text(f"  members in Webex: {len(d.in_webex)}"))
        for webex_id, email, managed in d.in_webex:
            note = "" if managed else "  (not managed: added outside webex-provisioner)"
            lines.append(Text("    ") + plain(email or webex_id) + Text(note))
    if d.skipped:
        lines.append(Text(f"  directory members skipped: {len(d.skipped)}"))
        lines += [Text("    ") + plain(f"{dn}: {why}") for dn, why in d.skipped]
    for line in lines:
        console.print(line)
