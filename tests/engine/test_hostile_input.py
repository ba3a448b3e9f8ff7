"""Hostile directory values through a whole cycle on the fakes: each bad user is reported and
skipped, everyone else is provisioned."""

from __future__ import annotations

from tests.engine.fakes_world import FakeWorld, person
from webex_provisioner.engine.report import EXIT_USERS_FAILED
from webex_provisioner.model import ProblemKind


def test_an_email_with_a_hidden_character_is_reported_and_skipped() -> None:
    """A zero-width space or a right-to-left override in an e-mail makes that user an invalid
    one (exit 3), never a Webex user; the other users are provisioned."""
    world = FakeWorld(
        person("ann"),
        person("zw", email="zw\u200b@example.com"),
        person("rlo", email="rlo@example.com\u202egro"),
    )
    report = world.sync()
    invalid = {p.anchor: p.detail for p in report.plan.problems if p.kind is ProblemKind.INVALID}
    assert set(invalid) == {"zw", "rlo"}
    assert "U+200B" in invalid["zw"] and "U+202E" in invalid["rlo"]
    assert world.emails() == {"ann@example.com"}
    assert report.exit_code == EXIT_USERS_FAILED
