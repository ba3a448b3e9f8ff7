"""Fixtures of the tests of the in-memory fakes."""

from __future__ import annotations

import pytest

from webex_provisioner.testing.webex import InMemoryWebex


@pytest.fixture
def webex() -> InMemoryWebex:
    """An empty in-memory Webex organization."""
    return InMemoryWebex()
