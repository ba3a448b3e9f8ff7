"""Flat attributes ⇄ Webex SCIM User resources, and changes → PatchOp (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from webex_provisioner.model import Change
from webex_provisioner.model.attributes import WEBEX_ATTRIBUTES
from webex_provisioner.webex import scim
from webex_provisioner.webex.scim import CISCO, CORE, ENTERPRISE, PATCH_OP

EMAIL = "alice@example.com"

# Where each flat key lives in a SCIM User resource, as (key, value, expected resource fragment).
LOCATIONS: list[tuple[str, dict[str, Any]]] = [
    ("firstName", {"name": {"givenName": "V"}}),
    ("lastName", {"name": {"familyName": "V"}}),
    ("displayName", {"displayName": "V"}),
    ("nickName", {"nickName": "V"}),
    ("title", {"title": "V"}),
    ("preferredLanguage", {"preferredLanguage": "V"}),
    ("locale", {"locale": "V"}),
    ("timezone", {"timezone": "V"}),
    ("externalId", {"externalId": "V"}),
    ("department", {ENTERPRISE: {"department": "V"}}),
    ("employeeNumber", {ENTERPRISE: {"employeeNumber": "V"}}),
    ("costCenter", {ENTERPRISE: {"costCenter": "V"}}),
    ("organization", {ENTERPRISE: {"organization": "V"}}),
    ("division", {ENTERPRISE: {"division": "V"}}),
    ("manager", {ENTERPRISE: {"manager": {"value": "V"}}}),
    ("workPhone", {"phoneNumbers": [{"type": "work", "value": "V"}]}),
    ("mobilePhone", {"phoneNumbers": [{"type": "mobile", "value": "V"}]}),
    ("extension", {"phoneNumbers": [{"type": "work_extension", "value": "V"}]}),
    ("street", {"addresses": [{"type": "work", "streetAddress": "V"}]}),
    ("city", {"addresses": [{"type": "work", "locality": "V"}]}),
    ("state", {"addresses": [{"type": "work", "region": "V"}]}),
    ("postalCode", {"addresses": [{"type": "work", "postalCode": "V"}]}),
    ("country", {"addresses": [{"type": "work", "country": "V"}]}),
    ("avatar", {"photos": [{"value": "V", "type": "photo"}]}),
    *[(f"extensionAttribute{i}", {CISCO: {f"extensionAttribute{i}": ["V"]}}) for i in range(1, 16)],
]


def test_locations_cover_every_mapping_key() -> None:
    """Every key the mapping can produce has a documented SCIM location in these tests."""
    assert {k for k, _ in LOCATIONS} | {"email"} == set(WEBEX_ATTRIBUTES)


def _base(active: bool = True) -> dict[str, Any]:
    return {
        "schemas": [CORE, ENTERPRISE, CISCO],
        "userName": EMAIL,
        "userType": "user",
        "active": active,
        "emails": [{"value": EMAIL, "type": "work", "primary": True}],
    }


def test_email_becomes_username_and_primary_work_email() -> None:
    """``email`` is the userName and the primary work e-mail; the body names all three schemas
    and userType "user"."""
    assert scim.to_resource({"email": EMAIL}, active=True) == _base()


def test_inactive_user_body() -> None:
    """``active=False`` creates the user inactive."""
    assert scim.to_resource({"email": EMAIL}, active=False)["active"] is False


@pytest.mark.parametrize(("key", "fragment"), LOCATIONS, ids=[k for k, _ in LOCATIONS])
def test_each_key_to_resource(key: str, fragment: dict[str, Any]) -> None:
    """Each flat key lands exactly where Webex keeps it, and nothing else is added."""
    assert scim.to_resource({"email": EMAIL, key: "V"}, active=True) == {**_base(), **fragment}


@pytest.mark.parametrize(("key", "fragment"), LOCATIONS, ids=[k for k, _ in LOCATIONS])
def test_each_key_from_resource(key: str, fragment: dict[str, Any]) -> None:
    """Each SCIM location reads back as its flat key."""
    user = scim.from_resource({"id": "u-1", **_base(), **fragment})
    assert user.attributes == {"email": EMAIL, key: "V"}


def test_full_round_trip() -> None:
    """A user with every key set survives to_resource → from_resource unchanged, phones and
    address fields sharing their entries."""
    attributes = {key: f"value of {key}" for key in WEBEX_ATTRIBUTES}
    attributes["email"] = EMAIL
    resource = scim.to_resource(attributes, active=False)
    assert len(resource["phoneNumbers"]) == 3
    assert len(resource["addresses"]) == 1
    user = scim.from_resource({"id": "u-9", **resource})
    assert (user.id, user.email, user.active) == ("u-9", EMAIL, False)
    assert user.attributes == attributes


@pytest.mark.parametrize(("key", "fragment"), LOCATIONS, ids=[k for k, _ in LOCATIONS])
def test_a_reading_of_some_keys_reads_those_and_no_others(key: str, fragment: dict[str, Any]) -> None:
    """``reading(keys)`` reads each key wherever it lives, and leaves every other key of a full
    resource (and ``meta.created``) unread; the e-mail and the state are always read."""
    attributes = {k: f"value of {k}" for k in WEBEX_ATTRIBUTES}
    attributes["email"] = EMAIL
    resource = {
        "id": "u-9",
        **scim.to_resource(attributes, active=False),
        "meta": {"created": "2026-05-04T10:00:12.345Z"},
    }
    user = scim.from_resource(resource, scim.reading([key]))
    assert user.attributes == {"email": EMAIL, key: attributes[key]}
    assert (user.email, user.active, user.created) == (EMAIL, False, None)
    assert scim.from_resource({"id": "u-1", **_base(), **fragment}, scim.reading([key])).attributes == {
        "email": EMAIL,
        key: "V",
    }


def test_reading_everything_is_the_default() -> None:
    """``reading(None)`` reads what ``from_resource`` reads without one, ``meta.created`` included."""
    resource = {"id": "u-1", **_base(), "title": "T", "meta": {"created": "2026-05-04T10:00:12Z"}}
    assert scim.from_resource(resource, scim.reading(None)) == scim.from_resource(resource)
    assert scim.from_resource(resource).created == datetime(2026, 5, 4, 10, 0, 12, tzinfo=UTC)


def test_empty_values_are_left_out() -> None:
    """An empty string is no value: it is not sent."""
    assert scim.to_resource({"email": EMAIL, "title": "", "workPhone": ""}, active=True) == _base()


def test_create_needs_an_email() -> None:
    """A body without e-mail is refused before any request, saying why."""
    with pytest.raises(ValueError, match="needs an email"):
        scim.to_resource({"displayName": "No Mail"}, active=True)


def test_unknown_key_is_refused() -> None:
    """A key outside mapping.WEBEX_ATTRIBUTES is a programming error, named in the message."""
    with pytest.raises(ValueError, match="favouriteColour"):
        scim.to_resource({"email": EMAIL, "favouriteColour": "blue"}, active=True)
    with pytest.raises(ValueError, match="favouriteColour"):
        scim.patch_operations([Change("favouriteColour", None, "blue")])


def test_from_documented_webex_response() -> None:
    """The 201 example of the Webex docs (home + work e-mails, accountStatus array, manager with
    displayName and $ref, two-item extension attribute) reads as expected."""
    resource = {
        "id": "3426a8e3",
        "userName": "user1@example.com",
        "active": True,
        "name": {"familyName": "Joestar", "givenName": "Jonathan", "middleName": "Jane"},
        "displayName": "Mr. Jonathan Jane Joestar, III",
        "emails": [
            {"value": "user1@example.home.com", "type": "home"},
            {"value": "user1@example.com", "type": "work", "primary": True},
        ],
        "phoneNumbers": [{"value": "400 123 1234", "type": "work", "primary": True}],
        "addresses": [{"type": "home", "locality": "Home Town"}, {"type": "work", "locality": "Hollywood"}],
        ENTERPRISE: {
            "employeeNumber": "518-8888-888",
            "manager": {"value": "b5717a4a", "displayName": "Identity Administrator", "$ref": "https://x"},
        },
        CISCO: {
            "accountStatus": ["active"],
            "extensionAttribute1": ["one", "two"],
            "extensionAttribute2": ["solo"],
            "meta": {"organizationId": "0ae87ade"},
        },
    }
    user = scim.from_resource(resource)
    assert user.email == "user1@example.com"
    assert user.attributes == {
        "email": "user1@example.com",
        "firstName": "Jonathan",
        "lastName": "Joestar",
        "displayName": "Mr. Jonathan Jane Joestar, III",
        "workPhone": "400 123 1234",
        "city": "Hollywood",
        "employeeNumber": "518-8888-888",
        "manager": "b5717a4a",
        "extensionAttribute1": "one, two",
        "extensionAttribute2": "solo",
    }


@pytest.mark.parametrize(
    ("extra", "active"),
    [
        ({"active": False}, False),
        ({"active": "false"}, False),
        ({CISCO: {"accountStatus": ["disabled"]}}, False),
        ({CISCO: {"accountStatus": "active"}}, True),
        ({CISCO: {"accountStatus": ["pending", "active"]}}, True),
        ({}, True),
    ],
)
def test_active_falls_back_to_account_status(extra: dict[str, Any], active: bool) -> None:
    """``active`` is read from ``active`` (bool or string), else from the Cisco accountStatus
    (array or string), else assumed true."""
    assert scim.from_resource({"id": "u", "userName": EMAIL, **extra}).active is active


def test_odd_shapes_read_as_absent() -> None:
    """Wrongly shaped attributes are ignored instead of crashing; numbers read as text."""
    resource: dict[str, Any] = {
        "id": "u",
        "userName": EMAIL,
        "name": "not an object",
        "phoneNumbers": {"type": "work"},
        "addresses": ["x", {"type": "WORK", "locality": 42}],
        "title": ["a"],
        "nickName": None,
        ENTERPRISE: {"employeeNumber": 1234, "manager": "m-1", "department": True},
        CISCO: {"extensionAttribute3": "bare", "extensionAttribute4": [], "accountStatus": None},
    }
    user = scim.from_resource(resource)
    assert user.attributes == {
        "email": EMAIL,
        "city": "42",
        "employeeNumber": "1234",
        "manager": "m-1",
        "extensionAttribute3": "bare",
    }


def test_primary_entry_wins_among_same_type() -> None:
    """With two work phones, the primary one is the user's work phone."""
    phones = [{"type": "work", "value": "1"}, {"type": "work", "value": "2", "primary": True}]
    assert scim.from_resource({"id": "u", "phoneNumbers": phones}).attributes["workPhone"] == "2"


