"""``GET /v1/people`` and ``GET /v1/people/{personId}``: the SCIM users seen through the People API.

A person's ``id`` is the Webex id of the SCIM user id (``ciscospark://us/PEOPLE/<id>`` in
base64), so a client can go from one API to the other. Read-only; inactive users are listed too
(``loginEnabled: "false"``). ``status`` is presence, and emulated people never sign in, so it is
always ``pending``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webex_provisioner.emulator import webex_ids
from webex_provisioner.emulator.errors import WebexApiError
from webex_provisioner.emulator.license_book import LicenseBook
from webex_provisioner.emulator.schema import ENTERPRISE_URN
from webex_provisioner.emulator.store import User, UserStore

MAX_IDS = 85
DEFAULT_MAX = 100
LARGEST_MAX = 1000
PAGING = "PEOPLE_PAGING"
_ADDRESS_KEYS = ("type", "country", "locality", "region", "streetAddress", "postalCode")


def not_found(what: str = "person") -> WebexApiError:
    return WebexApiError(404, "The requested resource could not be found.", f"no {what} with that id")


def bad_request(detail: str, code: int | None = None) -> WebexApiError:
    return WebexApiError(400, detail, detail, code)


def positive_int(params: Mapping[str, str], name: str, default: int, largest: int) -> int:
    """A positive integer parameter, at most ``largest`` (400 when it is not a positive integer)."""
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1:
        raise bad_request(f"{name} must be a positive integer, not {text!r}")
    return min(int(text), largest)


def cursor(kind: str, offset: int) -> str:
    """An opaque paging cursor (a Webex-style id holding the offset)."""
    return webex_ids.encode(kind, str(offset))


def offset_of(text: str | None, kind: str) -> int:
    if not text:
        return 0
    value = webex_ids.decode(text, kind)
    if value is None or not value.isdigit():
        raise bad_request("the paging cursor is not valid")
    return int(value)


@dataclass(frozen=True)
class PeoplePage:
    """One page of ``GET /v1/people``: the body, and the offset of the next page if any."""

    body: dict[str, Any]
    next_offset: int | None


class PeopleService:
    """Looks people up by id and e-mail, and renders them."""

    def __init__(
        self, users: UserStore, book: LicenseBook, org_id: str, *, wrong_org_status: int = 404
    ) -> None:
        self.users = users
        self.book = book
        self.org_id = org_id
        self.wrong_org_status = wrong_org_status
        self.webex_org_id = webex_ids.encode(webex_ids.ORGANIZATION, org_id)

    def check_org(self, org_id: object) -> None:
        """Refuse an ``orgId`` (Webex id or UUID) that is not this organization's."""
        if org_id is None or org_id == "":
            return
        if not isinstance(org_id, str) or self.org_id not in (
            org_id,
            webex_ids.decode(org_id, "ORGANIZATION"),
        ):
            raise WebexApiError(
                self.wrong_org_status, "Organization not found", f"organization {org_id!r} not found"
            )

    def user_for(self, person_id: object) -> User | None:
        """The user behind a personId (``None`` when it is not one of this organization)."""
        if not isinstance(person_id, str):
            return None
        user_id = webex_ids.decode(person_id, webex_ids.PEOPLE)
        return self.users.get(user_id) if user_id else None

    def user_by_email(self, email: str) -> User | None:
        user_id = self.users.id_for_user_name(email)
        return self.users.get(user_id) if user_id else None

    def get(self, person_id: str, calling_data: bool = False) -> dict[str, Any]:
        user = self.user_for(person_id)
        if user is None:
            raise not_found()
        return self.render(user, calling_data)

    def _matching(self, params: Mapping[str, str]) -> tuple[list[User], list[str]]:
        ids_text, email, name = params.get("id"), params.get("email"), params.get("displayName")
        if ids_text:
            wanted = [i.strip() for i in ids_text.split(",") if i.strip()]
            if len(wanted) > MAX_IDS:
                raise bad_request(f"id takes at most {MAX_IDS} person ids, not {len(wanted)}")
            found = {i: self.user_for(i) for i in wanted}
            users = [u for u in found.values() if u is not None]
            return users, [i for i, u in found.items() if u is None]
        if email:
            user = self.user_by_email(email)
            return ([user] if user is not None else []), []
        if name:
            prefix = name.casefold()
            return [u for u in self.users.users() if self._display_name(u).casefold().startswith(prefix)], []
        return self.users.users(), []

    def search(self, params: Mapping[str, str]) -> PeoplePage:
        """GET /v1/people: by ``id`` (≤ 85, comma-separated), ``email``, ``displayName`` (starts
        with), or everyone; ``max`` per page (default 100), later pages through ``cursor``."""
        self.check_org(params.get("orgId"))
        size = positive_int(params, "max", DEFAULT_MAX, LARGEST_MAX)
        start = offset_of(params.get("cursor"), PAGING)
        users, not_found_ids = self._matching(params)
        calling = (params.get("callingData") or "").lower() == "true"
        page = users[start : start + size]
        body = {"items": [self.render(u, calling) for u in page], "notFoundIds": not_found_ids}
        return PeoplePage(body, start + size if start + size < len(users) else None)

    # ----------------------------------------------------------------------- output

    @staticmethod
    def _display_name(user: Mapping[str, Any]) -> str:
        name = user.get("name") or {}
        full = " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p)
        text: str = user.get("displayName") or full or user["userName"]
        return text

    @staticmethod
    def avatar(user: Mapping[str, Any]) -> str | None:
        """The URL of the user's photo: the primary ``photo``, else the first ``photo``, else any."""
        photos = [p for p in user.get("photos", []) if isinstance(p.get("value"), str)]
        ranked = sorted(photos, key=lambda p: (p.get("type") != "photo", p.get("primary") is not True))
        return ranked[0]["value"] if ranked else None

    def _details(self, user: Mapping[str, Any], person: dict[str, Any]) -> None:
        name = user.get("name") or {}
        for key, value in (("firstName", name.get("givenName")), ("lastName", name.get("familyName"))):
            if value:
                person[key] = value
        for key in ("nickName", "title", "timezone"):
            if user.get(key):
                person[key] = user[key]
        enterprise = user.get(ENTERPRISE_URN) or {}
        if enterprise.get("department"):
            person["department"] = enterprise["department"]
        boss = self.users.get((enterprise.get("manager") or {}).get("value", ""))
        if boss is not None:
            person["manager"] = self._display_name(boss)
            person["managerId"] = webex_ids.encode(webex_ids.PEOPLE, boss["id"])
        phones = [
            {k: p[k] for k in ("type", "value", "primary") if k in p}
            for p in user.get("phoneNumbers", [])
            if "value" in p
        ]
        if phones:
            person["phoneNumbers"] = phones
        addresses = [{k: a[k] for k in _ADDRESS_KEYS if k in a} for a in user.get("addresses", [])]
        if addresses:
            person["addresses"] = addresses

    def render(self, user: Mapping[str, Any], calling_data: bool = False) -> dict[str, Any]:
        """A person as the People API returns it (to an administrator of the organization)."""
        held = self.book.held_by(user["id"])
        person: dict[str, Any] = {
            "id": webex_ids.encode(webex_ids.PEOPLE, user["id"]),
            "emails": [user["userName"]],
            "displayName": self._display_name(user),
        }
        self._details(user, person)
        avatar = self.avatar(user)
        if avatar is not None:
            person["avatar"] = avatar
        person.update(orgId=self.webex_org_id, roles=[], licenses=list(held))
        if calling_data:
            calling = next((p for p in held.values() if p.get("extension") or p.get("locationId")), {})
            person.update({k: calling[k] for k in ("extension", "locationId") if calling.get(k)})
        sites = self.book.sites_of(user["id"])
        if sites:
            person["siteUrls"] = [f"{url}#{kind}" for url, kind in sites.items()]
        person.update(
            created=user["meta"]["created"],
            lastModified=user["meta"]["lastModified"],
            status="pending",
            invitePending="false",
            loginEnabled="true" if user.get("active", True) else "false",
            type="person",
        )
        return person
