"""The code's shape, as docs/architecture.md describes it: layers visible from the folder
listing, small functions. (Imports between the layers are checked by ``lint-imports``, run by
``make lint``, from the contracts in pyproject.toml.)"""

from __future__ import annotations

import ast
from pathlib import Path

import webex_provisioner

PACKAGE = Path(webex_provisioner.__file__).parent
ROOT_MODULES = {"__init__.py", "__main__.py", "errors.py", "ports.py", "py.typed"}
ROOT_PACKAGES = {
    "cli",
    "config",
    "directory",
    "emulator",
    "engine",
    "model",
    "notify",
    "rules",
    "sandbox",
    "service",
    "state",
    "testing",
    "webex",
}
MAX_FUNCTION_LINES = 80
EXEMPT = ("state/migrations/", "sandbox/")


def test_only_the_vocabulary_errors_and_ports_sit_at_the_package_root() -> None:
    """Every other module lives in its layer's package."""
    modules = {p.name for p in PACKAGE.iterdir() if p.is_file()}
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert modules <= ROOT_MODULES, f"modules at the root: {sorted(modules - ROOT_MODULES)}"
    assert packages == ROOT_PACKAGES


def test_no_function_is_longer_than_80_lines() -> None:
    """Functions stay short enough to read (migrations and test sandboxes aside)."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(EXEMPT):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{relative}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "functions over 80 lines:\n" + "\n".join(long)
