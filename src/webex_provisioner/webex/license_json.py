"""The bodies of the licence API (``/v1/licenses``, ``/v1/people/{id}``) read and written. Pure.

Every value read is bounded: ids are printable ASCII of at most ``MAX_ID_LENGTH`` characters,
names at most ``MAX_NAME_LENGTH`` characters (kept as sent, control characters included: they
are escaped where they are printed), units whole numbers from 0 to ``MAX_UNITS``, lists at most
``MAX_ITEMS`` long. What breaks these bounds is a ``WebexError`` naming the licence (or the
place in the answer), never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from webex_provisioner.errors import WebexError
from webex_provisioner.model.licenses import License, is_calling_license

MAX_ID_LENGTH = 1024
MAX_NAME_LENGTH = 256
MAX_UNITS = 2**31 - 1
MAX_ITEMS = 10_000
ADD = "add"
REMOVE = "remove"

CHECK_URL = "check that webex.url points at the Webex API"


def shown(value: object, limit: int = 80) -> str:
    """A value from Webex as an error message quotes it: a text shortened and its control
    characters escaped, a number as it is, anything else by its JSON type."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("…" if len(value) > limit else "")
    if value is None or isinstance(value, int | float):
        return repr(value)[:limit]
    return f"a JSON {'object' if isinstance(value, Mapping) else type(value).__name__}"


def license_id(value: object, where: str) -> str:
    """A licence id as read from an answer; ``WebexError`` when it is not a usable one."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_ID_LENGTH
        or not value.isascii()
        or not value.isprintable()
    ):
        raise WebexError(f"{where}: a licence id is not a printable id ({shown(value)}); {CHECK_URL}")
    return value


def _units(item: Mapping[str, Any], key: str, name: str, what: str) -> int | None:
    """A count of units, ``None`` when the licence does not have it; ``WebexError`` when it is
    not a whole number from 0 to ``MAX_UNITS``."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_UNITS:
        raise WebexError(
            f"{what}: licence {name} has {key} {shown(value, 40)}, not a whole number from 0 to "
            f"{MAX_UNITS}; nothing is concluded from the listing ({CHECK_URL})"
        )
    return value


def license_of(item: object, what: str) -> License | None:
    """The ``License`` of one element of ``GET /v1/licenses``; ``None`` when it has no units to
    count (Webex leaves out what does not apply to a licence); ``WebexError`` when it is not
    readable."""
    if not isinstance(item, Mapping):
        raise WebexError(f"{what}: an element of items is not an object; {CHECK_URL}")
    lid = license_id(item.get("id"), what)
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise WebexError(
            f"{what}: licence {lid} has no name of 1 to {MAX_NAME_LENGTH} characters "
            f"({shown(name, 40)}); {CHECK_URL}"
        )
    about = f"{lid} ({shown(name)})"
    total = _units(item, "totalUnits", about, what)
    consumed = _units(item, "consumedUnits", about, what)
    if total is None or consumed is None:
        return None
    return License(lid, name, total, consumed, calling=is_calling_license(name))


def items_of(body: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """The list under ``key`` (at most ``MAX_ITEMS`` long); ``WebexError`` when it is missing
    or too long."""
    items = body.get(key)
    if not isinstance(items, list):
        raise WebexError(f"{what}: the answer has no list of {key}; {CHECK_URL}")
    if len(items) > MAX_ITEMS:
        raise WebexError(f"{what}: the answer lists {len(items)} {key}, more than {MAX_ITEMS}; {CHECK_URL}")
    return items


def held_of(body: Mapping[str, Any], what: str) -> frozenset[str]:
    """The licence ids of ``licenses`` in a person or an assignment answer."""
    return frozenset(license_id(value, what) for value in items_of(body, "licenses", what))


def change_body(person: str, org: str | None, add: Sequence[str], remove: Sequence[str]) -> dict[str, Any]:
    """The body of ``PATCH /v1/licenses/users``: the removes first, then the adds, each licence
    once, without properties."""
    body: dict[str, Any] = {"personId": person}
    if org:
        body["orgId"] = org
    changes = [(lid, REMOVE) for lid in dict.fromkeys(remove)] + [(lid, ADD) for lid in dict.fromkeys(add)]
    body["licenses"] = [{"id": lid, "operation": operation} for lid, operation in changes]
    return body
