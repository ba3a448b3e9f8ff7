"""probe: what the directory server is and offers."""

from __future__ import annotations

import pytest

from tests.directory.helpers import config_for
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.directory.connection import PAGED_RESULTS_OID
from webex_provisioner.directory.ldap import CONTENT_SYNC_OID, vendor_of
from webex_provisioner.errors import DirectoryUnavailableError
from webex_provisioner.sandbox import SUFFIX, Company, ThrowawaySlapd


def test_probe_describes_openldap_with_syncprov(shared_slapd: ThrowawaySlapd) -> None:
    """Against slapd with syncprov: OpenLDAP, the naming context, paged results and content sync
    offered, the supported controls listed, and the base DN found."""
    with LdapDirectory(config_for(shared_slapd)) as directory:
        probe = directory.probe()
    assert probe["vendor"] == "OpenLDAP"
    assert probe["naming_contexts"] == SUFFIX
    assert probe["paged_results"] == "yes"
    assert probe["content_sync"] == "yes"
    controls = probe["supported_controls"].split(",")
    assert PAGED_RESULTS_OID in controls
    assert CONTENT_SYNC_OID in controls
    assert probe["base_dn_found"] == "yes"
    assert probe["url"] == shared_slapd.uri


@pytest.mark.server
def test_probe_without_syncprov_offers_no_content_sync(company: Company) -> None:
    """Without the syncprov overlay, content sync is reported as not offered."""
    with ThrowawaySlapd(syncprov=False) as server:
        server.load_ldif(company.ldif())
        server.start()
        with LdapDirectory(config_for(server)) as directory:
            probe = directory.probe()
    assert probe["content_sync"] == "no"
    assert probe["paged_results"] == "yes"


def test_probe_reports_a_missing_base_dn(shared_slapd: ThrowawaySlapd) -> None:
    """A base DN that does not exist is reported, not raised, by probe."""
    with LdapDirectory(config_for(shared_slapd, base_dn=f"ou=staff,{SUFFIX}")) as directory:
        assert directory.probe()["base_dn_found"] == "no"


def test_probe_raises_when_unreachable(own_slapd: ThrowawaySlapd) -> None:
    """probe raises DirectoryUnavailableError when the server is down."""
    config = config_for(own_slapd)
    own_slapd.stop()
    with LdapDirectory(config) as directory, pytest.raises(DirectoryUnavailableError):
        directory.probe()


@pytest.mark.parametrize(
    ("dse", "expected"),
    [
        (
            {"vendorname": ["389 Project"], "vendorversion": ["389-Directory/2.4"]},
            ("389 Project", "389-Directory/2.4"),
        ),
        ({"supportedcapabilities": ["1.2.840.113556.1.4.800"]}, ("Active Directory", "unknown")),
        ({"objectclass": ["top", "OpenLDAProotDSE"]}, ("OpenLDAP", "unknown")),
        ({"namingcontexts": ["dc=x"]}, ("unknown", "unknown")),
    ],
)
def test_vendor_guess(dse: dict[str, list[str]], expected: tuple[str, str]) -> None:
    """vendorName wins; otherwise OpenLDAP and Active Directory are recognised by their hints."""
    assert vendor_of(dse) == expected
