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
from collections.abc import Mapping
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
    """A user of a page, kept as the bytes Webex sent (or, from a page msgspec refused, as
    decoded by the standard library)."""

    __slots__ = ("_parts", "_source")

    def __init__(
        self, user_id: str, fingerprint: bytes, parts: scim.Reading, source: msgspec.Raw | Mapping[str, Any]
    ) -> None:
        self.id = user_id  # as ListedUser.__init__ does, without the call: a page has a thousand
        self.fingerprint = fingerprint
        self._parts = parts
        self._source = source

    def read(self) -> WebexUser:
        source = self._source
        resource = decode_json(bytes(source)) if isinstance(source, msgspec.Raw) else source
        return scim.from_resource(resource, self._parts)


def raw_page(content: bytes, parts: scim.Reading) -> RawPage:
    """The page of users in ``content`` (a listing's answer). Raises ``ValueError`` when it is
    not a JSON object (``RecursionError`` when nested too deep), as ``decode_json`` does."""
    try:
        page = _PAGE.decode(content)
    except msgspec.MsgspecError:
        return _decoded_page(decode_json(content), parts)
    if page.resources is None:
        return RawPage(page.total, None, [], absent=True)
    ids: list[object] = []
    users: list[ListedUser] = []
    skipped = 0
    identify = _IDENTIFIED.decode
    for raw in page.resources:
        try:
            value = identify(raw).id
        except msgspec.MsgspecError:  # not an object: counted, not listed
            ids.append(None)
            continue
        ids.append(value)
        user_id = value if type(value) is str and value else scim.resource_id(value)
        if user_id is not None:  # its bytes are its fingerprint (the engine hashes what it keeps)
            users.append(ListedResource(user_id, bytes(raw), parts, raw))
        else:
            skipped += 1
    return RawPage(page.total, ids, users, skipped=skipped)


def _decoded_page(page: object, parts: scim.Reading) -> RawPage:
    if not isinstance(page, dict):
        raise ValueError("the answer is not a JSON object")
    resources = page.get("Resources")
    if not isinstance(resources, list):
        return RawPage(page.get("totalResults"), None, [], absent=resources is None)
    ids: list[object] = []
    users: list[ListedUser] = []
    skipped = 0
    for resource in resources:
        if not isinstance(resource, Mapping):
            ids.append(None)
            continue
        value = resource.get("id")
        ids.append(value)
        user_id = scim.resource_id(value)
        if user_id is None:
            skipped += 1
            continue
        canonical = json.dumps(resource, sort_keys=True, default=repr).encode()
        users.append(ListedResource(user_id, canonical, parts, resource))
    return RawPage(page.get("totalResults"), ids, users, skipped=skipped)
