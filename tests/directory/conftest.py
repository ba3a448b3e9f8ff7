"""Fixtures of the directory tests: Example Corp in a real slapd (shared per module where tests
only read, fresh per test where they change the directory or the server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from webex_provisioner.sandbox import Company, ThrowawaySlapd, example_corp


@pytest.fixture(scope="module")
def company() -> Company:
    return example_corp()


@pytest.fixture(scope="module")
def shared_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp, one slapd per test module; tests using it must not change it."""
    with ThrowawaySlapd() as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server


@pytest.fixture
def own_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp in a slapd of the test's own, free to change or stop."""
    with ThrowawaySlapd() as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server