def test_email_from_work_email_when_username_missing() -> None:
    """Without userName the primary work e-mail is the user's e-mail."""
    user = scim.from_resource({"id": "u", "emails": [{"type": "work", "value": EMAIL}]})
    assert user.email == EMAIL


def test_resource_without_id_is_refused() -> None:
    """A resource without id cannot be linked: ValueError."""
    with pytest.raises(ValueError, match="no id"):
        scim.from_resource({"userName": EMAIL})


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("alice@example.com", 'userName eq "alice@example.com"'),
        (' "odd"\\name@example.com ', 'userName eq "\\"odd\\"\\\\name@example.com"'),
    ],
)
def test_email_filter_escapes_quotes_and_backslashes(email: str, expected: str) -> None:
    """The lookup filter quotes the e-mail with " and \\ escaped, so data cannot alter the filter."""
    assert scim.email_filter(email) == expected


# -- PatchOp ---------------------------------------------------------------------------------

SIMPLE_PATHS = [
    ("firstName", "name.givenName"),
    ("lastName", "name.familyName"),
    *[(k, k) for k in ("displayName", "nickName", "title", "preferredLanguage", "locale", "timezone")],
    ("externalId", "externalId"),
    *[(k, f"{ENTERPRISE}:{k}") for k in ("department", "employeeNumber", "costCenter", "organization")],
    ("division", f"{ENTERPRISE}:division"),
]


