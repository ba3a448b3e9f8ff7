"""``make demo`` end to end: it runs, and when its guard holds the deprovisions the message the
emulator's Webex space received is shown, then its recovery after the approval."""

from __future__ import annotations

import pytest

from webex_provisioner.sandbox import demo

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]


def test_the_demo_shows_the_message_the_guard_sends_to_the_space(capfd: pytest.CaptureFixture[str]) -> None:
    """The demo finishes without failure; after the sync the guard holds (exit 4) it prints the
    space's held message (the three users, the approve command, the cycle), and after the
    approval the recovered one."""
    assert demo.main() == 0
    out = capfd.readouterr().out
    held = out.split("the message posted to the Webex space")[1].split("=== sync --approve-held")[0]
    assert "held: deprovisions wait for an approval" in held
    assert "webex-provisioner sync --approve-held" in held and "· cycle `" in held
    assert held.count("- disable ") == 3
    assert "recovered: held resolved" in out.split("and the space is told it is resolved")[1]
    assert "Demo finished with failures" not in out
