"""directory.type presets: defaults per server family, explicit keys always win."""

from __future__ import annotations

from typing import Any

import pytest

from webex_provisioner.config import parse_config
from webex_provisioner.config.presets import PRESETS, fill_directory, fill_mapping
from webex_provisioner.errors import ConfigError

WEBEX = {"org_id": "3f1c0a4e-0000-4000-8000-000000000001", "token": "t"}


def config(directory: dict[str, Any], **top: Any) -> Any:
    raw = {
        "directory": {"url": "ldap://127.0.0.1:3389", "base_dn": "dc=example,dc=com", **directory},
        "webex": WEBEX,
    }
    return parse_config({**raw, **top}, env={})


def test_activedirectory_preset() -> None:
    """type: activedirectory gives AD's user filter, objectGUID anchor, userAccountControl disabled
    filter, groups, page size 1000 and the AD mapping including manager."""
    c = config({"type": "activedirectory"})
    d = c.directory
    assert d.user_filter == "(&(objectCategory=person)(objectClass=user))"
    assert d.anchor == "objectGUID"
    assert d.disabled_filter == "(userAccountControl:1.2.840.113556.1.4.803:=2)"
    assert d.group_filter == "(objectClass=group)"
    assert d.member_attributes == ["member"]
    assert d.page_size == 1000
    assert {k: r.source for k, r in c.mapping.items()} == {
        "email": "mail",
        "firstName": "givenName",
        "lastName": "sn",
        "displayName": "displayName",
        "title": "title",
        "department": "department",
        "workPhone": "telephoneNumber",
        "mobilePhone": "mobile",
        "manager": "manager",
    }
    assert c.mapping["manager"].unresolved == "omit"  # a manager out of scope never holds a user back


@pytest.mark.parametrize(
    ("kind", "anchor", "disabled"),
    [
        ("389ds", "nsUniqueId", "(nsAccountLock=TRUE)"),
        ("pingdirectory", "entryUUID", "(ds-pwp-account-disabled=true)"),
        ("openldap", "entryUUID", None),
        ("generic", "entryUUID", None),
    ],
)
def test_other_presets(kind: str, anchor: str, disabled: str | None) -> None:
    """389 DS, PingDirectory, OpenLDAP and generic get their anchor and disabled filter, and the
    basic mapping."""
    c = config({"type": kind})
    assert (c.directory.anchor, c.directory.disabled_filter) == (anchor, disabled)
    assert set(c.mapping) == {"email", "firstName", "lastName", "displayName"}


def test_no_type_is_openldap_as_before() -> None:
    """Without type, the defaults are the OpenLDAP ones the configuration always had."""
    d = config({}).directory
    assert d.type == "openldap"
    assert (d.user_filter, d.anchor, d.disabled_filter, d.page_size) == (
        "(objectClass=inetOrgPerson)",
        "entryUUID",
        None,
        500,
    )


def test_explicit_keys_win_even_null() -> None:
    """Keys the configuration sets are kept, including an explicit null disabled_filter, and an
    explicit mapping replaces the preset's whole."""
    c = config(
        {"type": "activedirectory", "anchor": "sAMAccountName", "disabled_filter": None, "page_size": 200},
        mapping={"email": "userPrincipalName"},
    )
    assert (c.directory.anchor, c.directory.disabled_filter, c.directory.page_size) == (
        "sAMAccountName",
        None,
        200,
    )
    assert c.directory.user_filter == "(&(objectCategory=person)(objectClass=user))"
    assert list(c.mapping) == ["email"]


def test_unknown_type_is_a_config_error_naming_the_choices() -> None:
    """A misspelt type is reported at directory.type with the accepted values."""
    with pytest.raises(ConfigError) as raised:
        config({"type": "ad"})
    assert any(p.startswith("directory.type:") and "activedirectory" in p for p in raised.value.problems)


@pytest.mark.parametrize(
    ("kind", "mode", "expected"),
    [
        ("openldap", "dirsync", "works with Active Directory only"),
        ("389ds", "usn", "works with Active Directory only"),
        ("activedirectory", "content_sync", "does not offer content sync"),
    ],
)
def test_change_detection_must_fit_the_type(kind: str, mode: str, expected: str) -> None:
    """dirsync and usn need Active Directory; AD has no content sync: each is a config error."""
    with pytest.raises(ConfigError, match=expected):
        config({"type": kind, "change_detection": mode})


def test_fill_functions_leave_what_they_cannot_read() -> None:
    """Not-a-mapping input and unknown types pass through for validation to report."""
    assert fill_directory("text") == "text"
    assert fill_directory({"type": "nope"}) == {"type": "nope"}
    assert fill_mapping({"directory": {"type": "nope"}}) == {"directory": {"type": "nope"}}
    assert set(PRESETS) == {"openldap", "activedirectory", "389ds", "pingdirectory", "generic"}
