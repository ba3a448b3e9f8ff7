"""Text that reaches a terminal outside tables: log lines, error messages and JSON. Values are
shown escaped, never acted on; per-action log lines stay off the console under a live view."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from webex_provisioner.cli.base import emit_json, failures
from webex_provisioner.engine.logs import configure_logging, per_action_lines_hidden, printable
from webex_provisioner.errors import DirectoryError

HOSTILE = "Bob [/i] \x1b[31mred\rOK\x00 \u202eevil\x9b\u2028"
ESCAPED = "Bob [/i] \\x1b[31mred\\rOK\\x00 \\u202eevil\\x9b\\u2028"
RAW = ("\x1b", "\r", "\x00", "\u202e", "\x9b", "\u2028")


def test_printable_escapes_control_characters_and_keeps_everything_else() -> None:
    """Control characters, line separators and bidirectional overrides are written the way
    Python escapes them; markup, accents and scripts are kept; line breaks only when asked."""
    assert printable(HOSTILE) == ESCAPED
    assert printable("Müller, 李 [b]x[/b]") == "Müller, 李 [b]x[/b]"
    assert printable("a\nb\tc") == "a\\nb\\tc"
    assert printable("a\nb\x1b", newlines=True) == "a\nb\\x1b"


def test_console_log_lines_show_values_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """A console log line (structlog and the standard library's logging) shows a value's
    control characters escaped: a value cannot move the cursor or fake a line."""
    configure_logging("console", "info")
    structlog.get_logger("webex_provisioner.engine.steps").warning("action failed", error=HOSTILE)
    logging.getLogger("webex_provisioner.webex").warning("refused: %s", HOSTILE)
    err = capsys.readouterr().err
    assert not any(c in err for c in RAW), repr(err)
    assert err.count("[/i] \\x1b[31mred") == 2


def test_per_action_lines_stay_off_the_console_under_a_live_view(capsys: pytest.CaptureFixture[str]) -> None:
    """While a live view is shown, the per-action log lines are not printed (other lines are),
    unless the level is debug; afterwards they are printed again."""
    configure_logging("console", "info")
    steps, cycle = structlog.get_logger("webex_provisioner.engine.steps"), structlog.get_logger("x.cycle")
    with per_action_lines_hidden("info"):
        steps.info("action applied", email="hidden@example.com")
        cycle.info("plan computed")
    with per_action_lines_hidden("debug"):
        steps.info("action applied", email="debug@example.com")
    steps.info("action applied", email="after@example.com")
    err = capsys.readouterr().err
    assert "hidden@example.com" not in err and "plan computed" in err
    assert "debug@example.com" in err and "after@example.com" in err


def test_error_messages_show_values_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    """An error naming a hostile value exits 1 with the value escaped."""
    with pytest.raises(SystemExit) as exited, failures():
        raise DirectoryError(f"no entry {HOSTILE}")
    assert exited.value.code == 1
    assert capsys.readouterr().err == f"error: no entry {ESCAPED}\n"


def test_json_output_escapes_what_a_terminal_would_act_on() -> None:
    """--json writes every control character and bidirectional override as a JSON escape: the
    same string for a parser, inert on a screen."""
    out = io.StringIO()
    emit_json({"displayName": HOSTILE, "name": "Müller"}, out)
    assert not any(c in out.getvalue() for c in RAW)
    assert json.loads(out.getvalue()) == {"displayName": HOSTILE, "name": "Müller"}
