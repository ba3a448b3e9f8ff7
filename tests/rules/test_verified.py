"""``rules.verified``: the fingerprint of a drift comparison changes with each of its inputs, and
only with them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from webex_provisioner.model import Link, LinkState
from webex_provisioner.model.drift import VERIFIED_BYTES
from webex_provisioner.rules import verified
from webex_provisioner.rules.verified import Verifier
from webex_provisioner.state.codec import StoredAttributes

APPLIED = {"email": "ann@example.com", "title": "Engineer"}
LINK = Link("ann", "webex-1", "ann@example.com", "uid=ann", applied=APPLIED)
KEYS = ("email", "title")
LISTED = b"\x01" * 16


def test_the_same_inputs_give_the_same_fingerprint_whatever_the_check() -> None:
    """Two checks with the same attributes compared agree; the applied attributes count by value,
    in whatever order they were given."""
    reordered = replace(LINK, applied=dict(reversed(APPLIED.items())))
    assert Verifier(KEYS).fingerprint(LINK, LISTED) == Verifier(KEYS).fingerprint(reordered, LISTED)
    assert len(Verifier(KEYS).fingerprint(LINK, LISTED)) == VERIFIED_BYTES


def test_each_input_changes_the_fingerprint() -> None:
    """What Webex sent, what was applied, the link's state and Webex id, and the attributes
    compared each give another fingerprint."""
    base = Verifier(KEYS).fingerprint(LINK, LISTED)
    others = [
        Verifier(KEYS).fingerprint(LINK, b"\x02" * 16),
        Verifier(KEYS).fingerprint(replace(LINK, applied={**APPLIED, "title": "Boss"}), LISTED),
        Verifier(KEYS).fingerprint(replace(LINK, state=LinkState.DISABLED), LISTED),
        Verifier(KEYS).fingerprint(replace(LINK, webex_id="webex-2"), LISTED),
        Verifier(("email",)).fingerprint(LINK, LISTED),
        Verifier(None).fingerprint(LINK, LISTED),
    ]
    assert len({base, *others}) == len(others) + 1


def test_stored_attributes_count_by_their_stored_text() -> None:
    """Attributes a store keeps encoded are fingerprinted as kept, without being decoded."""
    stored = StoredAttributes(json.dumps(APPLIED))
    link = replace(LINK, applied=stored)
    assert Verifier(KEYS).fingerprint(link, LISTED) == Verifier(KEYS).fingerprint(link, LISTED)
    changed = replace(LINK, applied=StoredAttributes(json.dumps({**APPLIED, "title": "Boss"})))
    assert Verifier(KEYS).fingerprint(changed, LISTED) != Verifier(KEYS).fingerprint(link, LISTED)
    assert stored._decoded is None


def test_another_comparison_revision_changes_every_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raising ``COMPARISON`` (the comparison's rules changed) makes every user compared again."""
    before = Verifier(KEYS).fingerprint(LINK, LISTED)
    monkeypatch.setattr(verified, "COMPARISON", verified.COMPARISON + 1)
    assert Verifier(KEYS).fingerprint(LINK, LISTED) != before


def test_values_that_are_not_valid_text_are_fingerprinted() -> None:
    """A lone surrogate in what was applied (hostile directory text) is fingerprinted, not an
    error."""
    odd = replace(LINK, applied={**APPLIED, "title": "\ud800"}, webex_id="webex-\udfff")
    assert Verifier(KEYS).fingerprint(odd, LISTED) != Verifier(KEYS).fingerprint(LINK, LISTED)
