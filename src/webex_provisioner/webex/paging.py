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
        total = _total(page, what)
        resources = page.get("Resources")
        if resources is None and total == 0 and self.received == 0:
            self.start = None  # RFC 7644 §3.4.2: Resources may be left out of an empty result
            return []
        if not isinstance(resources, list):
            raise _untrusted(what, "Webex answered 200 without a Resources list")
        self.pages += 1
        if self._max_pages is None:
            self._max_pages = total + 1
        if not resources:
            if self.received < total:
                raise _untrusted(
                    what, f"the page is empty after {self.received} of the {total} users announced"
                )
            self.start = None
            return []
        self._check_new(resources, what)
        self.received += len(resources)
        if self.received >= total:
            self.start = None
        elif self.pages >= self._max_pages:
            raise _untrusted(what, f"{self.pages} pages did not bring the {total} users announced")
        else:
            self.start = (self.start or 1) + len(resources)
        return [r for r in resources if isinstance(r, Mapping)]

    def _check_new(self, resources: list[Any], what: str) -> None:
        listed: set[int] = set()
        for resource in resources:
            user_id = resource.get("id") if isinstance(resource, Mapping) else None
            if not isinstance(user_id, str):
                continue
            key = hash(user_id)
            if key in self._seen or key in listed:
                raise _untrusted(
                    what,
                    f"the page lists user {user_id[:80]!r} again: the server ignores startIndex or "
                    "reorders the users while they are listed",
                )
            listed.add(key)
        self._seen |= listed


def _total(page: Mapping[str, Any], what: str) -> int:
    total = page.get("totalResults")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise _untrusted(what, f"the answer has no usable totalResults ({repr(total)[:40]})")
    return total


def _untrusted(what: str, reason: str) -> WebexError:
    return WebexError(f"{what}: {reason}; {UNTRUSTED}")
