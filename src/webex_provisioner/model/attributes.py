"""The Webex user attributes the engine manages, by mapping key.

A desired or applied Webex user travels as flat attributes keyed by these names (``email``,
``firstName``, ``workPhone``, ...); the Webex adapter converts them to and from SCIM resources.
"""

from __future__ import annotations

# Webex attributes a mapping rule may set, with the longest value Webex accepts (None: no documented limit).
WEBEX_ATTRIBUTES: dict[str, int | None] = {
    "email": 254,
    "firstName": 256,
    "lastName": 256,
    "displayName": 512,
    "nickName": 256,
    "title": 512,
    "department": 512,
    "employeeNumber": 256,
    "costCenter": 256,
    "organization": 512,
    "division": 512,
    "manager": 512,
    "workPhone": 256,
    "mobilePhone": 256,
    "extension": 256,
    "street": 512,
    "city": 128,
    "state": 64,
    "postalCode": 64,
    "country": 64,
    "preferredLanguage": 64,
    "locale": 64,
    "timezone": 64,
    "externalId": 256,
    "avatar": None,  # the URL of the user's photo (SCIM photos, type photo); Webex has no upload
    **{f"extensionAttribute{i}": 256 for i in range(1, 16)},
}
