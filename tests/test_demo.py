"""``make demo`` end to end (run once for the module, as ``make demo`` runs it): it finishes; a
title edited in Webex is set back by a full sync and the Webex user linked to no one is listed by
``users orphans``; the licences command shows the licences it assigned; when its guard holds the
deprovisions the message the emulator's Webex space received is shown, then its recovery after
the approval."""

from __future__ import annotations

import subprocess
import sys

import pytest

from webex_provisioner.sandbox import demo

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def out() -> str:
    """What the demo printed; it must have ended without failure."""
    run = subprocess.run(
        [sys.executable, "-m", "webex_provisioner.sandbox.demo"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Demo finished with failures" not in run.stdout
    return run.stdout


def test_the_demo_shows_the_message_the_guard_sends_to_the_space(out: str) -> None:
    """After the sync the guard holds (exit 4) it prints the space's held message (the three
    users, the approve command, the cycle), and after the approval the recovered one."""
    held = out.split("the message posted to the Webex space")[1].split("=== sync --approve-held", maxsplit=1)[
        0
    ]
    assert "held: actions wait for an approval" in held
    assert "webex-provisioner sync --approve-held" in held and "· cycle `" in held
    assert held.count("- disable ") == 3
    assert "recovered: held resolved" in out.split("and the space is told it is resolved")[1]


def test_the_demo_shows_the_licences_it_assigned(out: str) -> None:
    """The licences command lists the licences with what webex-provisioner assigned."""
    licences = out.split("=== licenses:")[1].split("===")[1]
    assert "Webex Messaging" in licences and "assigned here" in licences and "(exit code 0" in licences


def test_the_demo_shows_one_repaired_edit_and_one_orphan(out: str) -> None:
    """After the title edited in Webex, the full sync plans one update tagged drift_in_webex
    showing the Webex value as old; users orphans lists the account created by hand."""
    repaired = out.split("=== sync --full")[1].split("=== users orphans", maxsplit=1)[0]
    assert "drift_in_webex" in repaired and "title: 'Chief Coffee Officer' →" in repaired
    assert "1 user with attributes changed" in repaired
    orphans = out.split("=== users orphans")[1].split("=== Changing the directory", maxsplit=1)[0]
    assert demo.ORPHAN in orphans and "(1)" in orphans
