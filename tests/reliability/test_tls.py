"""TLS end to end through 'sync': to Webex (the emulator over HTTPS) and to the directory (slapd
over ldaps:// and StartTLS), certificates are verified by default; ca_file trusts a private CA;
turning verification off needs tls_verify: false and logs a warning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import WEBEX_TOKEN, World
from tests.reliability.helpers import expected_emails
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.engine.report import EXIT_FAILED, EXIT_USERS_FAILED
from webex_provisioner.sandbox.company import Company, example_corp
from webex_provisioner.sandbox.demo import ORG_ID
from webex_provisioner.sandbox.pki import TestPki, make_test_pki
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def company() -> Company:
    return example_corp()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    """A private CA and a certificate for 127.0.0.1 signed by it."""
    return make_test_pki(tmp_path_factory.mktemp("webex-pki"))


@pytest.fixture(scope="module")
def https_webex(pki: TestPki) -> Iterator[EmulatorServer]:
    """The emulator over HTTPS with the private CA's certificate (reset before each test)."""
    with EmulatorServer(
        org_id=ORG_ID, token=WEBEX_TOKEN, ssl_certfile=pki.cert_file, ssl_keyfile=pki.key_file
    ) as server:
        yield server


@pytest.fixture(scope="module")
def tls_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp in a slapd offering StartTLS and ldaps:// with a certificate of its own CA."""
    with ThrowawaySlapd(tls=True) as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server


@pytest.fixture
def tls_world(
    tls_slapd: ThrowawaySlapd, https_webex: EmulatorServer, pki: TestPki, tmp_path: Path, company: Company
) -> World:
    """Example Corp over ldaps:// and Webex over HTTPS, both CAs trusted through ca_file."""
    https_webex.reset()
    world = World(tls_slapd, https_webex, tmp_path, company)
    world.configure(
        directory={"url": tls_slapd.ldaps_uri, "ca_file": str(tls_slapd.ca_file)},
        webex={"ca_file": str(pki.ca_file)},
    )
    return world


def test_both_private_cas_trusted_through_ca_file(tls_world: World) -> None:
    """ldaps:// and HTTPS with each CA in ca_file: the cycle provisions everyone (exit 3: the
    user without mail)."""
    assert tls_world.emulator.url.startswith("https://")
    result = tls_world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output
    assert json.loads(result.stdout)["error"] is None
    assert set(tls_world.webex_users()) == expected_emails(tls_world)


def test_untrusted_webex_certificate_fails_clearly(tls_world: World) -> None:
    """Without webex.ca_file the emulator's certificate is not trusted (verification is on by
    default): sync exits 1 saying so and naming webex.ca_file; nothing reaches Webex."""
    tls_world.raw["webex"].pop("ca_file")
    result = tls_world.cli("sync", "--json")
    assert result.exit_code == EXIT_FAILED, result.output
    error = json.loads(result.stdout)["error"]
    assert f"the TLS certificate of {tls_world.emulator.url} is not trusted" in error
    assert "webex.ca_file" in error
    assert tls_world.emulator.request_log == []


def test_webex_tls_verify_off_works_and_warns(tls_world: World) -> None:
    """webex.tls_verify: false connects to the untrusted emulator and logs a warning saying the
    certificate is not verified."""
    tls_world.raw["webex"].pop("ca_file")
    tls_world.configure(webex={"tls_verify": False})
    result = tls_world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output
    assert "TLS certificate verification for" in result.stderr
    assert "webex.tls_verify: false" in result.stderr
    assert set(tls_world.webex_users()) == expected_emails(tls_world)


@pytest.mark.parametrize("kind", ["ldaps", "start_tls"])
def test_untrusted_directory_certificate_fails_clearly(tls_world: World, kind: str) -> None:
    """Without directory.ca_file the slapd certificate is not trusted: sync exits 1 saying the TLS
    handshake failed and naming directory.ca_file; Webex gets no request."""
    tls_world.raw["directory"].pop("ca_file")
    if kind == "start_tls":
        tls_world.configure(directory={"url": tls_world.slapd.uri, "start_tls": True})
    result = tls_world.cli("sync")
    assert result.exit_code == EXIT_FAILED
    assert "TLS" in result.output and "directory.ca_file" in result.output
    assert tls_world.emulator.request_log == []


def test_start_tls_with_the_ca_provisions(tls_world: World) -> None:
    """StartTLS on ldap:// with directory.ca_file reads the directory and provisions everyone."""
    tls_world.configure(directory={"url": tls_world.slapd.uri, "start_tls": True})
    result = tls_world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output
    assert set(tls_world.webex_users()) == expected_emails(tls_world)


def test_directory_tls_verify_off_works_and_warns(tls_world: World) -> None:
    """directory.tls_verify: false reads over ldaps:// without the CA and logs a warning."""
    tls_world.raw["directory"].pop("ca_file")
    tls_world.configure(directory={"tls_verify": False})
    result = tls_world.cli("sync", "--json")
    assert result.exit_code == EXIT_USERS_FAILED, result.output
    assert "directory.tls_verify_off" in result.stderr
    assert set(tls_world.webex_users()) == expected_emails(tls_world)
