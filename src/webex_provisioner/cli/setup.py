"""``init``: a guided setup that writes a working configuration (docs/cli.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from webex_provisioner.cli.base import Context, cli, failures, pass_context
from webex_provisioner.config import config_path
from webex_provisioner.config.writer import PASSWORD_VARIABLE, TOKEN_VARIABLE
from webex_provisioner.directory.discovery import Discovery, GroupCandidate
from webex_provisioner.engine import setup
from webex_provisioner.engine.logs import configure_logging
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from webex_provisioner.errors import ConfigError

DEFAULT_WEBEX_URL = "https://webexapis.com"


def on_terminal() -> bool:
    """Whether someone can answer questions (prompts only then)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@cli.command()
@click.option("--directory-url", metavar="URL", help="The directory: ldap://, ldaps:// or ldapi://.")
@click.option(
    "--bind-dn",
    metavar="DN",
    help="The account to bind as (its password from $LDAP_PASSWORD); none: anonymous.",
)
@click.option("--base-dn", metavar="DN", help="Where the users are [default: the naming context found].")
@click.option("--webex-org-id", metavar="UUID", help="The Webex organization id (Control Hub).")
@click.option("--webex-url", metavar="URL", help=f"The Webex API [default: {DEFAULT_WEBEX_URL}].")
@click.option(
    "--output",
    metavar="FILE",
    help="Where to write the configuration [default: --config, $WEBEX_PROVISIONER_CONFIG or "
    "./webex-provisioner.yaml].",
)
@click.option(
    "--start-tls",
    is_flag=True,
    help="Upgrade an ldap:// connection with StartTLS (on by default for a bind to another machine).",
)
@click.option(
    "--ca-file", metavar="FILE", help="The PEM file of a private CA that signed the directory's certificate."
)
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@pass_context
def init(
    ctx: Context,
    directory_url: str | None,
    bind_dn: str | None,
    base_dn: str | None,
    webex_org_id: str | None,
    webex_url: str | None,
    output: str | None,
    start_tls: bool,
    ca_file: str | None,
    force: bool,
) -> None:
    """Write a configuration for your directory: ask, discover, write, check.

    Asks on a terminal (or takes as options) what it cannot discover; the bind password comes
    from $LDAP_PASSWORD and the Webex token from $WEBEX_TOKEN (asked, hidden, on a terminal),
    never from options. Then it connects and discovers the server type, the naming context, the
    user object classes, candidate groups for the scope, content sync or DirSync, and how
    disabled users are marked; writes a commented file with ${VAR} references for the secrets;
    runs 'check' on it and says what to do next. An existing file is replaced only with --force.
    """
    path = Path(output) if output else config_path(ctx.config_file)
    if path.exists() and not force:
        click.echo(f"error: {path} exists; pass --force to replace it, or --output another file", err=True)
        sys.exit(EXIT_USAGE)
    interactive = on_terminal()
    options = {"directory_url": directory_url, "bind_dn": bind_dn, "base_dn": base_dn}
    answers, env = _answers(interactive, options, webex_org_id, webex_url, path)
    answers = setup.with_transport(answers, start_tls=start_tls, ca_file=Path(ca_file) if ca_file else None)
    configure_logging("console", "warning", [v for v in (answers.bind_password, env[TOKEN_VARIABLE]) if v])
    with failures():
        found = _discover(answers, interactive)
        scope = _scope(found, interactive)
        setup.write(path, setup.render(setup.choices(found, answers, scope)), force=force)
    click.echo(f"\nWrote {path}.")
    _check(path, env, asked=[k for k in (PASSWORD_VARIABLE, TOKEN_VARIABLE) if k not in os.environ])


def _ask(question: str, default: str | None = None, *, hidden: bool = False) -> str:
    return str(click.prompt(question, default=default, hide_input=hidden, show_default=not hidden)).strip()


