"""Running ``init`` as a user would (the real command line, in-process), then ``check`` and
``plan`` on the file it wrote."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from webex_provisioner.cli import cli

UNSET: dict[str, str | None] = {"LDAP_PASSWORD": None, "WEBEX_TOKEN": None, "WEBEX_PROVISIONER_CONFIG": None}


def run(env: Mapping[str, str], *args: str, answers: str | None = None) -> Result:
    """``webex-provisioner ARGS`` with the secrets' variables set as ``env`` says (unset otherwise,
    whatever the environment running the tests holds)."""
    variables = {**UNSET, **env}
    return CliRunner().invoke(cli, list(args), env=variables, input=answers, catch_exceptions=False)


def init(env: Mapping[str, str], output: Path, *args: str, answers: str | None = None) -> Result:
    return run(env, "init", "--output", str(output), *args, answers=answers)


def written(output: Path) -> dict[str, object]:
    raw = yaml.safe_load(output.read_text(encoding="utf-8"))
    assert isinstance(raw, dict)
    return raw


def check_and_plan(env: Mapping[str, str], output: Path) -> tuple[Result, Result]:
    """``check`` and ``plan --json`` on the written file, as it is."""
    return run(env, "--config", str(output), "check"), run(env, "--config", str(output), "plan", "--json")


def planned(plan: Result) -> dict[str, str]:
    """E-mail (lower case) -> action, of what ``plan --json`` planned."""
    data = json.loads(plan.stdout)
    return {a["email"].lower(): a["action"] for a in data["plan"]["actions"]}