@pytest.mark.parametrize(("key", "path"), SIMPLE_PATHS)
def test_simple_attribute_replace_add_and_remove(key: str, path: str) -> None:
    """A simple attribute is replaced with its new value (also when it had none) and removed
    when the new value is None."""
    assert scim.patch_operations([Change(key, "old", "new")]) == [
        {"op": "replace", "path": path, "value": "new"}
    ]
    assert scim.patch_operations([Change(key, None, "new")]) == [
        {"op": "replace", "path": path, "value": "new"}
    ]
    assert scim.patch_operations([Change(key, "old", None)]) == [{"op": "remove", "path": path}]


def test_manager_replace_and_remove() -> None:
    """The manager is set as ``{"value": <webex id>}`` on the enterprise path, or removed."""
    path = f"{ENTERPRISE}:manager"
    assert scim.patch_operations([Change("manager", None, "m-2")]) == [
        {"op": "replace", "path": path, "value": {"value": "m-2"}}
    ]
    assert scim.patch_operations([Change("manager", "m-2", None)]) == [{"op": "remove", "path": path}]


@pytest.mark.parametrize("n", [1, 7, 15])
def test_extension_attribute_replace_and_remove(n: int) -> None:
    """extensionAttributeN is replaced by a one-item array on the Cisco path, or removed."""
    path = f"{CISCO}:extensionAttribute{n}"
    key = f"extensionAttribute{n}"
    assert scim.patch_operations([Change(key, "a", "b")]) == [{"op": "replace", "path": path, "value": ["b"]}]
    assert scim.patch_operations([Change(key, "a", None)]) == [{"op": "remove", "path": path}]


