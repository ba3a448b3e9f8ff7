"""The SCIM filter parser, Webex's documented subset and the evaluator (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from webex_provisioner.emulator import filters
from webex_provisioner.emulator.errors import ScimError

from .helpers import CISCO, ENTERPRISE, ORG

ALICE: dict[str, Any] = {
    "id": "11111111-1111-4111-8111-111111111111",
    "userName": "Alice@Example.com",
    "displayName": "Alice Liddell",
    "nickName": "Al",
    "name": {"givenName": "Alice", "familyName": "Liddell", "middleName": "P"},
    "emails": [
        {"value": "alice@home.example", "type": "home"},
        {"value": "Alice@Example.com", "type": "work", "primary": True},
    ],
    "phoneNumbers": [{"value": "1", "type": "mobile"}, {"value": "+1 408 555", "type": "work"}],
    ENTERPRISE: {"department": "Sales", "employeeNumber": "42", "manager": {"value": "m-1"}},
    CISCO: {"meta": {"organizationId": ORG}},
}


def search(text: str, user: dict[str, Any] = ALICE) -> bool:
    node = filters.parse(text)
    filters.check_searchable(node)
    return filters.matches(node, user)


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "alice@example.com"',
        'userName EQ "ALICE@EXAMPLE.COM"',
        'userName sw "alice@"',
        'userName ew "EXAMPLE.COM"',
        'id eq "11111111-1111-4111-8111-111111111111"',
        'name.familyName eq "liddell"',
        'name.givenName sw "ali"',
        'displayName ew "liddell"',
        'nickName eq "al"',
        'emails.value eq "alice@home.example"',
        'emails[type eq "work"]',
        'emails[type eq "work" and value eq "alice@example.com"]',
        'phoneNumbers[type eq "mobile" and value eq "1"]',
        'phoneNumbers [ type eq "work" ]',
        'phoneNumbers.value sw "+1"',
        'department eq "sales"',
        f'{ENTERPRISE}:department eq "SALES"',
        f'{ENTERPRISE}:employeeNumber eq "42"',
        'manager.value eq "m-1"',
        f'{CISCO}:meta.organizationId eq "{ORG}"',
        'userName eq "nobody@example.com" or userName eq "alice@example.com"',
        'userName Eq "x@example.com" OR (displayName sw "alice" And nickName eq "al")',
    ],
)
def test_documented_filters_match(text: str) -> None:
    """Every filter form Webex documents for user search is accepted and matches, ignoring case."""
    assert search(text)


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "alice@example"',
        'emails[type eq "other"]',
        'phoneNumbers[type eq "mobile" and value eq "2"]',
        'department eq "marketing"',
        'userName eq "alice@example.com" and displayName eq "bob"',
        f'{CISCO}:meta.organizationId eq "another-org"',
    ],
)
def test_non_matching_filters(text: str) -> None:
    """A filter whose condition does not hold for the user does not match it."""
    assert not search(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("externalId pr", "externalId"),
        ('userName co "alice"', "'co'"),
        ('userName gt "a"', "'gt'"),
        ('userName ne "a"', "'ne'"),
        ('id sw "1"', "'sw'"),
        ('name.givenName ew "e"', "'ew'"),
        ('title eq "boss"', "title"),
        ("active eq true", "active"),
        ('addresses[type eq "work"]', "addresses"),
        ('not (userName eq "a@b.c")', "'not'"),
        ('nosuch eq "x"', "nosuch"),
        ("userName eq alice", "double quotes"),
        ('userName eq "a@b.c" and', "ends"),
        ('(userName eq "a@b.c"', "')'"),
        ('emails[type eq "work"', "']'"),
        ('userName "a@b.c"', "operator"),
        ("", "empty"),
    ],
)
def test_unsupported_or_malformed_filters_are_invalid(text: str, fragment: str) -> None:
    """Operators, attributes and syntax outside Webex's documented subset answer 400 invalidFilter."""
    with pytest.raises(ScimError) as caught:
        search(text)
    assert caught.value.status == 400
    assert caught.value.scim_type == "invalidFilter"
    assert fragment in caught.value.detail


def test_string_escapes_are_decoded() -> None:
    """A quoted value may carry JSON escapes, such as an escaped double quote."""
    user = {**ALICE, "displayName": 'Alice "the" Liddell'}
    assert search(r'displayName eq "alice \"the\" liddell"', user)


def test_missing_attributes_never_match() -> None:
    """A user without the filtered attribute (or extension) does not match and does not fail."""
    bare = {"id": "x", "userName": "bare@example.com"}
    assert not search('department eq "sales"', bare)
    assert not search('emails[type eq "work"]', bare)
    assert not search('name.familyName sw "l"', bare)


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ('userName eq "a@b.c"', [("userName", "a@b.c")]),
        ('id eq "x"', [("id", "x")]),
        ('userName eq "a@b.c" or id eq "x"', [("userName", "a@b.c"), ("id", "x")]),
        ('userName eq "a@b.c" and displayName sw "a"', [("userName", "a@b.c")]),
        ('displayName sw "a" and userName eq "a@b.c"', [("userName", "a@b.c")]),
        ('userName sw "a"', None),
        ('userName eq "a@b.c" or displayName eq "a"', None),
        ('emails[type eq "work"]', None),
    ],
)
def test_index_keys(text: str, keys: list[tuple[str, str]] | None) -> None:
    """Filters pinned to userName/id equality are served from the index; others need a scan."""
    assert filters.index_keys(filters.parse(text)) == keys


def test_element_filter_is_relative_to_the_attribute() -> None:
    """A PATCH value filter names sub-attributes of the multi-valued attribute it selects from."""
    from webex_provisioner.emulator.schema import resolve

    node = filters.parse_element_filter('type eq "work" and primary eq true', resolve("emails"))
    assert filters.matches_element(node, {"type": "WORK", "primary": True})
    assert not filters.matches_element(node, {"type": "work", "primary": False})
    assert filters.implied_values(node) == {"type": "work", "primary": True}
    with pytest.raises(ScimError, match="no sub-attribute"):
        filters.parse_element_filter('bogus eq "x"', resolve("emails"))


def test_element_filter_operators() -> None:
    """Element filters evaluate ne, co and pr too (PATCH paths are not limited to the search subset)."""
    from webex_provisioner.emulator.schema import resolve

    emails = resolve("emails")
    element = {"value": "bob@work.example", "type": "work"}
    assert filters.matches_element(filters.parse_element_filter('value co "WORK"', emails), element)
    assert filters.matches_element(filters.parse_element_filter('type ne "home"', emails), element)
    assert filters.matches_element(filters.parse_element_filter("value pr", emails), element)
    assert not filters.matches_element(filters.parse_element_filter("display pr", emails), element)
    assert not filters.matches_element(filters.parse_element_filter("primary eq true", emails), element)
