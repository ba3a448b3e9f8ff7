"""The project's Markdown as the docs tests read it: headings and their sections, pipe tables,
fenced blocks, inline code and links. Small on purpose: the docs are plain GitHub Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(?P<code>.+?)\1")
_COMMENT = re.compile(r"^\s*<!--(?P<text>.*?)-->\s*$")


def relative(path: Path) -> str:
    """``path`` as the project names it (``docs/cli.md``)."""
    return path.relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """A fenced code block: its info string (``yaml``), its text, the line of its opening fence
    and the HTML comment on the line before it, if any (``<!-- configuration fragment -->``)."""

    info: str
    text: str
    line: int
    comment: str | None


def fenced_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if (
                closing
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
                and not closing["info"].strip()
            ):
                break
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])  # the fence's indent off
            j += 1
        previous = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        comment = _COMMENT.match(previous)
        blocks.append(
            Block(
                info=opening["info"].strip(),
                text="\n".join(body) + "\n",
                line=i + 1,
                comment=comment["text"].strip() if comment else None,
            )
        )
        i = j + 1
    return blocks


def prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of every line outside fenced blocks."""
    inside: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        fence = _FENCE.match(line)
        if inside is None:
            if fence:
                inside = fence["fence"]
                continue
            yield number, line
        elif (
            fence
            and fence["fence"][0] == inside[0]
            and len(fence["fence"]) >= len(inside)
            and not fence["info"].strip()
        ):
            inside = None


def code_spans(text: str) -> list[str]:
    """The inline code of ``text`` (outside fenced blocks), in order."""
    return [m["code"].strip() for _, line in prose_lines(text) for m in _CODE_SPAN.finditer(line)]


@dataclass(frozen=True)
class Section:
    """A heading and everything under it up to the next heading of the same or a higher level."""

    level: int
    title: str
    line: int
    text: str


def sections(text: str) -> list[Section]:
    lines = text.splitlines()
    headings = [
        (number, len(m["hashes"]), m["title"])
        for number, line in prose_lines(text)
        if (m := _HEADING.match(line))
    ]
    found = []
    for index, (number, level, title) in enumerate(headings):
        end = next((n for n, lv, _ in headings[index + 1 :] if lv <= level), len(lines) + 1)
        found.append(Section(level, title, number, "\n".join(lines[number - 1 : end - 1])))
    return found


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    line: int


def split_row(line: str) -> tuple[str, ...]:
    """The cells of a table row; ``\\|`` is a literal pipe."""
    body = line.strip()
    body = body.removeprefix("|")
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return tuple(cell.replace("\\|", "|").strip() for cell in cells)


_DELIMITER = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def tables(text: str) -> list[Table]:
    """Every pipe table outside fenced blocks: a header, a delimiter row, then rows."""
    lines = list(prose_lines(text))
    found = []
    i = 0
    while i + 1 < len(lines):
        number, line = lines[i]
        following_number, following = lines[i + 1]
        if line.lstrip().startswith("|") and following_number == number + 1 and _DELIMITER.match(following):
            rows = []
            j = i + 2
            while j < len(lines) and lines[j][1].lstrip().startswith("|") and lines[j][0] == number + j - i:
                rows.append(Row(split_row(lines[j][1]), lines[j][0]))
                j += 1
            found.append(Table(split_row(line), tuple(rows), number))
            i = j
        else:
            i += 1
    return found


_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s|$)")


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every inline link, image and link reference definition outside code."""
    found: list[tuple[int, str]] = []
    for number, line in prose_lines(text):
        plain = _CODE_SPAN.sub("", line)
        found.extend((number, m["target"]) for m in _INLINE_LINK.finditer(plain))
        reference = _REFERENCE.match(plain)
        if reference:
            found.append((number, reference["target"]))
    return found


def slug(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link shows its text
    return re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a document's headings, with GitHub's -1, -2 ... for repeated ones, and
    the explicit ``<a id="...">`` anchors it places."""
    seen: dict[str, int] = {}
    found = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for section in sections(text):
        base = slug(section.title)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found
