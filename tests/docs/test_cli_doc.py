"""docs/cli.md documents the command line as it is: every command, option and argument.

A command's section is the heading whose first inline code starts with the command's path
(``## `users show EMAIL|ANCHOR|DN` ``); the options of the top-level group belong to the text
before the first command's heading. An option is documented by its long flag (``--approve-held``)
and an argument by the name ``--help`` shows for it (``EMAIL|ANCHOR|DN``, ``FILE``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from tests.docs.markdown_text import DOCS, sections
from webex_provisioner.cli import cli

CLI_DOC = DOCS / "cli.md"
PROG = "webex-provisioner"


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``command`` (itself first), with its path of names."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = list(walk(cli))


def command_id(item: tuple[tuple[str, ...], click.Command]) -> str:
    return " ".join(item[0]) or PROG


def context(path: tuple[str, ...], command: click.Command) -> click.Context:
    return click.Context(command, info_name=path[-1] if path else PROG)


def long_flags(param: click.Parameter) -> list[str]:
    return [flag for flag in (*param.opts, *param.secondary_opts) if flag.startswith("--")]


def argument_name(path: tuple[str, ...], command: click.Command, argument: click.Argument) -> str:
    """The name ``--help`` shows for an argument (its metavar, e.g. ``EMAIL|ANCHOR|DN``)."""
    return argument.make_metavar(context(path, command)).removesuffix("...")


def command_sections() -> dict[tuple[str, ...], str]:
    """Command path -> the text of its section(s) in docs/cli.md; () -> the text before the first."""
    text = CLI_DOC.read_text(encoding="utf-8")
    known = {path for path, _ in COMMANDS if path}
    found: dict[tuple[str, ...], str] = {}
    first = None
    for section in sections(text):
        code = re.match(r"`([^`]+)`", section.title)
        if not code:
            continue
        words = tuple(code[1].split())
        path = next((words[:n] for n in range(len(words), 0, -1) if words[:n] in known), None)
        if path is None:
            continue
        first = section.line if first is None else min(first, section.line)
        found[path] = found.get(path, "") + "\n" + section.text
    found[()] = "\n".join(text.splitlines()[: (first or 1) - 1])
    return found


def mentions(text: str, word: str) -> bool:
    """``word`` appears in ``text`` as a whole (``--full`` is not in ``--full-scan``)."""
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


@pytest.mark.parametrize("item", COMMANDS, ids=command_id)
def test_command_is_documented_in_its_section(item: tuple[tuple[str, ...], click.Command]) -> None:
    """Every command and subcommand has a section in docs/cli.md naming each of its options (by
    long flag) and arguments; a group without options of its own is documented by its
    subcommands' sections."""
    path, command = item
    found = command_sections()
    name = " ".join(path) or PROG
    own = [p for p in command.params if not getattr(p, "hidden", False)]
    if path not in found:
        is_group_of_documented = isinstance(command, click.Group) and not own
        assert is_group_of_documented, f"docs/cli.md has no section headed `{name}`"
        return
    section = found[path]
    missing = []
    for param in own:
        if isinstance(param, click.Argument):
            shown = argument_name(path, command, param)
            if not mentions(section, shown):
                missing.append(f"argument {shown}")
        else:
            flags = long_flags(param)
            if flags and not any(mentions(section, flag) for flag in flags):
                missing.append(f"option {flags[0]}")
    assert not missing, f"docs/cli.md's section for `{name}` does not mention: {', '.join(missing)}"


@pytest.mark.parametrize("item", COMMANDS, ids=command_id)
def test_command_has_help(item: tuple[tuple[str, ...], click.Command]) -> None:
    """Every command has a non-empty --help: it exits 0 and shows the command's description, and
    every option it lists has a description too."""
    path, command = item
    name = " ".join(path) or PROG
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name=PROG)
    assert result.exit_code == 0, f"{name} --help exits {result.exit_code}: {result.output}"
    description = (command.help or "").strip()
    assert description, f"{name} has no help text"
    first_paragraph = " ".join(description.split("\n\n")[0].split())
    assert first_paragraph in " ".join(result.output.split()), f"{name} --help does not show its description"
    bare = [
        long_flags(p)[0] for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()
    ]
    assert not bare, f"{name} --help lists options without a description: {bare}"


def test_every_section_names_a_command() -> None:
    """Every heading of docs/cli.md in the form ## `command ...` names a command that exists."""
    text = CLI_DOC.read_text(encoding="utf-8")
    known = {" ".join(path) for path, _ in COMMANDS if path}
    stale = []
    for section in sections(text):
        code = re.match(r"`([^`]+)`", section.title)
        if section.level == 2 and code:
            words = code[1].split()
            if not any(" ".join(words[:n]) in known for n in range(len(words), 0, -1)):
                stale.append(section.title)
    assert not stale, f"docs/cli.md has sections for commands that do not exist: {stale}"


def test_every_flag_in_the_reference_exists() -> None:
    """Every long flag docs/cli.md mentions (--json, --approve-held, ...) is an option of some
    command, or the help option."""
    flags = {flag for _, command in COMMANDS for p in command.params for flag in long_flags(p)}
    flags.update(o for o in cli.context_settings.get("help_option_names", ["--help"]) if o.startswith("--"))
    text = CLI_DOC.read_text(encoding="utf-8")
    mentioned = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    assert not mentioned - flags, f"docs/cli.md mentions options no command has: {sorted(mentioned - flags)}"
