"""Paging through a ``/v1`` listing by its ``Link: <…>; rel="next"`` header. Pure: no I/O.

Webex's ``/v1`` APIs split long results into pages and give the URL of the next one in an RFC
8288 ``Link`` header (the emulator does the same). ``LinkPager`` follows it without trusting it:
the next URL must stay on the listing's own origin and path (the token is never sent anywhere
else: only its query is taken), must not repeat a page already asked for, and the pages may not
outnumber ``max_pages``. Each of these, broken, is a ``WebexError``: a listing that raises is
incomplete, and nothing may be concluded from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from webex_provisioner.errors import WebexError

MAX_QUERY_LENGTH = 4096
"""The longest query of a next-page URL followed."""
UNTRUSTED = (
    "the listing cannot be trusted, so nothing is concluded from it; check that webex.url points "
    "at the Webex API and that no proxy alters the answers"
)


class LinkPager:
    """Where a listing of ``url`` stands: ``params`` is the query of the page to ask for next,
    ``None`` once the last page is read."""

    def __init__(self, url: httpx.URL, params: Mapping[str, str], *, max_pages: int) -> None:
        self.url = url
        self.params: dict[str, str] | None = dict(params)
        self.pages = 0
        self.max_pages = max_pages
        self._asked: set[tuple[tuple[str, str], ...]] = {_key(self.params)}

    def follow(self, links: Mapping[str | None, Mapping[str, str]], what: str) -> None:
        """Take the ``links`` of the page just read (``httpx.Response.links``): ``params``
        becomes the query of its ``next`` link, or ``None`` when it has none. ``WebexError``
        when the link leaves the listing, repeats a page, or one page too many would follow."""
        self.pages += 1
        target = links.get("next", {}).get("url")
        if not target:
            self.params = None
            return
        params = self._next_params(target, what)
        key = _key(params)
        if key in self._asked:
            raise untrusted(
                what, "the next page link names a page already read: the listing does not advance"
            )
        if self.pages >= self.max_pages:
            raise untrusted(
                what, f"{self.pages} pages and the listing goes on (expected at most {self.max_pages})"
            )
        self._asked.add(key)
        self.params = params

    def _next_params(self, target: str, what: str) -> dict[str, str]:
        try:
            url = self.url.join(target)
        except (httpx.InvalidURL, ValueError) as exc:
            raise untrusted(what, f"the next page link is not a URL ({exc})") from exc
        same = (url.scheme, url.host, url.port, url.path) == (
            self.url.scheme,
            self.url.host,
            self.url.port,
            self.url.path,
        )
        if not same:
            raise untrusted(
                what,
                f"the next page link leads elsewhere ({str(url.copy_with(query=None))[:120]!r}, not "
                f"{str(self.url)[:120]!r}); it is not followed",
            )
        if len(url.query) > MAX_QUERY_LENGTH:
            raise untrusted(what, f"the next page link has a query of {len(url.query)} bytes")
        return dict(url.params.items())


def _key(params: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(params.items()))


def untrusted(what: str, reason: str) -> WebexError:
    """The error of a ``/v1`` listing that cannot go on."""
    return WebexError(f"{what}: {reason}; {UNTRUSTED}")
