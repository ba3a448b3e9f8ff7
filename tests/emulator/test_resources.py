"""Validation, Webex's defaults and rules, and attribute projection of the User resource (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from webex_provisioner.emulator import resources
from webex_provisioner.emulator.errors import ScimError

from .helpers import CISCO, CORE, ENTERPRISE, ORG


def build(attributes: dict[str, Any], previous_user_name: str | None = None) -> dict[str, Any]:
    return resources.build(
        resources.normalise(attributes),
        user_id="u-1",
        org_id=ORG,
        created="2026-01-01T00:00:00.000Z",
        modified="2026-01-01T00:00:00.000Z",
        version=1,
        previous_user_name=previous_user_name,
    )


def invalid(attributes: dict[str, Any]) -> ScimError:
    with pytest.raises(ScimError) as caught:
        build(attributes)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidValue"
    return caught.value


def test_defaults_and_system_attributes() -> None:
    """A new user gets active, userType, the primary work e-mail, all schemas, the Cisco block and meta."""
    user = build({"userName": "alice@example.com"})
    assert user["schemas"] == [CORE, ENTERPRISE, CISCO]
    assert user["active"] is True
    assert user["userType"] == "user"
    assert user["emails"] == [{"value": "alice@example.com", "type": "work", "primary": True}]
    assert user[CISCO] == {"accountStatus": ["active"], "meta": {"organizationId": ORG}}
    assert user["meta"] == {
        "resourceType": "User",
        "created": "2026-01-01T00:00:00.000Z",
        "lastModified": "2026-01-01T00:00:00.000Z",
        "version": 'W/"1"',
    }


def test_inactive_user_account_status() -> None:
    """``accountStatus`` follows ``active``: ["disabled"] for an inactive user."""
    assert build({"userName": "a@example.com", "active": False})[CISCO]["accountStatus"] == ["disabled"]


def test_string_booleans_are_accepted() -> None:
    """``"False"``/``"true"`` strings (as Entra sends them) are read as booleans."""
    assert build({"userName": "a@example.com", "active": "False"})["active"] is False


def test_other_emails_are_kept_and_primary_work_added() -> None:
    """A home e-mail is kept and the primary work e-mail equal to userName is added, as Webex does."""
    user = build(
        {
            "userName": "a@example.com",
            "emails": [{"value": "a@home.example", "type": "home", "primary": True}],
        }
    )
    assert user["emails"] == [
        {"value": "a@home.example", "type": "home", "primary": False},
        {"value": "a@example.com", "type": "work", "primary": True},
    ]


def test_email_equal_to_username_becomes_primary_work() -> None:
    """An e-mail already equal to userName becomes the primary work one instead of being duplicated."""
    user = build({"userName": "a@example.com", "emails": [{"value": "A@example.com"}]})
    assert user["emails"] == [{"value": "A@example.com", "type": "work", "primary": True}]


def test_primary_work_email_must_equal_username() -> None:
    """A primary work e-mail different from userName is refused (Webex's rule)."""
    error = invalid(
        {"userName": "a@example.com", "emails": [{"value": "b@example.com", "type": "work", "primary": True}]}
    )
    assert "userName" in error.detail


def test_primary_work_email_follows_a_rename() -> None:
    """When userName changes, the primary work e-mail changes with it."""
    user = build(
        {
            "userName": "new@example.com",
            "emails": [{"value": "old@example.com", "type": "work", "primary": True}],
        },
        previous_user_name="old@example.com",
    )
    assert user["emails"] == [{"value": "new@example.com", "type": "work", "primary": True}]


@pytest.mark.parametrize(
    "user_name", ["alice", "alice@", "@example.com", "alice@example", "a b@example.com", ""]
)
def test_username_must_be_an_email(user_name: str) -> None:
    """userName must be an e-mail address."""
    invalid({"userName": user_name})


def test_username_is_required() -> None:
    """A user without userName is refused."""
    assert "userName" in invalid({"displayName": "x"}).detail


@pytest.mark.parametrize(
    ("attributes", "named"),
    [
        ({"userName": "a" * 243 + "@example.com"}, "userName"),
        ({"displayName": "x" * 513}, "displayName"),
        ({"nickName": "x" * 257}, "nickName"),
        ({"title": "x" * 513}, "title"),
        ({"externalId": "x" * 257}, "externalId"),
        ({"profileUrl": "x" * 1001}, "profileUrl"),
        ({"name": {"givenName": "x" * 257}}, "name.givenName"),
        ({"name": {"familyName": "x" * 257}}, "name.familyName"),
        ({"name": {"formatted": "x" * 513}}, "name.formatted"),
        ({"addresses": [{"streetAddress": "x" * 513}]}, "addresses.streetAddress"),
        ({"addresses": [{"locality": "x" * 129}]}, "addresses.locality"),
        ({"addresses": [{"region": "x" * 65}]}, "addresses.region"),
        ({"addresses": [{"postalCode": "x" * 65}]}, "addresses.postalCode"),
        ({"addresses": [{"type": "work"}] * 11}, "addresses"),
        ({"emails": [{"value": f"{n}@example.com"} for n in range(11)]}, "emails"),
        ({"emails": [{"value": f"{n}@example.com"} for n in range(10)]}, "emails"),  # + the primary one
        ({"phoneNumbers": [{"value": str(n)} for n in range(51)]}, "phoneNumbers"),
        ({ENTERPRISE: {"department": "x" * 513}}, "department"),
        ({ENTERPRISE: {"costCenter": "x" * 257}}, "costCenter"),
        ({ENTERPRISE: {"employeeNumber": "x" * 257}}, "employeeNumber"),
        ({ENTERPRISE: {"manager": {"value": "x" * 513}}}, "manager.value"),
        ({CISCO: {"extensionAttribute1": ["x"] * 101}}, "extensionAttribute1"),
    ],
)
def test_schema_limits(attributes: dict[str, Any], named: str) -> None:
    """Webex's lengths and value counts are enforced with 400 invalidValue naming the attribute."""
    attributes.setdefault("userName", "a@example.com")
    assert named in invalid(attributes).detail


def test_values_at_the_limits_are_accepted() -> None:
    """Values exactly at a limit pass."""
    user = build(
        {
            "userName": "a" * 242 + "@example.com",
            "displayName": "x" * 512,
            "name": {"givenName": "x" * 256},
            "emails": [{"value": f"{n}@example.com"} for n in range(9)],
        }
    )
    assert len(user["emails"]) == 10


@pytest.mark.parametrize(
    ("attributes", "fragment"),
    [
        ({"displayName": 5}, "displayName must be a string"),
        ({"active": "yes"}, "active must be a boolean"),
        ({"emails": {"value": "x"}}, "emails must be an array"),
        ({"name": "Alice"}, "name must be an object"),
        ({"name": {"nickname": "x"}}, "no sub-attribute"),
        ({"nosuch": "x"}, "unknown attribute"),
        ({ENTERPRISE: {"nosuch": "x"}}, "unknown attribute"),
        ({ENTERPRISE: "Sales"}, "must be an object"),
    ],
)
def test_type_errors(attributes: dict[str, Any], fragment: str) -> None:
    """Wrong types and unknown attributes of known schemas are refused with a message naming them."""
    attributes.setdefault("userName", "a@example.com")
    assert fragment in invalid(attributes).detail


def test_read_only_and_unknown_schemas_are_ignored() -> None:
    """Read-only attributes (id, meta, groups, manager.displayName, ...) and unknown schemas are ignored."""
    user = build(
        {
            "userName": "a@example.com",
            "id": "client-id",
            "meta": {"created": "1999"},
            "groups": [{"value": "g"}],
            "password": "secret",
            "urn:example:unknown:2.0:User": {"x": 1},
            ENTERPRISE: {"manager": {"value": "m", "displayName": "Boss", "$ref": "http://x"}},
            CISCO: {"accountStatus": ["fraud"], "provisionSource": "AD", "meta": {"organizationId": "other"}},
        }
    )
    assert user["id"] == "u-1"
    assert "groups" not in user and "password" not in user
    assert user[ENTERPRISE] == {"manager": {"value": "m"}}
    assert user[CISCO] == {"accountStatus": ["active"], "meta": {"organizationId": ORG}}


def test_attribute_names_ignore_case() -> None:
    """Input attribute names are case-insensitive and stored in canonical spelling."""
    user = build(
        {"USERNAME": "a@example.com", "Name": {"GIVENNAME": "A"}, ENTERPRISE.upper(): {"Department": "S"}}
    )
    assert user["userName"] == "a@example.com"
    assert user["name"] == {"givenName": "A"}
    assert user[ENTERPRISE] == {"department": "S"}


def test_nulls_and_empty_values_are_dropped() -> None:
    """null means unassigned: such attributes are not stored."""
    user = build({"userName": "a@example.com", "title": None, "phoneNumbers": [], ENTERPRISE: {}})
    assert "title" not in user and "phoneNumbers" not in user and ENTERPRISE not in user


def test_require_core_schema() -> None:
    """POST/PUT bodies must list the core User schema."""
    resources.require_core_schema({"schemas": [CORE.upper()]})
    bodies: list[dict[str, Any]] = [{}, {"schemas": []}, {"schemas": [ENTERPRISE]}, {"schemas": CORE}]
    for body in bodies:
        with pytest.raises(ScimError) as caught:
            resources.require_core_schema(body)
        assert caught.value.scim_type == "invalidSyntax"


def test_client_attributes_drop_what_the_server_maintains() -> None:
    """The PATCH input has no id, schemas, meta, accountStatus nor organization id."""
    attributes = resources.client_attributes(
        build({"userName": "a@example.com", CISCO: {"mfaEnabled": True}})
    )
    assert set(attributes) == {"userName", "active", "userType", "emails", CISCO}
    assert attributes[CISCO] == {"mfaEnabled": True}


class TestProjection:
    """``attributes`` and ``excludedAttributes`` (RFC 7644 §3.9)."""

    USER = resources.render(
        build(
            {
                "userName": "a@example.com",
                "displayName": "A",
                "name": {"givenName": "A", "familyName": "B"},
                ENTERPRISE: {"department": "S", "costCenter": "C"},
            }
        ),
        "http://localhost/Users/u-1",
    )

    def test_attributes_keep_only_those_plus_id_and_schemas(self) -> None:
        """``attributes=userName,displayName`` returns those, ``id`` and ``schemas`` only."""
        result = resources.project(self.USER, ["userName", "displayName"], None)
        assert set(result) == {"schemas", "id", "userName", "displayName"}

    def test_attributes_with_sub_attributes_and_urns(self) -> None:
        """Sub-attributes, extension URNs and URN-prefixed names can be asked for."""
        result = resources.project(self.USER, ["name.givenName", f"{ENTERPRISE}:department", CISCO], None)
        assert result["name"] == {"givenName": "A"}
        assert result[ENTERPRISE] == {"department": "S"}
        assert result[CISCO] == self.USER[CISCO]

    def test_whole_extension_by_urn(self) -> None:
        """An extension URN in ``attributes`` returns the whole extension."""
        assert resources.project(self.USER, [ENTERPRISE], None)[ENTERPRISE] == self.USER[ENTERPRISE]

    def test_excluded_attributes(self) -> None:
        """``excludedAttributes`` drops attributes, sub-attributes and extension parts, never id."""
        result = resources.project(
            self.USER,
            None,
            ["displayName", "name.familyName", f"{ENTERPRISE}:costCenter", "id", "meta.version"],
        )
        assert "displayName" not in result
        assert result["name"] == {"givenName": "A"}
        assert result[ENTERPRISE] == {"department": "S"}
        assert result["id"] == "u-1"
        assert "version" not in result["meta"] and "created" in result["meta"]

    def test_unknown_names_are_ignored(self) -> None:
        """Unknown attribute names in a projection are ignored."""
        assert resources.project(self.USER, ["nosuch"], None) == {
            "schemas": self.USER["schemas"],
            "id": "u-1",
        }
