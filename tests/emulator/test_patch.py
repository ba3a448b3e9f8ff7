"""RFC 7644 PATCH on a user's attributes (pure)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from webex_provisioner.emulator import patch
from webex_provisioner.emulator.errors import ScimError

from .helpers import CISCO, ENTERPRISE

USER: dict[str, Any] = {
    "userName": "alice@example.com",
    "active": True,
    "title": "Engineer",
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+1 111", "type": "work"}, {"value": "+1 222", "type": "mobile"}],
    "addresses": [{"type": "work", "locality": "Paris", "country": "FR"}],
    ENTERPRISE: {"department": "Sales"},
}


def apply(*operations: dict[str, Any], user: dict[str, Any] | None = None) -> dict[str, Any]:
    return patch.apply(user if user is not None else USER, list(operations))


def refused(*operations: dict[str, Any]) -> ScimError:
    with pytest.raises(ScimError) as caught:
        apply(*operations)
    assert caught.value.status == 400
    return caught.value


def test_input_is_not_changed() -> None:
    """PATCH returns new attributes and leaves the given ones untouched."""
    before = copy.deepcopy(USER)
    apply({"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 999"})
    assert before == USER


@pytest.mark.parametrize("op", ["replace", "Replace", "REPLACE"])
def test_operation_names_ignore_case(op: str) -> None:
    """``op`` is matched case-insensitively (Entra sends ``Replace``)."""
    assert apply({"op": op, "path": "active", "value": False})["active"] is False


def test_replace_simple_attribute() -> None:
    """``replace`` with a path sets a simple attribute."""
    assert apply({"op": "replace", "path": "title", "value": "Manager"})["title"] == "Manager"


def test_replace_of_a_missing_attribute_adds_it() -> None:
    """``replace`` on an attribute the user lacks acts as ``add``."""
    assert apply({"op": "replace", "path": "nickName", "value": "Al"})["nickName"] == "Al"


def test_attribute_names_ignore_case() -> None:
    """Paths are resolved case-insensitively to the canonical attribute name."""
    result = apply({"op": "replace", "path": "NAME.GIVENNAME", "value": "Alicia"})
    assert result["name"] == {"givenName": "Alicia", "familyName": "Liddell"}


def test_sub_attribute_path_keeps_the_siblings() -> None:
    """``name.givenName`` changes only that sub-attribute."""
    result = apply({"op": "add", "path": "name.middleName", "value": "P"})
    assert result["name"] == {"givenName": "Alice", "familyName": "Liddell", "middleName": "P"}


def test_remove_last_sub_attribute_removes_the_parent() -> None:
    """Removing the only sub-attribute of a complex attribute leaves no empty object behind."""
    user = {**USER, "name": {"givenName": "Alice"}}
    assert "name" not in apply({"op": "remove", "path": "name.givenName"}, user=user)


def test_replace_complex_attribute_merges() -> None:
    """``replace`` of ``name`` with an object replaces the given sub-attributes and keeps the others."""
    result = apply({"op": "replace", "path": "name", "value": {"familyName": "Smith"}})
    assert result["name"] == {"givenName": "Alice", "familyName": "Smith"}


def test_value_path_replace() -> None:
    """``phoneNumbers[type eq "work"].value`` replaces the value of the matching element only."""
    result = apply({"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 999"})
    assert result["phoneNumbers"] == [
        {"value": "+1 999", "type": "work"},
        {"value": "+1 222", "type": "mobile"},
    ]


def test_value_path_filter_ignores_case() -> None:
    """Value filters compare strings case-insensitively."""
    result = apply({"op": "replace", "path": 'phoneNumbers[TYPE EQ "WORK"].value', "value": "+1 999"})
    assert result["phoneNumbers"][0]["value"] == "+1 999"


def test_value_path_on_addresses_and_emails() -> None:
    """``addresses[type eq "work"].locality`` and ``emails[type eq "work"].value`` target sub-attributes."""
    result = apply(
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Lyon"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "alice2@example.com"},
    )
    assert result["addresses"] == [{"type": "work", "locality": "Lyon", "country": "FR"}]
    assert result["emails"][0]["value"] == "alice2@example.com"


def test_value_path_add_creates_the_element() -> None:
    """``add`` through a value filter matching nothing adds an element built from the filter."""
    result = apply({"op": "add", "path": 'phoneNumbers[type eq "fax"].value', "value": "+1 333"})
    assert result["phoneNumbers"][-1] == {"type": "fax", "value": "+1 333"}


def test_value_path_add_to_a_missing_attribute() -> None:
    """The element is created even when the multi-valued attribute does not exist yet."""
    result = apply({"op": "add", "path": 'addresses[type eq "home"].locality', "value": "Nice"}, user={})
    assert result["addresses"] == [{"type": "home", "locality": "Nice"}]


@pytest.mark.parametrize("op", ["replace", "remove"])
def test_value_path_without_match_is_no_target(op: str) -> None:
    """A value filter matching nothing on ``replace``/``remove`` is 400 noTarget."""
    error = refused({"op": op, "path": 'phoneNumbers[type eq "fax"].value', "value": "1"})
    assert error.scim_type == "noTarget"


def test_remove_without_path_is_no_target() -> None:
    """``remove`` needs a path: 400 noTarget."""
    assert refused({"op": "remove"}).scim_type == "noTarget"


def test_value_path_remove_element() -> None:
    """``remove`` with a value filter drops the matching elements."""
    result = apply({"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'})
    assert result["phoneNumbers"] == [{"value": "+1 111", "type": "work"}]


def test_value_path_remove_of_every_element_removes_the_attribute() -> None:
    """Removing the last elements removes the attribute."""
    assert "addresses" not in apply({"op": "remove", "path": 'addresses[type eq "work"]'})


def test_value_path_remove_sub_attribute() -> None:
    """``remove`` of ``addresses[...].locality`` drops that sub-attribute only."""
    result = apply({"op": "remove", "path": 'addresses[type eq "work"].locality'})
    assert result["addresses"] == [{"type": "work", "country": "FR"}]


def test_value_path_replace_whole_element() -> None:
    """``replace`` of ``phoneNumbers[...]`` replaces the matching element by the value."""
    result = apply(
        {"op": "replace", "path": 'phoneNumbers[type eq "mobile"]', "value": {"value": "3", "type": "fax"}}
    )
    assert result["phoneNumbers"][1] == {"value": "3", "type": "fax"}


def test_add_to_multi_valued_appends() -> None:
    """``add`` to a multi-valued attribute appends, skipping values already present."""
    new = {"value": "+1 333", "type": "fax"}
    result = apply({"op": "add", "path": "phoneNumbers", "value": [new, USER["phoneNumbers"][0]]})
    assert result["phoneNumbers"] == [*USER["phoneNumbers"], new]


def test_replace_multi_valued_replaces_all() -> None:
    """``replace`` of a multi-valued attribute replaces every value."""
    result = apply({"op": "replace", "path": "phoneNumbers", "value": [{"value": "9", "type": "work"}]})
    assert result["phoneNumbers"] == [{"value": "9", "type": "work"}]


def test_remove_multi_valued_with_value() -> None:
    """``remove`` of a multi-valued attribute with a value drops just those values."""
    result = apply({"op": "remove", "path": "phoneNumbers", "value": [{"value": "+1 222"}]})
    assert result["phoneNumbers"] == [{"value": "+1 111", "type": "work"}]


def test_remove_simple_attribute() -> None:
    """``remove`` of a simple attribute deletes it; removing a missing one is harmless."""
    result = apply({"op": "remove", "path": "title"}, {"op": "remove", "path": "nickName"})
    assert "title" not in result


def test_enterprise_path_with_urn() -> None:
    """Enterprise attributes are addressed with the extension URN prefix."""
    result = apply({"op": "replace", "path": f"{ENTERPRISE}:department", "value": "Marketing"})
    assert result[ENTERPRISE] == {"department": "Marketing"}


def test_enterprise_manager_by_id() -> None:
    """``manager`` takes ``{"value": id}``; a bare id (as Entra sends it) is accepted too."""
    result = apply({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": "boss-id"}})
    assert result[ENTERPRISE]["manager"] == {"value": "boss-id"}
    result = apply({"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "other-id"})
    assert result[ENTERPRISE]["manager"] == {"value": "other-id"}


def test_remove_enterprise_attribute() -> None:
    """``remove`` with an extension path deletes the attribute."""
    assert apply({"op": "remove", "path": f"{ENTERPRISE}:department"})[ENTERPRISE] == {}


def test_cisco_extension_attribute() -> None:
    """``extensionAttribute1`` is a multi-valued string attribute of the Cisco extension."""
    result = apply({"op": "add", "path": f"{CISCO}:extensionAttribute1", "value": ["a", "b"]})
    assert result[CISCO] == {"extensionAttribute1": ["a", "b"]}
    result = apply({"op": "replace", "path": f"{CISCO}:extensionAttribute1", "value": "c"}, user=result)
    assert result[CISCO] == {"extensionAttribute1": ["c"]}


def test_whole_extension_path() -> None:
    """A path naming an extension URN targets the whole extension object."""
    result = apply({"op": "add", "path": ENTERPRISE, "value": {"costCenter": "42"}})
    assert result[ENTERPRISE] == {"department": "Sales", "costCenter": "42"}
    assert ENTERPRISE not in apply({"op": "remove", "path": ENTERPRISE})


def test_without_path_value_is_an_object_of_attributes() -> None:
    """Without a path, each key of the value is an attribute, extensions by URN, dotted names allowed."""
    result = apply(
        {
            "op": "replace",
            "value": {
                "title": "CTO",
                "name.givenName": "Alicia",
                "active": False,
                ENTERPRISE: {"department": "R&D"},
                "id": "ignored",
                "schemas": ["ignored"],
            },
        }
    )
    assert (result["title"], result["name"]["givenName"], result["active"]) == ("CTO", "Alicia", False)
    assert result[ENTERPRISE]["department"] == "R&D"
    assert "id" not in result and "schemas" not in result


def test_add_without_path_appends_multi_valued() -> None:
    """``add`` without a path appends to multi-valued attributes like ``add`` with a path."""
    result = apply({"op": "add", "value": {"phoneNumbers": [{"value": "5", "type": "fax"}]}})
    assert len(result["phoneNumbers"]) == 3


def test_operations_apply_in_order() -> None:
    """Operations are applied one after the other."""
    result = apply(
        {"op": "add", "path": "nickName", "value": "A"},
        {"op": "replace", "path": "nickName", "value": "B"},
        {"op": "remove", "path": "title"},
    )
    assert result["nickName"] == "B" and "title" not in result


@pytest.mark.parametrize(
    ("operation", "scim_type"),
    [
        ({"op": "move", "path": "title"}, "invalidSyntax"),
        ({"path": "title", "value": "x"}, "invalidSyntax"),
        ({"op": "add", "path": 7, "value": "x"}, "invalidSyntax"),
        ({"op": "add", "value": "not an object"}, "invalidSyntax"),
        ({"op": "replace", "path": "nosuch", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "name.nosuch", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'title[type eq "x"]', "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "work"].nosuch', "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "urn:example:unknown:attr", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": 'emails[type eq "work" and]', "value": "x"}, "invalidFilter"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "meta.created", "value": "x"}, "mutability"),
        ({"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "name", "value": "not an object"}, "invalidValue"),
    ],
)
def test_invalid_operations(operation: dict[str, Any], scim_type: str) -> None:
    """Malformed operations, unknown paths and read-only targets are refused with the matching scimType."""
    assert refused(operation).scim_type == scim_type


def test_operations_must_be_a_non_empty_array() -> None:
    """A PatchOp needs at least one operation."""
    operations: object
    for operations in ([], None, {"op": "add"}):
        with pytest.raises(ScimError, match="Operations"):
            patch.apply(USER, operations)