def _answers(
    interactive: bool,
    options: dict[str, str | None],
    org_id: str | None,
    webex_url: str | None,
    path: Path,
) -> tuple[setup.Answers, dict[str, str]]:
    """The answers, from options, variables and (on a terminal) questions; exit 2 naming what is
    missing when there is no terminal to ask on."""
    missing: list[str] = []

    def get(given: str | None, question: str, name: str, *, offer: str | None = None, **kwargs: Any) -> str:
        """``given``; else asked (offering ``offer``); else ``fallback``; else missing."""
        if given:
            return given
        if interactive:
            return _ask(question, offer, hidden=kwargs.get("hidden", False))
        if "fallback" in kwargs:
            return str(kwargs["fallback"])
        missing.append(name)
        return ""

    url = get(options["directory_url"], "Directory URL", "--directory-url", offer="ldap://localhost:389")
    bind_dn = (
        get(options["bind_dn"], "Bind DN (empty: anonymous)", "--bind-dn", offer="", fallback="") or None
    )
    password = os.environ.get(PASSWORD_VARIABLE) or None
    if bind_dn and password is None:
        password = get(None, f"Password of {bind_dn}", f"${PASSWORD_VARIABLE}", hidden=True) or None
    org = get(org_id, "Webex organization id (Control Hub)", "--webex-org-id")
    webex = get(
        webex_url, "Webex API URL", "--webex-url", offer=DEFAULT_WEBEX_URL, fallback=DEFAULT_WEBEX_URL
    )
    token = os.environ.get(TOKEN_VARIABLE) or get(None, "Webex token", f"${TOKEN_VARIABLE}", hidden=True)
    if missing:
        click.echo(
            f"error: init needs {', '.join(missing)} (no terminal to ask on); the bind password and the "
            f"token are read from ${PASSWORD_VARIABLE} and ${TOKEN_VARIABLE}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    answers = setup.Answers(url, bind_dn, password, org, webex, path, options["base_dn"] or None)
    env = {**os.environ, PASSWORD_VARIABLE: password or "", TOKEN_VARIABLE: token}
    return answers, env


def _discover(answers: setup.Answers, interactive: bool) -> Discovery:
    with setup.Discoverer(setup.directory_config(answers)) as discoverer:
        root = discoverer.root()
        click.echo(f"Connected to {answers.directory_url}: {root.vendor}, directory.type {root.kind}.")
        base = answers.base_dn
        if not base and interactive:
            base = _ask("Base DN (where the users are)", root.suggested_base)
        base = base or root.suggested_base
        if not base:
            raise ConfigError(["the server lists no naming context; pass --base-dn"])
        found = discoverer.scan(root, base)
    _show(found)
    return found


def _show(found: Discovery) -> None:
    for line in setup.found_lines(found)[1:]:
        click.echo(line)
    click.echo(f"  user filter: {found.user_filter}; anchor: {found.anchor}")
    click.echo(f"  disabled filter: {found.disabled_filter or 'none found'}")


def _scope(found: Discovery, interactive: bool) -> GroupCandidate | None:
    """The targeted group: suggested (a group named for Webex), or chosen on a terminal."""
    suggested = setup.suggested_group(found.groups)
    if found.groups:
        click.echo("Candidate groups for the scope (direct members):")
        for number, group in enumerate(found.groups, 1):
            click.echo(f"  {number}. {group.dn} ({group.members})")
        click.echo(f"  0. none: every user under {found.base_dn}")
    if not interactive or not found.groups:
        return suggested
    default = found.groups.index(suggested) + 1 if suggested is not None else 0
    number = click.prompt("Scope", type=click.IntRange(0, len(found.groups)), default=default)
    return found.groups[number - 1] if number else None


def _check(path: Path, env: dict[str, str], *, asked: list[str]) -> None:
    """Run check on the written file; say what to do next; exit 0 when both servers answered."""
    result, ok = setup.check_file(path, env)
    click.echo("check:")
    for section in ("directory", "webex"):
        values: Any = result.get(section, {})
        if "error" in values:
            click.echo(f"  {section}: error: {values['error']}")
        elif section == "directory":
            click.echo(f"  directory: {values.get('users')} user(s), {values.get('in_scope')} in scope")
        else:
            click.echo(f"  webex: {values.get('users')} user(s) in organization {values.get('org_id')}")
    if "error" in result:
        click.echo(f"  error: {result['error']}")
    click.echo("\nNext:")
    if asked:
        click.echo(
            f"  export {' '.join(f'{name}=...' for name in asked)}   # the secrets are read from there"
        )
    click.echo(f"  webex-provisioner --config {path} plan   # what the first sync would do (writes nothing)")
    sys.exit(EXIT_OK if ok else EXIT_FAILED)
