"""``WebexLicenseApi``: the ``WebexLicenses`` port over Webex's ``/v1`` licence and People APIs;
``ScimWebexClient`` delegates to it, on the same ``ScimSession`` (token, retries, 429/Retry-After,
error mapping, request counts). The ``/v1`` APIs live beside SCIM: ``{webex.url}/v1``.

Requests per operation:

* ``list_licenses``: one ``GET /v1/licenses``.
* ``license_holders``: one ``GET /v1/licenses/{id}?includeAssignedTo=user&limit=300`` per 300
  holders, the next page's URL taken from the ``Link`` header (``webex.link_paging``).
* ``user_licenses``: one ``GET /v1/people/{personId}``.
* ``change_licenses``: one ``PATCH /v1/licenses/users`` (removes first, then adds); nothing to
  change is one ``user_licenses``.

Users are named by their SCIM id; ``webex.person_ids`` converts to the People API's ``personId``
and back. A licence change is idempotent, so it is retried like a read; when the retries end
with no answer (or one that cannot be read) it raises ``WebexOutcomeUnknownError``, and sending
it again is harmless.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from webex_provisioner.errors import WebexError, WebexNotFoundError
from webex_provisioner.model import License, LicenseAnswer
from webex_provisioner.webex import license_json, person_ids
from webex_provisioner.webex.failures import LICENSE_ADVICE
from webex_provisioner.webex.link_paging import LinkPager, untrusted
from webex_provisioner.webex.session import ScimSession

HOLDERS_PAGE = 300
"""Holders asked for per page: the most Webex allows (``limit``)."""
MAX_PAGES = 10_000
"""The most pages of holders read when the licence announces no consumed units."""

log = structlog.get_logger("webex_provisioner.webex")


class WebexLicenseApi:
    """The organization's licences through one ``ScimSession`` at ``api_url`` (``{webex.url}/v1``);
    ``org_uuid`` is ``webex.org_id``, sent as ``orgId``. Safe to share between threads."""

    def __init__(self, session: ScimSession, api_url: str, org_uuid: str | None = None) -> None:
        self._session = session
        self.api_url = api_url
        self._org = person_ids.organization_id(org_uuid) if org_uuid else None
        self._send = functools.partial(session.send, advice=LICENSE_ADVICE, base=api_url)

    def list_licenses(self) -> list[License]:
        """Every licence with its units; one that has no units to count is logged and left out."""
        what = "listing the Webex licences"
        params = {"orgId": self._org} if self._org else None
        body = self._session.json(self._send("GET", "/licenses", what, params=params), what)
        licenses: list[License] = []
        seen: set[str] = set()
        for item in license_json.items_of(body, "items", what):
            licence = license_json.license_of(item, what)
            if licence is None:
                log.warning(
                    "webex.license_skipped",
                    request=what,
                    license=license_json.shown(item.get("id")),
                    reason="no totalUnits or consumedUnits: Webex counts no units of it",
                )
            elif licence.id in seen:
                raise WebexError(f"{what}: licence {licence.id} is listed twice; {license_json.CHECK_URL}")
            else:
                seen.add(licence.id)
                licenses.append(licence)
        return licenses

    def license_holders(self, license_id: str) -> Iterator[str]:
        """The SCIM ids of the users holding the licence, each once, a page at a time."""
        what = f"listing the holders of Webex licence {license_id}"
        path = _license_path(license_id)
        first = {"includeAssignedTo": "user", "limit": str(HOLDERS_PAGE)}
        pager = LinkPager(httpx.URL(self.api_url + path), first, max_pages=MAX_PAGES)
        seen: set[str] = set()
        while pager.params is not None:
            response = self._send("GET", path, what, params=pager.params, allow_404=True)
            if response.status_code == 404:
                raise _not_found(what, response)
            body = self._session.json(response, what)
            if pager.pages == 0:
                pager.max_pages = _max_pages(body)
            fresh, stuck = _holders(body, what, seen)
            pager.follow(response.links, what)
            if stuck and pager.params is not None:
                raise untrusted(what, "a page brings no holder not listed before, yet names a next page")
            yield from fresh

    def user_licenses(self, webex_id: str) -> frozenset[str]:
        """The ids of the licences the user holds (``licenses`` of ``GET /v1/people/{personId}``)."""
        what = f"reading the licences of Webex user {webex_id}"
        path = f"/people/{quote(person_ids.person_id(webex_id), safe='')}"
        response = self._send("GET", path, what, allow_404=True)
        if response.status_code == 404:
            raise _not_found(what, response)
        return license_json.held_of(self._session.json(response, what), what)

    def change_licenses(
        self, webex_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> LicenseAnswer:
        """One ``PATCH /v1/licenses/users``: 200 is a complete answer, 206 a partial one (some
        adds were not done); see the module docstring for the errors."""
        if not add and not remove:
            return LicenseAnswer(self.user_licenses(webex_id), complete=True)
        what = (
            f"changing the licences of Webex user {webex_id} "
            f"(adding {len(set(add))}, removing {len(set(remove))})"
        )
        body = license_json.change_body(person_ids.person_id(webex_id), self._org, add, remove)
        response = self._send("PATCH", "/licenses/users", what, body=body, lost_is_unknown=True)
        held = self._session.written(
            response,
            what,
            lambda answer: license_json.held_of(answer, what),
            probably=f"the change was probably applied: {LICENSE_ADVICE.look_up}",
        )
        return LicenseAnswer(held, complete=response.status_code != 206)


def _not_found(what: str, response: httpx.Response) -> WebexNotFoundError:
    tracking = response.headers.get("TrackingID")
    return WebexNotFoundError(
        f"{what} failed: HTTP 404 [Webex tracking id {tracking or 'none'}]; {LICENSE_ADVICE.not_found}",
        status=404,
        tracking_id=tracking,
    )


def _license_path(license_id: str) -> str:
    return f"/licenses/{quote(license_id, safe='')}"


def _max_pages(body: Mapping[str, Any]) -> int:
    """How many pages of holders a licence may have: one per ``HOLDERS_PAGE`` units consumed,
    and one more; ``MAX_PAGES`` when it does not say."""
    consumed = body.get("consumedUnits")
    if (
        isinstance(consumed, int)
        and not isinstance(consumed, bool)
        and 0 <= consumed <= license_json.MAX_UNITS
    ):
        return min(MAX_PAGES, consumed // HOLDERS_PAGE + 2)
    return MAX_PAGES


def _holders(body: Mapping[str, Any], what: str, seen: set[str]) -> tuple[list[str], bool]:
    """The SCIM ids of the users of one page not listed before (adding them to ``seen``), and
    whether the page is stuck: it lists nothing, or only users listed before. ``users`` may be
    left out only by a licence that says it has no unit consumed; entries that are not users
    (workspaces, anything unreadable) are logged and skipped."""
    if body.get("users") is None and body.get("consumedUnits") == 0:
        return [], True
    fresh: list[str] = []
    listed = 0
    entries = license_json.items_of(body, "users", what)
    for entry in entries:
        raw = entry.get("id") if isinstance(entry, Mapping) else None
        scim_id = person_ids.scim_id_of(raw)
        if scim_id is None:
            log.debug("webex.license_holder_skipped", request=what, entry=license_json.shown(raw))
            continue
        listed += 1
        if scim_id not in seen:
            seen.add(scim_id)
            fresh.append(scim_id)
    return fresh, not entries or (listed > 0 and not fresh)