def test_email_change_replaces_username_and_work_email() -> None:
    """A changed e-mail replaces userName and the work e-mail's value together."""
    assert scim.patch_operations([Change("email", "old@example.com", "new@example.com")]) == [
        {"op": "replace", "path": "userName", "value": "new@example.com"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
    ]


def test_email_cannot_be_removed() -> None:
    """Removing the e-mail (the userName) is refused, not sent."""
    with pytest.raises(ValueError, match="cannot be removed"):
        scim.patch_operations([Change("email", EMAIL, None)])


@pytest.mark.parametrize(
    ("key", "kind"), [("workPhone", "work"), ("mobilePhone", "mobile"), ("extension", "work_extension")]
)
def test_phone_add_replace_remove(key: str, kind: str) -> None:
    """A new phone is added as a whole entry (a value-path replace would be a 400 noTarget), a
    changed one replaced through its value path, a removed one's entry removed."""
    assert scim.patch_operations([Change(key, None, "+1 555")]) == [
        {"op": "add", "path": "phoneNumbers", "value": [{"type": kind, "value": "+1 555"}]}
    ]
    assert scim.patch_operations([Change(key, "+1 444", "+1 555")]) == [
        {"op": "replace", "path": f'phoneNumbers[type eq "{kind}"].value', "value": "+1 555"}
    ]
    assert scim.patch_operations([Change(key, "+1 444", None)]) == [
        {"op": "remove", "path": f'phoneNumbers[type eq "{kind}"]'}
    ]


def test_avatar_add_replace_remove() -> None:
    """A new avatar is added as a photos entry of type photo, a changed one replaced through its
    value path, a removed one's entry removed: other photos (a thumbnail) are left alone."""
    url, other = "https://photos.example.com/ann.jpg", "https://photos.example.com/ann-2.jpg"
    assert scim.patch_operations([Change("avatar", None, url)]) == [
        {"op": "add", "path": "photos", "value": [{"type": "photo", "value": url}]}
    ]
    assert scim.patch_operations([Change("avatar", url, other)]) == [
        {"op": "replace", "path": 'photos[type eq "photo"].value', "value": other}
    ]
    assert scim.patch_operations([Change("avatar", url, None)]) == [
        {"op": "remove", "path": 'photos[type eq "photo"]'}
    ]


def test_avatar_is_the_primary_photo_not_a_thumbnail() -> None:
    """Webex may hold a thumbnail beside the photo: avatar reads the (primary) photo entry only."""
    photos = [
        {"value": "https://p.example.com/thumb.jpg", "type": "thumbnail"},
        {"value": "https://p.example.com/old.jpg", "type": "photo"},
        {"value": "https://p.example.com/ann.jpg", "type": "photo", "primary": True},
    ]
    user = scim.from_resource({"id": "u-1", **_base(), "photos": photos})
    assert user.attributes["avatar"] == "https://p.example.com/ann.jpg"
    thumbnail_only = scim.from_resource({"id": "u-2", **_base(), "photos": photos[:1]})
    assert "avatar" not in thumbnail_only.attributes


@pytest.mark.parametrize(
    ("key", "part"),
    [
        ("street", "streetAddress"),
        ("city", "locality"),
        ("state", "region"),
        ("postalCode", "postalCode"),
        ("country", "country"),
    ],
)
def test_address_field_add_replace_remove(key: str, part: str) -> None:
    """An address field on a user without work address adds the work entry holding it; a
    changed field is replaced, a removed one removed, through the work entry's value path."""
    assert scim.patch_operations([Change(key, None, "X")]) == [
        {"op": "add", "path": "addresses", "value": [{"type": "work", part: "X"}]}
    ]
    assert scim.patch_operations([Change(key, "W", "X")]) == [
        {"op": "replace", "path": f'addresses[type eq "work"].{part}', "value": "X"}
    ]
    assert scim.patch_operations([Change(key, "W", None)]) == [
        {"op": "remove", "path": f'addresses[type eq "work"].{part}'}
    ]


def test_several_new_address_fields_make_one_entry() -> None:
    """Adding street and city to a user without address creates ONE work address, not two."""
    ops = scim.patch_operations([Change("street", None, "1 Main St"), Change("city", None, "Paris")])
    assert ops == [
        {
            "op": "add",
            "path": "addresses",
            "value": [{"type": "work", "streetAddress": "1 Main St", "locality": "Paris"}],
        }
    ]


def test_new_address_field_on_existing_address_is_set_in_place() -> None:
    """When the work address exists (another field had a value, or the caller says so), a new
    field is set on it instead of adding a second entry."""
    inferred = scim.patch_operations([Change("city", "Lyon", "Paris"), Change("street", None, "1 Main St")])
    assert inferred == [
        {"op": "replace", "path": 'addresses[type eq "work"].locality', "value": "Paris"},
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main St"},
    ]
    told = scim.patch_operations([Change("street", None, "1 Main St")], address_exists=True)
    assert told == [
        {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "1 Main St"}
    ]


def test_needs_address_check_only_when_every_address_change_is_an_addition() -> None:
    """The client reads the user first only when the changes cannot tell whether a work address exists."""
    assert scim.needs_address_check([Change("city", None, "Paris")])
    assert not scim.needs_address_check([Change("city", "Lyon", "Paris"), Change("street", None, "x")])
    assert not scim.needs_address_check([Change("title", None, "Boss")])
    assert scim.has_work_address({"addresses": [{"type": "work"}]})
    assert not scim.has_work_address({"addresses": [{"type": "home", "locality": "x"}]})


def test_active_and_unchanged_values() -> None:
    """``active`` becomes a replace of ``active``; a change whose old equals new sends nothing."""
    assert scim.patch_operations([Change("title", "a", "a")], active=False) == [
        {"op": "replace", "path": "active", "value": False}
    ]
    assert scim.patch_operations([]) == []


def test_patch_body() -> None:
    """The PatchOp body wraps the operations with the PatchOp schema."""
    ops = [{"op": "replace", "path": "title", "value": "x"}]
    assert scim.patch_body(ops) == {"schemas": [PATCH_OP], "Operations": ops}


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2026-05-04T10:00:12.345Z", datetime(2026, 5, 4, 10, 0, 12, 345000, tzinfo=UTC)),
        ("2026-05-04T12:00:12+02:00", datetime(2026, 5, 4, 10, 0, 12, tzinfo=UTC)),
        ("2026-05-04T10:00:12", datetime(2026, 5, 4, 10, 0, 12, tzinfo=UTC)),
        ("yesterday", None),
        ("2026-05-04T10:00:12.345Z" + " " * 40, None),
        (1714816812, None),
        (None, None),
    ],
)
def test_created_is_read_from_meta_boundedly(created: object, expected: datetime | None) -> None:
    """meta.created becomes a UTC datetime (Z, an offset, or none meaning UTC); anything else,
    a text longer than the longest date included, reads as unknown."""
    user = scim.from_resource({"id": "u", "userName": EMAIL, "meta": {"created": created}})
    assert user.created == expected
