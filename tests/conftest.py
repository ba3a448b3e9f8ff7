"""Shared fixtures: a real slapd holding Example Corp, the Webex emulator over real HTTP, and a
``World`` that wires them to a configuration and runs cycles the way the CLI does."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import ldap
import pytest
import yaml
from click.testing import CliRunner, Result

from webex_provisioner.cli import cli
from webex_provisioner.config import Config, parse_config
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.engine.wiring import open_engine
from webex_provisioner.sandbox.company import Company, example_corp
from webex_provisioner.sandbox.demo import ORG_ID, demo_config
from webex_provisioner.sandbox.slapd import ThrowawaySlapd
from webex_provisioner.service.lease import cycle_lock

WEBEX_TOKEN = "emulator-test-token-5c1f"

# Fixtures that start a real server (slapd, Samba AD, 389 DS, PostgreSQL, the emulator): the tests
# using them are marked ``server``, and ``make test-fast`` (pytest -m "not server") leaves them out.
# Test modules that start servers themselves say so with ``pytestmark = pytest.mark.server``.
SERVER_FIXTURES = frozenset(
    {
        "slapd",
        "shared_slapd",
        "own_slapd",
        "emulator",
        "clean_emulator",
        "world",
        "shared_world",
        "samba_dc",
        "tree",
        "ad_world",
        "module_emulator",
        "running",
        "own_emulator",
        "running_server",
        "server",
        "scim",
        "oauth_emulator",
        "oauth_world",
        "shared_oauth_world",
        "postgres_admin_url",
        "postgres_database_url",
        "postgres_url",
    }
)
SERVER_MARKS = ("postgresql", "ad", "server")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a real server ``server``."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SERVER_FIXTURES or any(item.get_closest_marker(m) for m in SERVER_MARKS):
            item.add_marker(pytest.mark.server)


@pytest.fixture
def corp() -> Company:
    return example_corp()


@pytest.fixture
def slapd(corp: Company) -> Iterator[ThrowawaySlapd]:
    """A fresh slapd with Example Corp loaded, per test (tests change the directory)."""
    with ThrowawaySlapd() as server:
        server.load_ldif(corp.ldif())
        server.start()
        yield server


@pytest.fixture(scope="module")
def company() -> Company:
    """Example Corp, once per test module."""
    return example_corp()


@pytest.fixture(scope="module")
def shared_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp in one slapd per test module: its tests only read it, or each changes users
    of its own."""
    with ThrowawaySlapd() as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server


