"""A page of Webex users kept as Webex sent it: each resource's bytes are its fingerprint, and it
is decoded only when read (``ScimWebexClient.scan_users``, docs/drift.md).

A drift check lists every user, and most are as they were at the last check: hashing the bytes
of a resource costs a fraction of decoding it and reading it as a ``WebexUser``. The page is
scanned once by msgspec (every resource is still checked to be JSON, and its ``id`` read); a
page msgspec refuses (a lone surrogate, a number beyond a float) is decoded by the standard
library instead, and each of its resources is fingerprinted in a canonical form: as valid, only
not byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from webex_provisioner.model import ListedUser, WebexUser
from webex_provisioner.webex import scim
from webex_provisioner.webex.body import decode_json


class _Page(msgspec.Struct):
    resources: list[msgspec.Raw] | None = msgspec.field(default=None, name="Resources")
    total: Any = msgspec.field(default=None, name="totalResults")


class _Identified(msgspec.Struct):
    id: Any = None


_PAGE = msgspec.json.Decoder(_Page)
_IDENTIFIED = msgspec.json.Decoder(_Identified)


@dataclass(frozen=True, slots=True)
class RawPage:
    """A page of a listing: its ``totalResults`` as sent, the ``id`` of each resource in order
    (``None`` for one without, or not an object; ``ids`` is ``None`` when the page has no
    ``Resources`` list, ``absent``: none at all), the users it lists, and how many objects were
    left out for want of an id (``skipped``)."""

    total: object
    ids: list[object] | None
    users: list[ListedUser]
    absent: bool = False
    skipped: int = 0


class ListedResource(ListedUser):
    """A user of a page: the bytes Webex sent, which are also its fingerprint (or, from a page
    msgspec refused, the resource as the standard library decoded it)."""

    __slots__ = ("_parts", "_source")

    def __init__(
        self, user_id: str, fingerprint: bytes, parts: scim.Reading, source: bytes | Mapping[str, Any]
    ) -> None:
        self.id = user_id  # as ListedUser.__init__ does, without the call: a page has a thousand
        self.fingerprint = fingerprint
        self._parts = parts
        self._source = source

    def read(self) -> WebexUser:
        source = self._source
        resource = decode_json(source) if isinstance(source, bytes) else source
        return scim.from_resource(resource, self._parts)


_NOT_AN_OBJECT = object()


def raw_page(content: bytes, parts: scim.Reading) -> RawPage:
    """The page of users in ``content`` (a listing's answer). Raises ``ValueError`` when it is
    not a JSON object (``RecursionError`` when nested too deep), as ``decode_json`` does."""
    try:
        page = _PAGE.decode(content)
    except msgspec.MsgspecError:
        return _decoded_page(decode_json(content), parts)
    if page.resources is None:
        return RawPage(page.total, None, [], absent=True)
    return _listed(page.total, _scanned(page.resources), parts)


def _scanned(resources: list[msgspec.Raw]) -> Iterator[tuple[object, bytes | None]]:
    """Each resource's ``id`` and bytes (its fingerprint and what it is read from)."""
    identify = _IDENTIFIED.decode
    for raw in resources:
        try:
            value = identify(raw).id
        except msgspec.MsgspecError:
            yield _NOT_AN_OBJECT, None
            continue
        yield value, bytes(raw)


def _decoded_page(page: object, parts: scim.Reading) -> RawPage:
    if not isinstance(page, dict):
        raise ValueError("the answer is not a JSON object")
    resources = page.get("Resources")
    if not isinstance(resources, list):
        return RawPage(page.get("totalResults"), None, [], absent=resources is None)
    return _listed(page.get("totalResults"), _decoded(resources), parts)


def _decoded(resources: list[Any]) -> Iterator[tuple[object, Mapping[str, Any] | None]]:
    """Each resource's ``id`` and the resource itself (fingerprinted in a canonical form)."""
    for resource in resources:
        if isinstance(resource, Mapping):
            yield resource.get("id"), resource
        else:
            yield _NOT_AN_OBJECT, None


def _listed(
    total: object, entries: Iterable[tuple[object, bytes | Mapping[str, Any] | None]], parts: scim.Reading
) -> RawPage:
    """The page of ``entries`` (each resource's ``id`` and source): objects without an id are
    counted and skipped, what is not an object is counted with no id."""
    ids: list[object] = []
    users: list[ListedUser] = []
    skipped = 0
    for value, source in entries:
        if value is _NOT_AN_OBJECT:
            ids.append(None)
            continue
        ids.append(value)
        user_id = value if type(value) is str and value else scim.resource_id(value)
        if user_id is None or source is None:
            skipped += 1
        elif isinstance(source, bytes):
            users.append(ListedResource(user_id, source, parts, source))
        else:
            canonical = json.dumps(source, sort_keys=True, default=repr).encode()
            users.append(ListedResource(user_id, canonical, parts, source))
    return RawPage(total, ids, users, skipped=skipped)
