"""``ScimWebexClient``: the ``WebexClient`` port over Webex SCIM 2.0 with httpx.

Converts between flat attributes and SCIM resources (``webex.scim``) and sends the requests
through one ``ScimSession`` (shared httpx client, token, retries, error mapping) that the engine's
``webex.concurrency`` threads share. A create whose outcome is unknown is never sent twice: it
raises ``WebexOutcomeUnknownError`` and the caller looks the user up by e-mail. The groups of
the organization (``WebexGroups``) are in ``webex.groups`` and its licences (``WebexLicenses``,
the ``/v1`` APIs at ``{webex.url}/v1``) in ``webex.licenses``, on the same session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog

from webex_provisioner.config import WebexConfig
from webex_provisioner.errors import (
    WebexError,
    WebexNotFoundError,
    WebexOutcomeUnknownError,
    WebexRejectedError,
)
from webex_provisioner.model import (
    Attributes,
    Change,
    License,
    LicenseAnswer,
    ListedUser,
    WebexGroup,
    WebexUser,
)
from webex_provisioner.model.keys import fold_email
from webex_provisioner.ports import CreateOutcome, StatsSnapshot
from webex_provisioner.webex import scim
from webex_provisioner.webex.bulk import (
    MAX_OPERATIONS,
    bulk_request,
    create_operation,
    create_outcomes,
    parse_bulk_response,
)
from webex_provisioner.webex.groups import ScimGroups
from webex_provisioner.webex.licenses import WebexLicenseApi
from webex_provisioner.webex.listing import RawPage, raw_page
from webex_provisioner.webex.paging import Pager
from webex_provisioner.webex.session import ScimSession

PAGE_SIZE = 1000
MAX_MEMBERS = 100
"""Members one group request adds or removes by default (``groups.members_per_request``)."""
MEMBERS_LIMIT = 500
"""The most ``max_members`` may be: what one group resource lists and one PATCH may name."""

log = structlog.get_logger("webex_provisioner.webex")

_Page = TypeVar("_Page")
_Item = TypeVar("_Item")


class ScimWebexClient:
    """The Webex organization's users over SCIM 2.0: a ``ports.WebexClient``, a ``BulkCreator``
    (up to ``max_batch`` creates in one SCIM Bulk request), ``WebexGroups`` (``webex.groups``),
    ``WebexLicenses`` (``webex.licenses``, at ``api_url``) and ``CountsRequests``.

    ``max_members`` is the most members one group request carries; the engine's wiring sets it
    from ``groups.members_per_request``. Safe to share between ``config.concurrency`` threads.
    ``request_stats`` counts every attempt.
    """

    max_batch: int = MAX_OPERATIONS

    def __init__(
        self,
        config: WebexConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        refresh_token: str | None = None,
        on_refresh_token: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_members: int = MAX_MEMBERS,
    ) -> None:
        if not 1 <= max_members <= MEMBERS_LIMIT:
            raise ValueError(f"max_members must be between 1 and {MEMBERS_LIMIT}, not {max_members}")
        self.config = config
        self.max_members = max_members
        self.base_url = f"{config.url}/identity/scim/{config.org_id}/v2"
        self._session = ScimSession(
            config,
            self.base_url,
            transport=transport,
            refresh_token=refresh_token,
            on_refresh_token=on_refresh_token,
            sleep=sleep,
        )
        self._groups = ScimGroups(self._session)
        self.api_url = f"{config.url}/v1"
        self._licenses = WebexLicenseApi(self._session, self.api_url, config.org_id)
        self._closed = False

    def request_stats(self) -> StatsSnapshot:
        """The request counters now (every attempt, retries included)."""
        return self._session.stats.snapshot()

    # -- the port -----------------------------------------------------------------------------

    def find_by_email(self, email: str) -> WebexUser | None:
        """The Webex user whose userName equals ``email`` (case-insensitive, trimmed), or ``None``."""
        what = f"looking up Webex user {email.strip()}"
        page = self._session.json(
            self._session.send("GET", "/Users", what, params={"filter": scim.email_filter(email)}), what
        )
        wanted = fold_email(email)
        for resource in _resources(page, what):
            user = _user(resource, what)
            if fold_email(user.email) == wanted:
                return user
        return None

    def list_users(self, keys: Collection[str] | None = None) -> Iterator[WebexUser]:
        """Every user of the organization, ``PAGE_SIZE`` at a time (the server may return fewer).

        One request per page; the next page is asked for (on a thread of its own) as soon as the
        current one is checked, while its users are read. Raises ``WebexError`` when the listing
        cannot be trusted (``webex.paging``); a resource that cannot be read (no ``id``) is
        logged and skipped. ``keys``: see ``WebexClient.list_users``; without ``created`` to
        read, Webex is asked to leave ``meta`` out (``excludedAttributes``), a quarter of a page."""
        parts = scim.reading(keys)
        pager = Pager()
        for resources, what in self._paged(pager, self._user_page, pager.take, parts):
            for resource in resources:
                try:
                    yield scim.from_resource(resource, parts)
                except ValueError as exc:
                    log.warning("webex.resource_skipped", request=what, reason=str(exc))

    def scan_users(self, keys: Collection[str] | None = None) -> Iterator[ListedUser]:
        """What ``list_users`` lists, with the same requests, paging and checks, each user kept
        as the bytes Webex sent, fingerprinted, and decoded only when read (``webex.listing``)."""
        parts = scim.reading(keys)
        pager = Pager()

        def read(start: int, extra: Mapping[str, str]) -> tuple[RawPage, str]:
            what = f"listing Webex users from #{start}"
            response = self._user_response(start, extra, what)
            try:
                return raw_page(response.content, parts), what
            except (ValueError, RecursionError):  # not JSON, or nested too deep to decode
                raise ScimSession.not_json(response, what) from None

        def take(page: RawPage, what: str) -> list[ListedUser]:
            pager.advance(page.total, page.ids, what, absent=page.absent)
            for _ in range(page.skipped):
                log.warning("webex.resource_skipped", request=what, reason="the SCIM resource has no id")
            return page.users

        for users, _ in self._paged(pager, read, take, parts):
            yield from users

    def _paged(
        self,
        pager: Pager,
        read: Callable[[int, Mapping[str, str]], tuple[_Page, str]],
        take: Callable[[_Page, str], list[_Item]],
        parts: scim.Reading,
    ) -> Iterator[tuple[list[_Item], str]]:
        """The items of each page of users: ``read`` asks for a page (on a thread of its own, the
        next one as soon as ``take`` has checked the current one and moved ``pager`` on)."""
        extra = {} if parts.created else {"excludedAttributes": "meta"}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="webex-page") as ahead:
            pending: Future[tuple[_Page, str]] | None = ahead.submit(read, 1, extra)
            while pending is not None:
                page, what = pending.result()
                items = take(page, what)
                start = pager.start
                pending = ahead.submit(read, start, extra) if start is not None else None
                yield items, what

    def _user_page(self, start: int, extra: Mapping[str, str]) -> tuple[dict[str, Any], str]:
        what = f"listing Webex users from #{start}"
        return self._session.json(self._user_response(start, extra, what), what), what

    def _user_response(self, start: int, extra: Mapping[str, str], what: str) -> httpx.Response:
        params = {"startIndex": str(start), "count": str(PAGE_SIZE), **extra}
        return self._session.send("GET", "/Users", what, params=params)

    def count_users(self) -> int:
        """``totalResults`` of a one-user page."""
        what = "counting Webex users"
        page = self._session.json(
            self._session.send("GET", "/Users", what, params={"startIndex": "1", "count": "1"}), what
        )
        total = page.get("totalResults")
        if not isinstance(total, int) or isinstance(total, bool):
            raise WebexError(f"{what}: the answer has no totalResults; check webex.url points at Webex SCIM")
        return total

    def get_user(self, webex_id: str) -> WebexUser | None:
        what = f"reading Webex user {webex_id}"
        response = self._session.send("GET", _user_path(webex_id), what, allow_404=True)
        return None if response.status_code == 404 else _user(self._session.json(response, what), what)

    def create_user(self, attributes: Attributes, *, active: bool = True) -> WebexUser:
        """POST a new user; ``WebexConflictError`` on 409, ``WebexOutcomeUnknownError`` when the
        request may have been applied without an answer."""
        email = attributes.get("email", "")
        what = f"creating Webex user {email or '(no e-mail)'}"
        try:
            body = scim.to_resource(attributes, active=active)
        except ValueError as exc:
            raise WebexRejectedError(f"{what}: {exc}") from exc
        response = self._session.send("POST", "/Users", what, body=body)
        return self._session.written(
            response,
            what,
            lambda answer: _user(answer, what),
            probably="the user was probably created: look it up by e-mail before trying again",
        )

    def update_user(
        self, webex_id: str, changes: Sequence[Change], *, active: bool | None = None
    ) -> WebexUser:
        """PATCH only what changed (and ``active`` when given); ``WebexNotFoundError`` on 404."""
        what = f"updating Webex user {_subject(webex_id, changes)}"
        address_exists: bool | None = None
        if scim.needs_address_check(changes):
            response = self._session.send("GET", _user_path(webex_id), what)
            address_exists = scim.has_work_address(self._session.json(response, what))
        try:
            operations = scim.patch_operations(changes, active=active, address_exists=address_exists)
        except ValueError as exc:
            raise WebexRejectedError(f"{what}: {exc}") from exc
        if not operations:
            user = self.get_user(webex_id)
            if user is None:
                raise WebexNotFoundError(f"{what}: the Webex user does not exist (any more)", status=404)
            return user
        response = self._session.send("PATCH", _user_path(webex_id), what, body=scim.patch_body(operations))
        if response.status_code == 204 or not response.content:
            user = self.get_user(webex_id)
            if user is None:
                raise WebexNotFoundError(
                    f"{what}: the Webex user vanished right after the update", status=404
                )
            return user
        return _user(self._session.json(response, what), what)

    def delete_user(self, webex_id: str) -> None:
        """DELETE the user; a 404 counts as done."""
        self._session.send("DELETE", _user_path(webex_id), f"deleting Webex user {webex_id}", allow_404=True)

    def create_users(self, users: Sequence[tuple[Attributes, bool]]) -> list[CreateOutcome]:
        """Create up to ``max_batch`` users, given as (attributes, active), in one Bulk request.

        Returns, per user and in order, the new Webex id or the ``WebexError`` of its operation
        (see ``bulk.create_outcomes``: ``WebexConflictError`` for a 409,
        ``WebexOutcomeUnknownError`` when it may have been applied without saying so). Raises
        ``WebexOutcomeUnknownError`` when the answer to the whole request is lost or unreadable
        (any of the users may have been created: look each up by e-mail before creating it
        again), and another ``WebexError`` when the request was refused as a whole (none was).
        """
        if len(users) > self.max_batch:
            raise ValueError(f"a Bulk request takes at most {self.max_batch} creates, not {len(users)}")
        emails = [attributes.get("email", "") for attributes, _ in users]
        operations: list[dict[str, Any]] = []
        refused: dict[int, WebexError] = {}
        for index, (attributes, active) in enumerate(users):
            try:
                operations.append(create_operation(str(index), attributes, active=active))
            except ValueError as exc:
                refused[index] = WebexRejectedError(
                    f"creating Webex user {emails[index] or '(no e-mail)'}: {exc}"
                )
        if not operations:
            return [refused[index] for index in range(len(users))]
        what = f"creating {len(operations)} Webex user(s) in a Bulk request"
        response = self._session.send("POST", "/Bulk", what, body=bulk_request(operations))
        tracking = response.headers.get("TrackingID", "")
        try:
            results = parse_bulk_response(self._session.json(response, what))
        except WebexError as exc:
            raise WebexOutcomeUnknownError(
                f"{exc}; some or all of the users may have been created: look each up by e-mail "
                "before trying again",
                status=response.status_code,
                tracking_id=tracking or None,
            ) from exc
        outcomes = create_outcomes(emails, results, tracking, auth_advice=self._session.auth.advice)
        return [refused.get(index, outcome) for index, outcome in enumerate(outcomes)]

    # -- WebexGroups (webex.groups) ----------------------------------------------------------

    def find_group(self, name: str) -> WebexGroup | None:
        return self._groups.find_group(name)

    def list_groups(self) -> Iterator[WebexGroup]:
        return self._groups.list_groups()

    def get_group(self, group_id: str) -> WebexGroup | None:
        return self._groups.get_group(group_id)

    def create_group(self, name: str, external_id: str, members: Sequence[str] = ()) -> WebexGroup:
        return self._groups.create_group(name, external_id, members, limit=self.max_members)

    def rename_group(self, group_id: str, name: str) -> None:
        self._groups.rename_group(group_id, name)

    def add_members(self, group_id: str, members: Sequence[str]) -> None:
        self._groups.add_members(group_id, members, limit=self.max_members)

    def remove_members(self, group_id: str, members: Sequence[str]) -> None:
        self._groups.remove_members(group_id, members, limit=self.max_members)

    def delete_group(self, group_id: str) -> None:
        self._groups.delete_group(group_id)

    # -- WebexLicenses (webex.licenses) ------------------------------------------------------

    def list_licenses(self) -> list[License]:
        return self._licenses.list_licenses()

    def license_holders(self, license_id: str) -> Iterator[str]:
        return self._licenses.license_holders(license_id)

    def user_licenses(self, webex_id: str) -> frozenset[str]:
        return self._licenses.user_licenses(webex_id)

    def change_licenses(
        self, webex_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> LicenseAnswer:
        return self._licenses.change_licenses(webex_id, add=add, remove=remove)

    def close(self) -> None:
        """Close the connections; log how many requests were sent (``webex.requests``), if any."""
        if self._closed:
            return
        self._closed = True
        snapshot = self.request_stats()
        if snapshot.total:
            log.info(
                "webex.requests",
                total=snapshot.total,
                **{method.lower(): n for method, n in sorted(snapshot.by_method().items())},
                retries=snapshot.retries,
                throttled=snapshot.throttled,
                avg_ms=round(snapshot.avg_latency * 1000, 2),
            )
        self._session.close()

    def __enter__(self) -> ScimWebexClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ScimWebexClient(base_url={self.base_url!r}, org_id={self.config.org_id!r}, "
            f"auth={type(self._session.auth).__name__})"
        )


def _user_path(webex_id: str) -> str:
    return f"/Users/{quote(webex_id, safe='')}"


def _subject(webex_id: str, changes: Sequence[Change]) -> str:
    old_email = next((c.old for c in changes if c.attribute == "email" and c.old), None)
    return f"{webex_id} ({old_email})" if old_email else webex_id


def _resources(page: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    """The resources of a search answer; an answer without them is an error unless it says it
    found nobody (``totalResults`` 0, which RFC 7644 lets leave ``Resources`` out)."""
    resources = page.get("Resources")
    total = page.get("totalResults")
    if resources is None and isinstance(total, int) and not isinstance(total, bool) and total == 0:
        return []
    if not isinstance(resources, list):
        raise WebexError(
            f"{what}: Webex answered 200 without a Resources list; check that webex.url points at Webex SCIM"
        )
    return [r for r in resources if isinstance(r, Mapping)]


def _user(resource: Mapping[str, Any], what: str) -> WebexUser:
    try:
        return scim.from_resource(resource)
    except ValueError as exc:
        raise WebexError(f"{what}: Webex answered a user resource that cannot be read ({exc})") from exc
