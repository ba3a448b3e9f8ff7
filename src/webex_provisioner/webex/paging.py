"""Paging through a SCIM listing without trusting the server's arithmetic. Pure: no I/O.

A server that ignores ``startIndex``, omits or inflates ``totalResults``, or announces an
``itemsPerPage`` larger than the page it sent would make a naive client loop forever (while the
cycle lock's heartbeat keeps renewing, so a standby never takes over) or skip users silently.
``Pager`` steps by the resources actually received, stops once the announced total is reached,
and raises ``WebexError`` when a page does not advance, repeats users already listed, comes
without ``Resources`` or ``totalResults``, or when there are more pages than the total allows.
A listing that raises is incomplete: nothing may be concluded from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webex_provisioner.errors import WebexError

UNTRUSTED = (
    "the listing cannot be trusted, so nothing is concluded from it (no user is created or linked "
    "from it); check that webex.url points at Webex SCIM and that no proxy alters the answers"
)


class Pager:
    """Where a listing stands: ``start`` is the ``startIndex`` to ask for next, ``None`` once done."""

    def __init__(self) -> None:
        self.start: int | None = 1
        self.received = 0
        self.pages = 0
        self._max_pages: int | None = None
        self._seen: set[int] = set()
        """The hashes of the ids listed so far: not the ids themselves, which would keep each page's
        memory in use (one small string among its thousands of objects) for the whole listing."""

    def take(self, page: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
        """The resources of ``page`` (the answer to ``startIndex=start``), after checking that it
        advances the listing; moves ``start`` on (to ``None`` at the end)."""
        resources = page.get("Resources")
        if not isinstance(resources, list):
            self.advance(page.get("totalResults"), None, what, absent=resources is None)
            return []
        ids = [r.get("id") if type(r) is dict or isinstance(r, Mapping) else None for r in resources]
        self.advance(page.get("totalResults"), ids, what)
        return [r for r in resources if type(r) is dict or isinstance(r, Mapping)]

    def advance(
        self, total_value: object, ids: list[object] | None, what: str, *, absent: bool = False
    ) -> None:
        """Check a page and move ``start`` on (to ``None`` at the end): ``total_value`` is its
        ``totalResults``, ``ids`` the ``id`` of each of its resources in order (``None`` for one
        without), or ``None`` when the page has no ``Resources`` list (``absent``: none at all)."""
        total = _total(total_value, what)
        if ids is None and absent and total == 0 and self.received == 0:
            self.start = None  # RFC 7644 §3.4.2: Resources may be left out of an empty result
            return
        if ids is None:
            raise _untrusted(what, "Webex answered 200 without a Resources list")
        self.pages += 1
        if self._max_pages is None:
            self._max_pages = total + 1
        if not ids:
            if self.received < total:
                raise _untrusted(
                    what, f"the page is empty after {self.received} of the {total} users announced"
                )
            self.start = None
            return
        self._check_new(ids, what)
        self.received += len(ids)
        if self.received >= total:
            self.start = None
        elif self.pages >= self._max_pages:
            raise _untrusted(what, f"{self.pages} pages did not bring the {total} users announced")
        else:
            self.start = (self.start or 1) + len(ids)

    def _check_new(self, ids: list[object], what: str) -> None:
        texts = [user_id for user_id in ids if type(user_id) is str]
        listed = set(map(hash, texts))
        if len(listed) == len(texts) and self._seen.isdisjoint(listed):
            self._seen |= listed  # the usual case, in a few set operations per page
            return
        seen = set(self._seen)
        for user_id in texts:
            key = hash(user_id)
            if key in seen:
                raise _untrusted(
                    what,
                    f"the page lists user {user_id[:80]!r} again: the server ignores startIndex or "
                    "reorders the users while they are listed",
                )
            seen.add(key)


def _total(total: object, what: str) -> int:
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise _untrusted(what, f"the answer has no usable totalResults ({repr(total)[:40]})")
    return total


def _untrusted(what: str, reason: str) -> WebexError:
    return WebexError(f"{what}: {reason}; {UNTRUSTED}")
