"""``ScimGroups``: the ``WebexGroups`` port over Webex SCIM 2.0 ``/Groups``; ``ScimWebexClient``
delegates to it, on the same ``ScimSession`` (token, retries, 429/Retry-After, error mapping,
request counts).

Requests per operation (``m`` members, ``n`` members in the group):

* ``find_group``: one ``GET /Groups?filter=displayName eq "…"``.
* ``list_groups``: one ``GET /Groups`` per ``PAGE_SIZE`` groups, without members.
* ``get_group``: ``GET /Groups/{id}`` (without its members) and one ``GET /Groups/{id}/Members``
  per ``MEMBERS_PAGE`` members (a group resource lists at most 500 of them).
* ``create_group``: one ``POST /Groups`` with the first members (at most ``max_members``).
* ``rename_group``, ``add_members``: one ``PATCH``; ``delete_group``: one ``DELETE``.
* ``remove_members``: one ``PATCH`` with one ``remove`` of ``members[value eq "<id>"]`` per
  member. Webex fails the whole PATCH (400 ``noTarget``) when one of these paths matches no
  member, so then, and only then, the group's members are read (``1 + n/500`` GETs) and the
  PATCH is sent again for those still in the group (none left: nothing to send).

Nothing is read before a write: each write costs the requests above, retries aside.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from webex_provisioner.errors import (
    WebexError,
    WebexNotFoundError,
    WebexRejectedError,
    WebexUnavailableError,
)
from webex_provisioner.model import WebexGroup
from webex_provisioner.webex import group_scim
from webex_provisioner.webex.failures import GROUP_ADVICE
from webex_provisioner.webex.session import ScimSession

PAGE_SIZE = 1000
"""Groups asked for per ``GET /Groups`` page (the emulator's largest; Webex may send fewer)."""
MEMBERS_PAGE = 500
"""Members asked for per ``GET /Groups/{id}/Members`` page: Webex's default and largest."""
MAX_PAGES = 10_000
"""The most pages one listing reads when the server announces no total."""
REMOVE_ATTEMPTS = 3
"""PATCHes a ``remove_members`` sends at most (members may leave while it runs)."""

log = structlog.get_logger("webex_provisioner.webex")


class ScimGroups:
    """The organization's SCIM Groups through one ``ScimSession``; safe to share between threads.

    The operations that take members check them against ``limit`` (the client's ``max_members``)
    and refuse more with ``ValueError`` before sending anything.
    """

    def __init__(self, session: ScimSession) -> None:
        self._session = session

    # -- reads --------------------------------------------------------------------------------

    def find_group(self, name: str) -> WebexGroup | None:
        """The group named ``name`` ignoring case (the one spelled exactly so first, when a
        server holds several), without members."""
        what = f'looking up Webex group "{name}"'
        response = self._send("GET", "/Groups", what, params={"filter": group_scim.name_filter(name)})
        items, _ = _items(self._session.json(response, what), "Resources", what, response)
        groups = [_group(item, what) for item in items]
        matching = [group for group in groups if group_scim.same_name(group.name, name)]
        exact = [group for group in matching if group.name == name]
        if exact or matching:
            return (exact or matching)[0]
        return None

    def list_groups(self) -> Iterator[WebexGroup]:
        """Every group, ``PAGE_SIZE`` at a time, without members."""
        for page in self._pages("/Groups", "listing Webex groups", "Resources", "id", PAGE_SIZE):
            for item in page:
                yield _group(item, "listing Webex groups")

    def get_group(self, group_id: str) -> WebexGroup | None:
        """The group and its members of type user; ``None`` when there is none (also when it is
        deleted while its members are read)."""
        what = f"reading Webex group {group_id}"
        params = {"excludedAttributes": "members"}
        response = self._send("GET", _path(group_id), what, params=params, allow_404=True)
        if response.status_code == 404:
            return None
        group = _group(self._session.json(response, what), what)
        try:
            _, users = self._members(group_id)
        except WebexNotFoundError:
            return None
        return WebexGroup(group.id, group.name, group.external_id, frozenset(users))

    def _members(self, group_id: str) -> tuple[set[str], set[str]]:
        """The ids of every member of the group, and of its users (``WebexNotFoundError`` when
        the group does not exist)."""
        every: set[str] = set()
        users: set[str] = set()
        what = f"reading the members of Webex group {group_id}"
        for page in self._pages(f"{_path(group_id)}/Members", what, "members", "value", MEMBERS_PAGE):
            page_every, page_users = group_scim.user_members(page)
            every.update(page_every)
            users.update(page_users)
        return every, users

    def _pages(
        self, path: str, what: str, items_key: str, id_key: str, count: int
    ) -> Iterator[list[Mapping[str, Any]]]:
        """The items of a paged listing, page by page, each item once.

        Steps by the items received. Stops on an empty page, on a page that brings no item not
        seen before (a server that ignores ``startIndex``), once ``startIndex`` passes the total
        announced, and after as many pages as the first page announced items (plus one), so that
        a server announcing ever more cannot keep the listing going.
        """
        seen: set[str] = set()
        start, read, limit = 1, 0, MAX_PAGES
        while read < limit:
            page_what = f"{what} from #{start}"
            params = {"startIndex": str(start), "count": str(count)}
            response = self._send("GET", path, page_what, params=params)
            items, total = _items(self._session.json(response, page_what), items_key, page_what, response)
            if read == 0 and total is not None:
                limit = min(limit, total + 1)
            read += 1
            before = len(seen)
            fresh = _unseen(items, id_key, seen)
            if len(seen) == before:
                if items:
                    log.warning("webex.paging_stuck", what=page_what, items=len(items), seen=before)
                return
            yield fresh
            start += len(items)
            if total is not None and start > total:
                return
        log.warning("webex.paging_capped", what=what, pages=read, items=len(seen))

    # -- writes -------------------------------------------------------------------------------

    def create_group(self, name: str, external_id: str, members: Sequence[str], *, limit: int) -> WebexGroup:
        """POST the group with its first members; ``WebexConflictError`` when the name is taken,
        ``WebexOutcomeUnknownError`` when it may have been created without an answer."""
        wanted = _checked(members, limit, "create a group with")
        what = f'creating Webex group "{name}"'
        body = group_scim.create_body(name, external_id, wanted)
        response = self._send("POST", "/Groups", what, body=body)
        created = self._session.written(
            response,
            what,
            lambda answer: _group(answer, what),
            probably=f"the group was probably created: {GROUP_ADVICE.look_up}",
        )
        return WebexGroup(created.id, created.name, created.external_id, frozenset(wanted))

    def rename_group(self, group_id: str, name: str) -> None:
        """PATCH replace ``displayName``; ``WebexNotFoundError`` for an unknown group,
        ``WebexConflictError`` when the name is taken."""
        what = f'renaming Webex group {group_id} to "{name}"'
        self._send("PATCH", _path(group_id), what, body=group_scim.rename_body(name))

    def add_members(self, group_id: str, members: Sequence[str], *, limit: int) -> None:
        """PATCH add ``members``; users already in are fine (Webex skips them)."""
        wanted = _checked(members, limit, "add")
        if wanted:
            what = f"adding {len(wanted)} member(s) to Webex group {group_id}"
            self._send("PATCH", _path(group_id), what, body=group_scim.add_body(wanted))

    def remove_members(self, group_id: str, members: Sequence[str], *, limit: int) -> None:
        """PATCH remove each of ``members``; when one is not in the group (400 ``noTarget``),
        read the members and remove those still in (see the module docstring)."""
        wanted = _checked(members, limit, "remove")
        for attempt in range(1, REMOVE_ATTEMPTS + 1):
            if not wanted:
                return
            what = f"removing {len(wanted)} member(s) from Webex group {group_id}"
            try:
                self._send("PATCH", _path(group_id), what, body=group_scim.remove_body(wanted))
                return
            except WebexRejectedError as exc:
                if (exc.scim_type or "").casefold() != "notarget":
                    raise
                if attempt == REMOVE_ATTEMPTS:
                    raise WebexUnavailableError(
                        f"{what}: some of them kept leaving the group while they were removed "
                        f"({attempt} attempts; last answer: {exc}); the next cycle tries again",
                        status=exc.status,
                        tracking_id=exc.tracking_id,
                    ) from exc
            current, _ = self._members(group_id)
            wanted = [member for member in wanted if member in current]

    def delete_group(self, group_id: str) -> None:
        """DELETE the group; a 404 counts as done."""
        self._send("DELETE", _path(group_id), f"deleting Webex group {group_id}", allow_404=True)

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        allow_404: bool = False,
    ) -> httpx.Response:
        return self._session.send(
            method, path, what, params=params, body=body, allow_404=allow_404, advice=GROUP_ADVICE
        )


