"""``GET /v1/licenses``, ``GET /v1/licenses/{id}`` and ``PATCH /v1/licenses/users``.

The user is named by ``personId`` or ``email`` and must exist (404). Requests are checked whole
before anything changes: an unknown licence id is 400 with Webex's ``errorCode`` 400000, a
Calling licence added without Calling properties 400 with 400411, and without ``phoneNumber``
nor ``locationId`` 400 "Unable to find location." (``errorCode`` 400). Then the operations run
in order; removing a licence the user does not hold and adding one it holds change nothing.
An add for which no unit is free is skipped and the answer is 206 with the licences held
(``overflow="partial"``, the default), or the whole request is 400 (``overflow="error"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from webex_provisioner.emulator import webex_ids
from webex_provisioner.emulator.errors import WebexApiError
from webex_provisioner.emulator.license_book import License, LicenseBook, LicenseChange, Properties
from webex_provisioner.emulator.people import PeopleService, bad_request, cursor, offset_of, positive_int
from webex_provisioner.emulator.store import User

Overflow = Literal["partial", "error"]
OVERFLOWS: tuple[Overflow, ...] = ("partial", "error")
ASSIGNEES_LIMIT = 300
PAGING = "LICENSE_USER_PAGING"
_OPERATIONS = ("add", "remove")
_PROPERTY_KEYS = ("locationId", "phoneNumber", "extension")


@dataclass(frozen=True)
class Assignment:
    """The answer of ``PATCH /v1/licenses/users``: HTTP status and body."""

    status: int
    body: dict[str, Any]


def render(licence: License, consumed: int) -> dict[str, Any]:
    """A licence as ``GET /v1/licenses`` lists it (absent optional fields left out)."""
    body: dict[str, Any] = {
        "id": licence.id,
        "name": licence.name,
        "totalUnits": licence.total_units,
        "consumedUnits": consumed,
        "consumedByUsers": consumed,
        "consumedByWorkspaces": 0,
    }
    optional = (("subscriptionId", licence.subscription_id), ("siteUrl", licence.site_url))
    body.update({k: v for k, v in (*optional, ("siteType", licence.site_type)) if v is not None})
    return body


def _properties(value: object) -> Properties | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k, ""), str) for k in _PROPERTY_KEYS):
        raise bad_request(
            "a licence's properties must be an object of strings (locationId, phoneNumber, extension)"
        )
    return {k: value[k] for k in _PROPERTY_KEYS if value.get(k)}


def _change(item: object) -> tuple[str, str, Properties | None]:
    if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]:
        raise bad_request("each element of licenses needs an 'id'")
    operation = item.get("operation") or "add"
    if operation not in _OPERATIONS:
        raise bad_request(f"a licence operation is add or remove, not {operation!r}")
    return item["id"], operation, _properties(item.get("properties"))


def _sites(value: object) -> list[tuple[str, str, str]]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    sites = []
    for item in items:
        url = item.get("siteUrl") if isinstance(item, Mapping) else None
        kind = item.get("accountType") if isinstance(item, Mapping) else None
        operation = (item.get("operation") if isinstance(item, Mapping) else None) or "add"
        if not isinstance(url, str) or not url or kind != "attendee" or operation not in _OPERATIONS:
            raise WebexApiError(
                400, "Invalid site URL", f"Request contains invalid attendee siteUrls: {url or item}", 400216
            )
        sites.append((url, kind, operation))
    return sites


class LicenseService:
    """The licence endpoints over a ``LicenseBook`` and the people they are assigned to."""

    def __init__(self, book: LicenseBook, people: PeopleService, *, overflow: Overflow = "partial") -> None:
        if overflow not in OVERFLOWS:
            raise ValueError(f"license_overflow must be partial or error, not {overflow!r}")
        self.book = book
        self.people = people
        self.overflow = overflow

    def list_all(self, params: Mapping[str, str]) -> dict[str, Any]:
        """GET /v1/licenses."""
        self.people.check_org(params.get("orgId"))
        return {"items": [render(lic, self.book.consumed(lic.id)) for lic in self.book.licenses()]}

    def get(self, license_id: str, params: Mapping[str, str]) -> tuple[dict[str, Any], int | None]:
        """GET /v1/licenses/{id}; with ``includeAssignedTo=user`` a page of its users (``limit``
        ≤ 300, then ``next``). Returns the body and the offset of the next page, if any."""
        licence = self.book.get(license_id)
        if licence is None:
            raise WebexApiError(
                404, "The requested resource could not be found.", f"no licence {license_id!r}"
            )
        body = render(licence, self.book.consumed(license_id))
        assigned = params.get("includeAssignedTo")
        if not assigned:
            return body, None
        if assigned != "user":
            raise bad_request(f"includeAssignedTo takes only 'user', not {assigned!r}")
        limit_text = params.get("limit") or ""
        if limit_text.isdigit() and int(limit_text) > ASSIGNEES_LIMIT:
            raise bad_request(f"limit cannot be more than {ASSIGNEES_LIMIT}")
        limit = positive_int(params, "limit", ASSIGNEES_LIMIT, ASSIGNEES_LIMIT)
        start = offset_of(params.get("next"), PAGING)
        holders = self.book.holders(license_id)
        users = [self.people.users.get(u) for u in holders[start : start + limit]]
        body["users"] = [self._assignee(u) for u in users if u is not None]
        return body, start + limit if start + limit < len(holders) else None

    def _assignee(self, user: User) -> dict[str, Any]:
        person = self.people.render(user)
        return {
            "id": person["id"],
            "type": "INTERNAL",
            "displayName": person["displayName"],
            "email": user["userName"],
        }

    @staticmethod
    def next_cursor(offset: int) -> str:
        return cursor(PAGING, offset)

    # ----------------------------------------------------------------------- assignment

    def _user(self, body: Mapping[str, Any]) -> User:
        person_id, email = body.get("personId"), body.get("email")
        if not person_id and not email:
            raise bad_request("email or personId is required")
        by_id = self.people.user_for(person_id) if person_id else None
        by_email = self.people.user_by_email(email) if isinstance(email, str) and email else None
        if (person_id and by_id is None) or (email and by_email is None):
            raise WebexApiError(
                404, "Person not found", "no person with that personId or email in the organization"
            )
        if by_id is not None and by_email is not None and by_id["id"] != by_email["id"]:
            raise bad_request("personId and email name different people")
        user = by_id or by_email
        assert user is not None
        return user

    def _changes(self, items: object) -> list[LicenseChange]:
        if items is None:
            return []
        if not isinstance(items, list):
            raise bad_request("licenses must be an array")
        parsed = [_change(item) for item in items]
        unknown = [lid for lid, _, _ in parsed if self.book.get(lid) is None]
        if unknown:
            raise WebexApiError(
                400, "License not recognized", f"License not recognized {', '.join(unknown)}", 400000
            )
        changes = [LicenseChange(lid, op, props) for lid, op, props in parsed]
        self._check_calling(changes)
        return changes

    def _is_calling(self, license_id: str) -> bool:
        licence = self.book.get(license_id)
        return licence is not None and licence.calling

    def _check_calling(self, changes: list[LicenseChange]) -> None:
        adds = [c for c in changes if c.operation == "add" and self._is_calling(c.license_id)]
        bare = [
            c.license_id
            for c in adds
            if not c.properties or not ({"phoneNumber", "extension"} & c.properties.keys())
        ]
        if bare:
            detail = (
                "Each Webex Calling license should contain its own calling properties. The following "
                f"license(s) do not have properties: {', '.join(bare)}"
            )
            raise WebexApiError(400, "License properties missing", detail, 400411)
        if any(
            c.properties and "phoneNumber" not in c.properties and "locationId" not in c.properties
            for c in adds
        ):
            raise WebexApiError(400, "Unable to find location", "Unable to find location.", 400)

    def assign(self, body: Mapping[str, Any]) -> Assignment:
        """PATCH /v1/licenses/users."""
        self.people.check_org(body.get("orgId"))
        user = self._user(body)
        changes = self._changes(body.get("licenses"))
        sites = _sites(body.get("siteUrls"))
        if not changes and not sites:
            raise bad_request("licenses or siteUrls is required")
        refused = self.book.assign(user["id"], changes, sites, all_or_nothing=self.overflow == "error")
        if refused and self.overflow == "error":
            names = ", ".join(dict.fromkeys(refused))
            raise WebexApiError(400, "Not enough licenses", f"No free units left of license(s): {names}")
        return Assignment(206 if refused else 200, self._answer(user))

    def _answer(self, user: User) -> dict[str, Any]:
        sites = self.book.sites_of(user["id"])
        return {
            "orgId": self.people.webex_org_id,
            "personId": webex_ids.encode(webex_ids.PEOPLE, user["id"]),
            "email": user["userName"],
            "licenses": list(self.book.held_by(user["id"])),
            "siteUrls": [{"siteUrl": url, "accountType": kind} for url, kind in sites.items()],
            "pendingLicenses": [],
            "pendingSiteUrls": [],
        }
