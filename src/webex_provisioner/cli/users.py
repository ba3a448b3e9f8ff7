"""Commands about linked users: users list/show/explain/orphans/forget, and reset."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from webex_provisioner.cli.base import Context, cli, emit_json, failures, pass_context
from webex_provisioner.cli.cycles import all_option
from webex_provisioner.cli.json_forms import explanation_json, link_json, orphan_json
from webex_provisioner.cli.render import (
    capped_table,
    links_table,
    orphans_table,
    render_explanation,
    render_link,
)
from webex_provisioner.cli.report_view import DETAIL_ROWS
from webex_provisioner.cli.text import make_console, number
from webex_provisioner.engine import operations
from webex_provisioner.engine.explain import explain
from webex_provisioner.engine.logs import audit_json, printable
from webex_provisioner.engine.report import EXIT_FAILED, utc_now
from webex_provisioner.engine.wiring import open_engine, open_store
from webex_provisioner.service.lease import cycle_lock, instance_name


@cli.group()
def users() -> None:
    """Look at and manage linked users."""


@users.command("list")
@click.option("--state", type=click.Choice(["active", "disabled"]), help="Only links in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print every linked user as JSON.")
@all_option(f"Print every linked user, not only the first {DETAIL_ROWS}.")
@pass_context
def users_list(ctx: Context, state: str | None, as_json: bool, show_all: bool) -> None:
    """List linked users: e-mail, state, last update, Webex id, last error.

    Prints how many there are and the first ones by e-mail; --all prints every one, --json
    every one with all it holds (anchor, DN, what was last applied)."""
    config = ctx.config()
    with failures():
        store = open_store(config, read_only=True)
        try:
            links = [link for link in store.links() if state is None or link.state.value == state]
        finally:
            store.close()
    links.sort(key=lambda link: link.email.lower())
    title = f"Linked users ({number(len(links))})"
    print_rows(
        links, "users list", "linked user", as_json=as_json, show_all=show_all, to_json=link_json,
        table_of=lambda rows: links_table(rows, title),
    )  # fmt: skip


def print_rows(
    rows: list[Any],
    command: str,
    what: str,
    *,
    as_json: bool,
    show_all: bool,
    to_json: Callable[[Any], Any],
    table_of: Callable[[list[Any]], Any],
) -> None:
    """Every row as JSON, or a table of the first ones and how to see the others."""
    if as_json:
        emit_json([to_json(row) for row in rows])
        return
    hint = f"'{command} --all' prints every one; '{command} --json' prints them as JSON"
    make_console().print(*capped_table(rows, None if show_all else DETAIL_ROWS, what, hint, table_of))


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
        click.echo(
            f"error: no linked user matches {key!r}; see 'webex-provisioner users list'",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    if as_json:
        emit_json(
            [{**link_json(link), "history": [audit_json(e) for e in history[link.anchor]]} for link in links]
        )
        return
    console = make_console()
    for link in links:
        console.print(render_link(link, history[link.anchor]))


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


@users.command("orphans")
@click.option("--json", "as_json", is_flag=True, help="Print every orphan as JSON.")
@all_option(f"Print every orphan, not only the first {DETAIL_ROWS}.")
@pass_context
def users_orphans(ctx: Context, as_json: bool, show_all: bool) -> None:
    """List the Webex users no link points to: e-mail, state and creation time.

    They were created by hand, by another tool, or are leavers from before webex-provisioner.
    Reads every Webex user once; nothing is done to them (docs/drift.md)."""
    config = ctx.config()
    with failures(), open_engine(config, read_only=True) as engine:
        found = operations.orphans(engine)
    title = f"Webex users linked to no directory user ({number(len(found))})"
    print_rows(
        found, "users orphans", "orphan", as_json=as_json, show_all=show_all, to_json=orphan_json,
        table_of=lambda rows: orphans_table(rows, title),
    )  # fmt: skip


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
                    f"error: no linked user matches {key!r}; see 'webex-provisioner users list'",
                    err=True,
                )
                sys.exit(EXIT_FAILED)
            for link in links:
                if not yes:
                    click.confirm(
                        printable(
                            f"Forget the link of {link.email} (anchor {link.anchor}, Webex {link.webex_id})?"
                        ),
                        abort=True,
                    )
                operations.forget(store, link, utc_now())
                click.echo(printable(f"forgot {link.email} ({link.anchor})"))
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
                operations.reset(store, links, utc_now())
        finally:
            store.close()
    click.echo(f"dropped {len(links)} link(s); the next sync re-links users by e-mail")
