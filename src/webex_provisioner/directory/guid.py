"""Active Directory's ``objectGUID``: 16 binary bytes on the wire, a canonical GUID string as anchor.

AD stores a GUID in Microsoft's mixed-endian layout: the first three fields little-endian, the
last eight bytes as they are. ``{4171d740-9d8c-44ec-82eb-abe649609c4a}`` (what PowerShell's
``Get-ADUser`` shows) travels as ``40 d7 71 41 8c 9d ec 44 82 eb ab e6 49 60 9c 4a``. Reading the
bytes as a big-endian UUID would give a different, wrong, anchor; this module converts both ways
and builds the escaped binary filter (``(objectGUID=\\40\\d7\\71...)``) that finds an entry by it.
"""

from __future__ import annotations

import uuid

GUID_LENGTH = 16


def guid_from_bytes(raw: bytes) -> str:
    """The canonical, lower-case GUID string of a binary ``objectGUID`` value.

    Raises ``ValueError`` when ``raw`` is not 16 bytes long (not an ``objectGUID``).
    """
    if len(raw) != GUID_LENGTH:
        raise ValueError(f"an objectGUID is {GUID_LENGTH} bytes, this value is {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


def guid_to_bytes(text: str) -> bytes:
    """The binary ``objectGUID`` of a GUID string (with or without braces or dashes).

    Raises ``ValueError`` naming the value when it is not a GUID.
    """
    try:
        return uuid.UUID(text.strip()).bytes_le
    except ValueError:
        raise ValueError(
            f"{text!r} is not a GUID; write it like 4171d740-9d8c-44ec-82eb-abe649609c4a"
        ) from None


def escape_binary(raw: bytes) -> str:
    """Every byte as ``\\xx``: a binary value as an RFC 4515 filter assertion value."""
    return "".join(f"\\{byte:02x}" for byte in raw)


def guid_filter(attribute: str, text: str) -> str:
    """``(objectGUID=\\xx\\xx...)`` finding the entry whose GUID is ``text``; ``ValueError`` if it is
    not a GUID."""
    return f"({attribute}={escape_binary(guid_to_bytes(text))})"


def is_guid(text: str) -> bool:
    """Whether ``text`` reads as a GUID (so a key may be looked up as an objectGUID)."""
    try:
        uuid.UUID(text.strip())
    except ValueError:
        return False
    return True
