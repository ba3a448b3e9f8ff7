"""The opaque ids of Webex's ``/v1`` APIs: ``ciscospark://us/<KIND>/<id>`` in base64. Pure.

Webex writes them in standard base64 without the ``=`` padding (a person's id decodes to
``ciscospark://us/PEOPLE/<SCIM user id>``, an organization's to ``…/ORGANIZATION/<org uuid>``).
Decoding accepts padded and unpadded, standard and URL-safe spellings.
"""

from __future__ import annotations

import base64
import binascii

PREFIX = "ciscospark://us/"
PEOPLE = "PEOPLE"
ORGANIZATION = "ORGANIZATION"
LICENSE = "LICENSE"
ROOM = "ROOM"
MESSAGE = "MESSAGE"


def encode(kind: str, value: str) -> str:
    """The Webex id of ``value`` (a UUID or a longer key) of the resource ``kind``."""
    raw = f"{PREFIX}{kind}/{value}".encode()
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def decode(webex_id: str, kind: str) -> str | None:
    """The part after ``ciscospark://us/<kind>/`` of ``webex_id``, or ``None`` when it is not one."""
    text = webex_id.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    prefix = f"{PREFIX}{kind}/"
    if not raw.startswith(prefix) or len(raw) == len(prefix):
        return None
    return raw[len(prefix) :]
