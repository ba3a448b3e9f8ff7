"""objectGUID: the mixed-endian binary form, the canonical string, and the escaped filter."""

from __future__ import annotations

import uuid

import pytest

from webex_provisioner.directory.entries import anchor_filter, anchor_value
from webex_provisioner.directory.guid import (
    escape_binary,
    guid_filter,
    guid_from_bytes,
    guid_to_bytes,
    is_guid,
)

# PowerShell's Get-ADUser shows {4171d740-9d8c-44ec-82eb-abe649609c4a}; on the wire the first
# three fields are little-endian and the last eight bytes as they are.
WIRE = bytes.fromhex("40d771418c9dec4482ebabe649609c4a")
TEXT = "4171d740-9d8c-44ec-82eb-abe649609c4a"


def test_bytes_to_canonical_string_is_mixed_endian() -> None:
    """The 16 wire bytes become the GUID string AD tools show, not the big-endian reading."""
    assert guid_from_bytes(WIRE) == TEXT
    assert guid_from_bytes(WIRE) != str(uuid.UUID(bytes=WIRE))


def test_string_to_bytes_round_trips() -> None:
    """Braces, upper case and dashes do not matter; the bytes are the wire bytes."""
    assert guid_to_bytes(TEXT) == WIRE
    assert guid_to_bytes("{" + TEXT.upper() + "}") == WIRE
    assert guid_from_bytes(guid_to_bytes(TEXT)) == TEXT


def test_filter_escapes_every_byte() -> None:
    """The filter carries each byte as \\xx, so bytes like '(' or NUL cannot break it."""
    assert guid_filter("objectGUID", TEXT) == "(objectGUID=" + "".join(f"\\{b:02x}" for b in WIRE) + ")"
    assert escape_binary(b"\x00()*\\") == "\\00\\28\\29\\2a\\5c"


def test_errors_name_the_value() -> None:
    """A value that is not a GUID is rejected with the value in the message."""
    with pytest.raises(ValueError, match="'not-a-guid' is not a GUID"):
        guid_to_bytes("not-a-guid")
    with pytest.raises(ValueError, match="16 bytes"):
        guid_from_bytes(b"\x01\x02")
    assert not is_guid("alice@example.com")
    assert is_guid(TEXT)


def test_entries_use_the_guid_for_an_objectguid_anchor() -> None:
    """anchor_value turns a binary objectGUID into the string; anchor_filter finds it back, and
    returns None for a key that cannot be a GUID (an e-mail)."""
    assert anchor_value({"objectGUID": [WIRE]}, "objectGUID") == TEXT
    assert anchor_filter("objectGUID", TEXT) == guid_filter("objectGUID", TEXT)
    assert anchor_filter("objectGUID", "alice@example.com") is None
