"""Active Directory pieces without a server: bind sub-codes, the DirSync control encoding, page
size, server kind, filter attributes and the change detection description."""

from __future__ import annotations

import pytest
from pyasn1.codec.ber import encoder
from pyasn1.type import namedtype, univ

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory.ad import bind_failure, bind_subcode, page_size
from webex_provisioner.directory.ad_changes import attribute_names, watched_attributes
from webex_provisioner.directory.adcontrols import DirSyncControl, decode_dirsync_request
from webex_provisioner.directory.capabilities import change_detection, server_kind

AD_TEXT = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {}, v4563"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("52e", "the password is wrong"),
        ("525", "no account has this name"),
        ("530", "logon hours"),
        ("531", "from this computer"),
        ("532", "password has expired"),
        ("533", "the account is disabled"),
        ("701", "the account has expired"),
        ("773", "must be changed"),
        ("775", "locked out"),
    ],
)
def test_bind_subcodes(code: str, words: str) -> None:
    """Each AD sub-code becomes its meaning, the code, and a fix naming what to do."""
    message = bind_failure(AD_TEXT.format(code))
    assert message is not None
    assert words in message and f"code {code}" in message and ";" in message


def test_bind_text_without_a_known_subcode() -> None:
    """OpenLDAP's text, or an unknown sub-code, gives no AD message (the generic one is used)."""
    assert bind_failure("Invalid credentials") is None
    assert bind_failure(AD_TEXT.format("999")) is None
    assert bind_subcode(AD_TEXT.format("0000052E")) == "52e"


def test_dirsync_request_encoding() -> None:
    """The request value is SEQUENCE {flags, maxBytes, cookie}, the 0x80000000 flag as a signed
    32-bit integer, as Windows reads it."""
    control = DirSyncControl(b"cookie-1", max_bytes=4096)
    encoded = control.encodeControlValue()
    flags, max_bytes, cookie = decode_dirsync_request(encoded)
    assert (flags, max_bytes, cookie) == (0x80000800, 4096, b"cookie-1")
    assert b"\x02\x04\x80\x00\x08\x00" in encoded  # INTEGER, 4 bytes, two's complement
    assert control.criticality


def test_dirsync_response_decoding() -> None:
    """The response value gives moreResults and the next cookie."""

    class Response(univ.Sequence):  # type: ignore[misc]
        componentType = namedtype.NamedTypes(  # noqa: N815
            namedtype.NamedType("more", univ.Integer()),
            namedtype.NamedType("unused", univ.Integer()),
            namedtype.NamedType("cookie", univ.OctetString()),
        )

    value = Response()
    value["more"], value["unused"], value["cookie"] = 1, 0, b"next"
    control = DirSyncControl()
    control.decodeControlValue(encoder.encode(value))
    assert control.more_results and control.cookie == b"next"


def test_page_size_is_capped_for_active_directory_only() -> None:
    """AD never asks for more than MaxPageSize (1000); other types ask for what is configured."""
    assert page_size("activedirectory", 5000) == 1000
    assert page_size("activedirectory", 200) == 200
    assert page_size("openldap", 5000) == 5000


@pytest.mark.parametrize(
    ("dse", "kind"),
    [
        (
            {"supportedcapabilities": ["1.2.840.113556.1.4.800"], "vendorname": ["Samba Team"]},
            "activedirectory",
        ),
        ({"vendorname": ["389 Project"]}, "389ds"),
        ({"vendorname": ["Ping Identity Corporation"]}, "pingdirectory"),
        ({"objectclass": ["top", "OpenLDAProotDSE"]}, "openldap"),
        ({}, "generic"),
    ],
)
def test_server_kind(dse: dict[str, list[str]], kind: str) -> None:
    """The root DSE tells which directory.type a server looks like."""
    assert server_kind(dse) == kind


def test_attribute_names_of_filters() -> None:
    """The attributes a filter tests, including extensible matches; DirSync watches them."""
    assert attribute_names(
        "(&(objectCategory=person)(userAccountControl:1.2.840.113556.1.4.803:=2)(cn>=a))"
    ) == {
        "objectCategory",
        "userAccountControl",
        "cn",
    }
    ad = DirectoryConfig.model_validate({"type": "activedirectory", "url": "ldap://x", "base_dn": "dc=x"})
    assert watched_attributes(ad) == {"member", "userAccountControl"}


def test_change_detection_description() -> None:
    """check's change_detection line follows the mode, the type and what the server offers."""
    ad = DirectoryConfig.model_validate({"type": "activedirectory", "url": "ldap://x", "base_dn": "dc=x"})
    dse = {"dnshostname": ["dc1.example.test"]}
    assert change_detection(ad, dse, dirsync=True).startswith("DirSync")
    assert change_detection(ad, dse, dirsync=False).startswith(
        "uSNChanged on the pinned domain controller dc1"
    )
    usn = ad.model_copy(update={"change_detection": "usn"})
    assert change_detection(usn, dse, dirsync=True).startswith("uSNChanged")
    ldap_config = DirectoryConfig.model_validate({"url": "ldap://x", "base_dn": "dc=x"})
    assert change_detection(
        ldap_config, {"supportedcontrol": ["1.3.6.1.4.1.4203.1.9.1.1"]}, dirsync=False
    ) == ("content sync (RFC 4533)")
    assert change_detection(ldap_config, {}, dirsync=False).startswith("modifyTimestamp polling")
    off = ldap_config.model_copy(update={"change_detection": "none"})
    assert change_detection(off, {}, dirsync=False).startswith("none")
