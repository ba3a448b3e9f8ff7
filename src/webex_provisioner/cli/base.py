"""The root command group, its shared options and how errors become exit codes.

Exit codes: 0 done; 1 failed; 2 usage or configuration error; 3 done but some users failed;
4 done but actions held by a guard.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TextIO

import click

from webex_provisioner import __version__
from webex_provisioner.cli.json_forms import (
    action_result_json,
    cycle_json,
    drift_json,
    group_action_json,
    license_action_json,
)
from webex_provisioner.config import CONFIG_ENV, DEFAULT_CONFIG_PATH, Config, load_config
from webex_provisioner.engine.logs import configure_logging, printable
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USAGE, CycleReport, action_status
from webex_provisioner.engine.wiring import config_secrets
from webex_provisioner.errors import ConfigError, ProvisionerError

# What JSON leaves raw that a terminal would act on: DEL, C1 controls, line separators and the
# bidirectional controls (it escapes the C0 controls itself). Found only inside strings.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


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
                click.echo(f"error: {printable(exc.message, newlines=True)}", err=True)
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
        click.echo(f"error: {printable(exc.message, newlines=True)}", err=True)
        sys.exit(EXIT_USAGE)
    except ProvisionerError as exc:
        click.echo(f"error: {printable(exc.message)}", err=True)
        sys.exit(EXIT_FAILED)


def _json_safe(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def emit_json(data: Any, file: TextIO | None = None) -> None:
    """Print ``data`` as indented JSON (to ``file``, else standard output), 64 KB at a time (a
    100,000-action plan is never one string). Characters a terminal would act on are written as
    JSON escapes (``\\u202e``): the same data for a parser, inert on a screen."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    chunks: list[str] = []
    size = 0
    for chunk in encoder.iterencode(data):
        chunks.append(chunk)
        size += len(chunk)
        if size >= 65536:
            click.echo(_JSON_UNSAFE.sub(_json_safe, "".join(chunks)), nl=False, file=file)
            chunks.clear()
            size = 0
    click.echo(_JSON_UNSAFE.sub(_json_safe, "".join(chunks)), file=file)


class _Streamed(list[Any]):
    """A list ``emit_json`` writes item by item, each converted as it is written."""

    def __init__(self, items: Sequence[Any], convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self._items = items
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return map(self._convert, self._items)


def streamed_cycle_json(report: CycleReport) -> dict[str, Any]:
    """``cycle_json(report)`` whose planned actions (of users, groups and licences) are converted
    while ``emit_json`` writes them: a 100,000-user first cycle never holds its plan twice (as
    actions and as JSON objects). Each user and licence action says what became of it:
    ``status`` (planned, applied, failed, skipped) and ``error``."""
    plan = report.plan
    status = action_status(report)
    data = cycle_json(replace(report, plan=replace(plan, actions=(), followups=(), groups=(), licenses=())))
    data["plan"]["counts"] = plan.counts()
    data["drift"] = drift_json(report)
    data["plan"]["actions"] = _Streamed(plan.all_actions, lambda a: action_result_json(a, status))
    data["plan"]["group_actions"] = _Streamed(plan.groups, group_action_json)
    data["plan"]["license_actions"] = _Streamed(
        plan.licenses,
        lambda a: {**license_action_json(a), **dict(zip(("status", "error"), status(a), strict=True))},
    )
    return data


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
