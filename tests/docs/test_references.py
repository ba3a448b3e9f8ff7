"""The project stands on its own: nothing in it points at documents or places outside the
repository, and every relative link of the docs leads to a file (and heading) that exists."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs.markdown_text import DOCS, ROOT, anchors, links, relative

# Written in pieces so that this file does not mention them itself.
OUTSIDE = (
    "design" + ".md",  # a design document that is not part of the repository
    ".." + "/shared",  # a folder next to the repository
    "/" + "work" + "/",  # absolute paths of a machine
    "/" + "home" + "/",
    "reference" + " §",  # sections of reference documents kept outside the repository
    "design" + " §",
)
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".venv"}

HERE = Path(__file__).resolve().parent
AREAS: dict[str, tuple[Path, ...]] = {
    "docs": (DOCS,),
    "README.md": (ROOT / "README.md",),
    "src": (ROOT / "src",),
    "tests/docs": (HERE,),
    "tests": (ROOT / "tests",),  # but tests/docs, an area of its own
}
XFAIL: dict[str, pytest.MarkDecorator] = {}


def text_files(paths: tuple[Path, ...], *, besides: Path | None = None) -> Iterator[Path]:
    """The files under ``paths`` (caches and build output left out), but those under ``besides``."""
    for path in paths:
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*")):
            inside = file.relative_to(path).parts
            if not file.is_file() or any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in inside):
                continue
            if besides is not None and file.is_relative_to(besides):
                continue
            yield file


def mentions_outside(file: Path) -> list[str]:
    try:
        text = file.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []  # not text
    found: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        found.extend(f"{relative(file)}:{number}: {what}" for what in OUTSIDE if what in line)
    return found


@pytest.mark.parametrize("area", [pytest.param(a, marks=XFAIL.get(a, ())) for a in AREAS])
def test_nothing_points_outside_the_repository(area: str) -> None:
    """No file of docs/, README.md, src/ or tests/ mentions the design document, the shared folder
    next to the repository, or an absolute path of a machine (under work or home): the OUTSIDE
    strings above."""
    files = text_files(AREAS[area], besides=HERE if area == "tests" else None)
    found = [hit for file in files for hit in mentions_outside(file)]
    assert not found, "these lines point outside the repository:\n  " + "\n  ".join(found)


DOCUMENTS = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_relative_links_lead_to_files_that_exist(document: Path) -> None:
    """Every relative link of README.md and docs/*.md leads to a file of the repository that
    exists, and its #anchor, if any, to a heading of that file."""
    text = document.read_text(encoding="utf-8")
    broken = []
    for line, target in links(text):
        if _SCHEME.match(target):
            continue  # https://..., mailto:...
        path_part, _, anchor = target.partition("#")
        path_part = unquote(path_part.split("?", 1)[0])
        if path_part.startswith("/"):
            resolved = (ROOT / path_part.lstrip("/")).resolve()
        elif path_part:
            resolved = (document.parent / path_part).resolve()
        else:
            resolved = document.resolve()
        where = f"{relative(document)}:{line}: ({target})"
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{where} leads outside the repository")
        elif not resolved.exists():
            broken.append(f"{where}: no such file")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))
        ):
            broken.append(f"{where}: {relative(resolved)} has no heading #{anchor}")
    assert not broken, "broken links:\n  " + "\n  ".join(broken)


def test_links_are_found() -> None:
    """The link reader finds the README's links (a reader that finds none would pass anything)."""
    targets = [target for _, target in links((ROOT / "README.md").read_text(encoding="utf-8"))]
    assert "docs/configuration.md" in targets


_TEST_REFERENCE = re.compile(r"\btests/[\w/]+\.py(?:::\w+)?")
_PYTHON_NAME = re.compile(r"\bwebex_provisioner(?:\.\w+)+")


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module of the package, or something in one."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


@pytest.mark.parametrize("document", DOCUMENTS, ids=relative)
def test_code_the_docs_name_exists(document: Path) -> None:
    """Every test the docs cite (tests/reliability/test_x.py::test_name) and every Python name
    they give (webex_provisioner.sandbox.dirsrv.ThrowawayDirSrv) exists."""
    text = document.read_text(encoding="utf-8")
    missing = []
    for reference in sorted(set(_TEST_REFERENCE.findall(text))):
        file, _, test = reference.partition("::")
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{reference}: no such file")
        elif test and not re.search(rf"^\s*(?:async\s+)?def {re.escape(test)}\(", path.read_text(), re.M):
            missing.append(f"{reference}: no such test")
    missing.extend(
        f"{name}: not found" for name in sorted(set(_PYTHON_NAME.findall(text))) if not resolves(name)
    )
    assert not missing, f"{relative(document)} names code that does not exist:\n  " + "\n  ".join(missing)