def _path(group_id: str) -> str:
    return f"/Groups/{quote(group_id, safe='')}"


def _checked(members: Sequence[str], limit: int, doing: str) -> list[str]:
    """The members once each; ``ValueError`` when there are more than ``limit``."""
    wanted = group_scim.unique(members)
    if len(wanted) > limit:
        raise ValueError(
            f"one request may {doing} at most {limit} members (max_members), not {len(wanted)}; "
            "send them in several"
        )
    return wanted


def _unseen(items: list[Mapping[str, Any]], id_key: str, seen: set[str]) -> list[Mapping[str, Any]]:
    """The items whose id is not in ``seen`` (once each), adding their ids to it; items without
    an id are kept (reading them says what is wrong with them)."""
    fresh: list[Mapping[str, Any]] = []
    for item in items:
        key = item.get(id_key)
        if isinstance(key, str) and key:
            if key in seen:
                continue
            seen.add(key)
        fresh.append(item)
    return fresh


def _items(
    page: Mapping[str, Any], key: str, what: str, response: httpx.Response
) -> tuple[list[Mapping[str, Any]], int | None]:
    """The items of a list answer and the total it announces (``None`` when it has none).
    ``WebexUnavailableError`` when ``key`` is missing though the total is not 0."""
    raw = page.get(key)
    total = page.get("totalResults", page.get("memberSize"))
    announced = total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None
    if raw is None and announced == 0:
        return [], 0
    if not isinstance(raw, list):
        tracking = response.headers.get("TrackingID")
        raise WebexUnavailableError(
            f"{what}: Webex answered HTTP {response.status_code} without a list of {key} "
            f"[Webex tracking id {tracking or 'none'}]; the listing cannot go on: the next cycle "
            "tries again (check that webex.url points at Webex SCIM if it keeps happening)",
            status=response.status_code,
            tracking_id=tracking,
        )
    return [item for item in raw if isinstance(item, Mapping)], announced


def _group(resource: Mapping[str, Any], what: str) -> WebexGroup:
    try:
        return group_scim.group_of(resource)
    except ValueError as exc:
        raise WebexError(f"{what}: Webex answered a group resource that cannot be read ({exc})") from exc
