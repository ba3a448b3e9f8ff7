"""How ``InMemoryStateStore`` applies a batch of records all or nothing: the links of users and of
groups are staged over the stored ones as the records go, and written only when the whole batch
passed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Bindings(Generic[T]):
    """Links (of users, or of groups) by anchor, each Webex id bound to one anchor at most, as a
    batch leaves them: staged over ``stored`` and ``owners`` (Webex id -> anchor) until ``apply``."""

    def __init__(self, stored: dict[str, T], owners: dict[str, str], webex_id: Callable[[T], str]) -> None:
        self._stored, self._owners, self._webex_id = stored, owners, webex_id
        self._links: dict[str, T | None] = {}  # anchor -> link after the batch (None: dropped)
        self._bound: dict[str, str | None] = {}  # Webex id -> anchor after the batch (None: free)

    def get(self, anchor: str) -> T | None:
        return self._links[anchor] if anchor in self._links else self._stored.get(anchor)

    def owner(self, webex_id: str) -> str | None:
        """The anchor ``webex_id`` is linked to, as the batch stands."""
        return self._bound[webex_id] if webex_id in self._bound else self._owners.get(webex_id)

    def drop(self, anchor: str) -> None:
        if (old := self.get(anchor)) is not None:
            self._links[anchor] = None
            if self.owner(self._webex_id(old)) == anchor:
                self._bound[self._webex_id(old)] = None

    def put(self, anchor: str, link: T) -> None:
        """Link ``anchor`` as ``link`` says, in place of its previous link (whose Webex id is freed).
        The caller checked that the new Webex id is free or already this anchor's."""
        self.drop(anchor)
        self._links[anchor] = link
        self._bound[self._webex_id(link)] = anchor

    def apply(self) -> None:
        """Write what the batch staged into the stored links and owners."""
        for anchor, link in self._links.items():
            if link is None:
                self._stored.pop(anchor, None)
            else:
                self._stored[anchor] = link
        for webex_id, owner in self._bound.items():
            if owner is None:
                self._owners.pop(webex_id, None)
            else:
                self._owners[webex_id] = owner
