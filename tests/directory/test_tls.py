"""TLS to the directory: StartTLS and ldaps:// verify the server certificate against the
configured CA, and fail (not silently downgrade) without it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from tests.directory.helpers import MAPPED, config_for
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.errors import DirectoryError, DirectoryUnavailableError
from webex_provisioner.sandbox import Company, ThrowawaySlapd

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def tls_slapd(company: Company) -> Iterator[ThrowawaySlapd]:
    """Example Corp over ldap:// (StartTLS) and ldaps://, with a freshly made test CA."""
    with ThrowawaySlapd(tls=True) as server:
        server.load_ldif(company.ldif())
        server.start()
        yield server


def test_start_tls_with_the_ca_verifies_and_reads(tls_slapd: ThrowawaySlapd) -> None:
    """StartTLS with ca_file set reads every user (certificate verification on, the default)."""
    config = config_for(tls_slapd, start_tls=True, ca_file=tls_slapd.ca_file)
    assert config.tls_verify
    with LdapDirectory(config, MAPPED) as directory:
        assert len(list(directory.read_users())) == 64


def test_ldaps_with_the_ca_verifies_and_reads(tls_slapd: ThrowawaySlapd) -> None:
    """ldaps:// with ca_file set reads every user."""
    config = config_for(tls_slapd, url=tls_slapd.ldaps_uri, ca_file=tls_slapd.ca_file)
    with LdapDirectory(config, MAPPED) as directory:
        assert len(list(directory.read_users())) == 64


def test_start_tls_by_host_name(tls_slapd: ThrowawaySlapd) -> None:
    """The test certificate also names localhost, so a host-name URL verifies too."""
    url = tls_slapd.uri.replace("127.0.0.1", "localhost")
    config = config_for(tls_slapd, url=url, start_tls=True, ca_file=tls_slapd.ca_file)
    with LdapDirectory(config) as directory:
        assert directory.probe()["vendor"] == "OpenLDAP"


@pytest.mark.parametrize("kind", ["start_tls", "ldaps"])
def test_an_untrusted_certificate_is_refused(tls_slapd: ThrowawaySlapd, kind: str) -> None:
    """Without the CA the handshake fails: a DirectoryError that is not 'server unavailable' and
    tells to set directory.ca_file."""
    if kind == "ldaps":
        config = config_for(tls_slapd, url=tls_slapd.ldaps_uri)
    else:
        config = config_for(tls_slapd, start_tls=True)
    with LdapDirectory(config) as directory, pytest.raises(DirectoryError) as caught:
        list(directory.read_users())
    assert not isinstance(caught.value, DirectoryUnavailableError)
    assert "directory.ca_file" in caught.value.message
    assert "TLS" in caught.value.message


def test_tls_verify_off_connects_and_warns(tls_slapd: ThrowawaySlapd) -> None:
    """tls_verify: false connects without the CA, and logs a warning saying so."""
    config = config_for(tls_slapd, url=tls_slapd.ldaps_uri, tls_verify=False)
    with structlog.testing.capture_logs() as logs, LdapDirectory(config) as directory:
        assert directory.probe()["vendor"] == "OpenLDAP"
    warnings = [entry for entry in logs if entry["event"] == "directory.tls_verify_off"]
    assert warnings
    assert warnings[0]["log_level"] == "warning"


def test_start_tls_on_an_ldaps_url_is_refused(tls_slapd: ThrowawaySlapd) -> None:
    """start_tls with an ldaps:// URL is a configuration mistake, reported as such."""
    config = config_for(tls_slapd, url=tls_slapd.ldaps_uri, start_tls=True, ca_file=tls_slapd.ca_file)
    with LdapDirectory(config) as directory, pytest.raises(DirectoryError, match="start_tls"):
        directory.probe()
