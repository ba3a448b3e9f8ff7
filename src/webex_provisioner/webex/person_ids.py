"""The ids the ``/v1`` APIs (People, licences) give the users and the organization SCIM names
by their UUID. Pure.

Such an id is the base64 text of ``ciscospark://<region>/<KIND>/<key>``, which Webex writes
without ``=`` padding: a person's key is the SCIM user id (``WebexUser.id``), the
organization's its UUID (``webex.org_id``). Reading one accepts it padded or not, in the
standard or the URL-safe alphabet; anything else (too long, not base64, another kind of
resource, a key that is not one printable word) is not a person.
"""

from __future__ import annotations

import base64
import binascii

SCHEME = "ciscospark://"
REGION = "us"
PERSON = "PEOPLE"
ORGANIZATION = "ORGANIZATION"
MAX_ID_LENGTH = 1024
"""The longest ``/v1`` id read (a person's is about 90 characters)."""
MAX_KEY_LENGTH = 256
"""The longest SCIM user id accepted inside a person id."""

_URL_SAFE = str.maketrans("-_", "+/")


def _wrap(kind: str, key: str) -> str:
    text = f"{SCHEME}{REGION}/{kind}/{key}"
    return base64.b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def person_id(scim_id: str) -> str:
    """The People API id of the SCIM user ``scim_id``."""
    return _wrap(PERSON, scim_id)


def organization_id(org_uuid: str) -> str:
    """The ``/v1`` id of the organization whose SCIM UUID is ``org_uuid``."""
    return _wrap(ORGANIZATION, org_uuid)


def _unwrapped(webex_id: str) -> tuple[str, str] | None:
    """(kind, key) of a ``/v1`` id, or ``None`` when it is not one."""
    if not webex_id or len(webex_id) > MAX_ID_LENGTH or not webex_id.isascii():
        return None
    letters = webex_id.strip().translate(_URL_SAFE).rstrip("=")
    try:
        text = base64.b64decode(letters + "=" * (-len(letters) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    if not text.startswith(SCHEME):
        return None
    parts = text[len(SCHEME) :].split("/", 2)
    if len(parts) != 3 or not parts[0]:
        return None
    return parts[1], parts[2]


def scim_id_of(webex_id: object) -> str | None:
    """The SCIM user id inside a People API id; ``None`` when ``webex_id`` is not the id of a
    person (a workspace, another resource, or no id at all)."""
    unwrapped = _unwrapped(webex_id) if isinstance(webex_id, str) else None
    if unwrapped is None or unwrapped[0] != PERSON:
        return None
    key = unwrapped[1]
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or any(c.isspace() for c in key):
        return None
    return key