@pytest.fixture
def own_slapd(slapd: ThrowawaySlapd) -> ThrowawaySlapd:
    """Example Corp in a slapd of the test's own, free to change, stop or restart (``slapd``,
    named for tests that also use the module's ``shared_slapd``)."""
    return slapd


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A fresh, empty Webex emulator on a free loopback port, of the test's own (free to stop and
    start again). Stopping one takes 0.2 s: tests that do not stop it use ``clean_emulator``."""
    server = EmulatorServer(org_id=ORG_ID, token=WEBEX_TOKEN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[EmulatorServer]:
    """One Webex emulator per test module."""
    with EmulatorServer(org_id=ORG_ID, token=WEBEX_TOKEN) as server:
        yield server


@pytest.fixture
def clean_emulator(module_emulator: EmulatorServer) -> EmulatorServer:
    """The module's emulator, reset: no users, no faults, only the configured token, an empty
    request log (answers to requests of an earlier test are not logged). As good as a fresh one
    for a test that does not stop it."""
    module_emulator.reset()
    return module_emulator


def merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class World:
    """The directory, Webex and the state of one test, and ways to run cycles against them."""

    def __init__(
        self, slapd: ThrowawaySlapd, emulator: EmulatorServer, tmp_path: Path, corp: Company
    ) -> None:
        self.slapd = slapd
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.corp = corp
        self.env = {"LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": WEBEX_TOKEN}
        self.raw: dict[str, Any] = merge(
            demo_config(slapd, emulator.url, tmp_path),
            {"directory": {"page_size": 20}, "webex": {"max_retry_wait": 2}, "logging": {"level": "info"}},
        )

    def configure(self, **overrides: Any) -> Config:
        self.raw = merge(self.raw, overrides)
        return self.config

    @property
    def config(self) -> Config:
        return parse_config(self.raw, self.env)

    @property
    def config_file(self) -> Path:
        path = self.tmp_path / "webex-provisioner.yaml"
        path.write_text(yaml.safe_dump(self.raw))
        return path

    def sync(self, clock: Callable[[], datetime] | None = None, **kwargs: Any) -> CycleReport:
        with open_engine(self.config) as engine, cycle_lock(engine.store, "test"):
            cycle = engine.cycle(clock=clock) if clock else engine.cycle()
            return cycle.run(apply=True, **kwargs)

    def plan(self, **kwargs: Any) -> CycleReport:
        with open_engine(self.config, read_only=True) as engine:
            return engine.cycle().run(apply=False, **kwargs)

    def cli(self, *args: str) -> Result:
        runner = CliRunner()
        return runner.invoke(
            cli, ["--config", str(self.config_file), *args], env=self.env, catch_exceptions=False
        )

    # -- looking at Webex ----------------------------------------------------------------

    def webex_users(self) -> dict[str, dict[str, Any]]:
        """The emulator's users by lower-cased userName."""
        return {u["userName"].lower(): u for u in self.emulator.users()}

    def webex_user(self, email: str) -> dict[str, Any] | None:
        return self.webex_users().get(email.lower())

    def delete_webex_user(self, webex_id: str) -> None:
        """Delete a Webex user behind webex-provisioner's back, over the emulator's API."""
        response = httpx.delete(
            f"{self.emulator.scim_url}/Users/{webex_id}", headers={"Authorization": f"Bearer {WEBEX_TOKEN}"}
        )
        assert response.status_code == 204, response.text

    def patch_webex(self, resource: str, webex_id: str, *operations: dict[str, Any]) -> None:
        """Change a Webex user or group behind webex-provisioner's back, over the emulator's SCIM
        API, as Control Hub would (``resource``: ``Users`` or ``Groups``)."""
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(operations)}
        response = httpx.patch(
            f"{self.emulator.scim_url}/{resource}/{webex_id}",
            json=body,
            headers={"Authorization": f"Bearer {WEBEX_TOKEN}"},
        )
        assert response.status_code in (200, 204), response.text

    def person_mail(self, uid: str) -> str:
        mail = self.corp.person(uid).mail
        assert mail is not None
        return mail


@pytest.fixture
def world(slapd: ThrowawaySlapd, clean_emulator: EmulatorServer, tmp_path: Path, corp: Company) -> World:
    """Example Corp in a slapd of the test's own (free to change, stop or restart), the module's
    emulator reset, and a state of the test's own."""
    return World(slapd, clean_emulator, tmp_path, corp)


def context_csn(slapd: ThrowawaySlapd) -> list[bytes]:
    """Where the directory's content stands (syncprov's contextCSN): any write changes it."""
    conn = slapd.connect()
    try:
        [(_, attributes)] = conn.search_s(slapd.suffix, ldap.SCOPE_BASE, attrlist=["contextCSN"])
    finally:
        conn.unbind_s()
    return list(attributes.get("contextCSN", []))


@pytest.fixture
def shared_world(
    shared_slapd: ThrowawaySlapd, clean_emulator: EmulatorServer, tmp_path: Path, company: Company
) -> Iterator[World]:
    """``World`` on the module's slapd, for tests that only read the directory: the module's
    emulator reset and a state of the test's own. A test that changes the shared directory
    fails here (it must use ``world``)."""
    with left_unchanged(shared_slapd):
        yield World(shared_slapd, clean_emulator, tmp_path, company)


@contextmanager
def left_unchanged(slapd: ThrowawaySlapd) -> Iterator[None]:
    """Fail if the block changed the directory of ``slapd`` (a slapd shared by a test module)."""
    before = context_csn(slapd)
    yield
    assert context_csn(slapd) == before, (
        "this test changed the module's shared slapd: use a slapd of its own (the world fixture)"
    )
