"""Values from the directory, Webex and the state are printed as text, never interpreted:
rich markup stays literal, escape sequences and control characters are shown escaped, and no
command crashes on them (docs/reliability.md, "Hostile values")."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import ldap.dn
import pytest

from tests.conftest import World
from tests.terminal.screen import command, in_pipes
from webex_provisioner.model import AuditEntry, Outcome
from webex_provisioner.ports import Record
from webex_provisioner.state import open_state_store

# What a user who may edit their own display name or phone could type.
HOSTILE = "Bob [/i] [link=http://x]click[/link] \x1b[31mred\x1b[0m\rOK\x00 \u202eevil :smile:"
SHOWN = ("[/i]", "[link=http://x]", "\\x1b[31m", "\\r", "\\x00", "\\u202e", ":smile:")
"""How HOSTILE shows: markup and emoji codes literal, control characters escaped."""
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""What must never reach the output raw (line feeds aside)."""

EVA = "eva.novak@example.com"


def run(world: World, *args: str) -> tuple[int, str]:
    """A command as a real process with its output to pipes: (exit code, output and errors)."""
    out, err = in_pipes(command(world.config_file, *args), {**os.environ, **world.env}, columns=400)
    return out.code, out.raw.decode("utf-8") + err.raw.decode("utf-8")


def assert_shown_as_text(output: str, *, shown: tuple[str, ...] = SHOWN) -> None:
    assert "Traceback" not in output, output
    raw = sorted({f"U+{ord(c):04X}" for c in RAW.findall(output)})
    assert not raw, f"raw control characters reached the output: {raw}\n{output!r}"
    missing = [text for text in shown if text not in output]
    assert not missing, f"not shown as text: {missing}\n{output}"


def fail_eva_with_hostile_error(world: World) -> None:
    """The state holds HOSTILE as Eva's last error and in her history (as a Webex error would)."""
    store = open_state_store(world.config.state)
    try:
        link = next(link for link in store.links() if link.email == EVA)
        entry = AuditEntry(
            "c-hostile", link.updated_at or link.created_at, link.anchor, EVA, "update", "attributes_changed",
            Outcome.FAILED, link.webex_id, HOSTILE,
        )  # fmt: skip
        store.record([Record(entry, save_link=replace(link, last_error=HOSTILE))])
    finally:
        store.close()


def test_directory_webex_and_state_values_are_printed_as_text(world: World) -> None:
    """A display name and title of markup, [link=...], an escape sequence, a carriage return,
    NUL and U+202E pass through plan, sync, status, users show and users explain: every command
    exits as it would with plain values, sync prints its report, and the values appear
    escaped, never raw, never interpreted."""
    world.sync()
    world.slapd.modify(
        world.corp.person("enovak").dn, {"displayName": [HOSTILE.encode()], "title": [HOSTILE.encode()]}
    )
    code, output = run(world, "plan")
    assert code == 3, output  # the user without mail is reported, as always
    assert_shown_as_text(output)
    code, output = run(world, "sync")
    assert code == 3, output
    assert "1 of 1 action applied" in output and "attributes_changed" in output
    assert_shown_as_text(output)
    assert (world.webex_user(EVA) or {})["title"] == HOSTILE  # Webex got the value unchanged
    fail_eva_with_hostile_error(world)
    for args in (("status",), ("users", "show", EVA), ("users", "explain", EVA), ("users", "list")):
        code, output = run(world, *args)
        assert code == 0, (args, output)
        assert_shown_as_text(output)


@pytest.mark.parametrize("args", [("check",), ("plan",), ("sync",)])
def test_a_hostile_value_in_an_error_is_printed_as_text(world: World, args: tuple[str, ...]) -> None:
    """An error carrying such a value (a bind DN the directory refuses, named in the error) is
    printed escaped: check, plan and sync fail cleanly with exit code 1, they do not crash."""
    world.configure(directory={"bind_dn": f"cn={ldap.dn.escape_dn_chars(HOSTILE)},dc=example,dc=com"})
    code, output = run(world, *args)
    assert code == 1, output
    assert_shown_as_text(output, shown=("[/i]", "[link", "\\x1b[31m"))
