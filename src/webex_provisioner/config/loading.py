"""Reading the configuration file: ``${VAR}`` references resolved, then validated with every
problem reported at once, each naming its key and the fix. Nothing is contacted here."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from webex_provisioner.config.schema import Config
from webex_provisioner.errors import ConfigError

DEFAULT_CONFIG_PATH = "webex-provisioner.yaml"
CONFIG_ENV = "WEBEX_PROVISIONER_CONFIG"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class _Next:
    """The next position of ``char`` in ``text`` at or after a position that only grows: each
    character is scanned once (a search from every ``${`` would be quadratic on hostile text)."""

    def __init__(self, text: str, char: str) -> None:
        self._text, self._char, self._found = text, char, -2

    def at_or_after(self, position: int) -> int:
        if self._found == -2 or (self._found != -1 and self._found < position):
            self._found = self._text.find(self._char, position)
        return self._found


def _references(text: str) -> Iterator[tuple[int, int, str, str | None]]:
    """``(start, end, name, default)`` of each ``${NAME}`` or ``${NAME:-default}`` in ``text``
    (a default ends at the first ``}`` and holds no line break), in linear time."""
    closing, newline = _Next(text, "}"), _Next(text, "\n")
    position = 0
    while (start := text.find("${", position)) >= 0:
        name = _NAME.match(text, start + 2)
        position = start + 2
        if name is None:
            continue
        after = name.end()
        if text.startswith("}", after):
            yield start, after + 1, name.group(), None
            position = after + 1
        elif text.startswith(":-", after):
            close = closing.at_or_after(after + 2)
            line_end = newline.at_or_after(after + 2)
            if close >= 0 and (line_end < 0 or close < line_end):
                yield start, close + 1, name.group(), text[after + 2 : close]
                position = close + 1


def resolve_env(raw: Any, env: Mapping[str, str], problems: list[str], where: str = "") -> Any:
    """Replace ``${VAR}`` (and ``${VAR:-default}``) in every string; an unset one is a problem."""
    if isinstance(raw, dict):
        return {k: resolve_env(v, env, problems, f"{where}.{k}" if where else str(k)) for k, v in raw.items()}
    if isinstance(raw, list):
        return [resolve_env(v, env, problems, f"{where}[{i}]") for i, v in enumerate(raw)]
    if not isinstance(raw, str) or "${" not in raw:
        return raw

    def substitute(name: str, default: str | None) -> str:
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(f"{where}: environment variable {name} is not set; export {name}=... before running")
        return ""

    parts: list[str] = []
    position = 0
    for start, end, name, default in _references(raw):
        parts += [raw[position:start], substitute(name, default)]
        position = end
    return "".join(parts) + raw[position:]


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item.startswith(("function-", "tagged-union")):
            continue
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "(top level)"


def _describe(error: Mapping[str, Any]) -> str:
    where = _location(tuple(error["loc"]))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown key; remove it or check its spelling against docs/configuration.md"
    if kind == "missing":
        return f"{where}: required key is missing; add it"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"


def parse_config(raw: object, env: Mapping[str, str] | None = None) -> Config:
    """Validate an already-parsed YAML document (a dict)."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise ConfigError(["(top level): the file must be a YAML mapping with directory:, webex:, ... keys"])
    resolved = resolve_env(raw, os.environ if env is None else env, problems)
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        problems.extend(_describe(e) for e in exc.errors())
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def config_path(path: str | os.PathLike[str] | None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, resolve and validate the configuration file."""
    file = config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{file}: no such file; pass --config FILE or set {CONFIG_ENV} (see docs/configuration.md)"]
        ) from None
    except OSError as exc:
        raise ConfigError([f"{file}: cannot be read ({exc.strerror})"]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"{file}: is not valid YAML: {exc}"]) from None
    return parse_config(raw, env)
