"""``decode_json``, how Webex answers are decoded: msgspec's speed, the standard library's
outcome on anything unusual."""

from __future__ import annotations

import json

import pytest

from webex_provisioner.webex.body import decode_json


@pytest.mark.parametrize(
    "text",
    [
        b'{"Resources": [{"id": "u-1", "userName": "\\u00e9l\\u00e8ve@example.com", "active": true}]}',
        '{"a": [1, 2.5, null, false, "x"]}',
        b'{"a": 1, "a": 2}',  # a repeated key: the last one wins
        b'"\\ud800"',  # a lone surrogate, which msgspec refuses
        b"1e999",  # beyond a float, which msgspec refuses
        b'{"n": 123456789012345678901234567890}',
    ],
)
def test_the_value_is_the_standard_librarys(text: bytes | str) -> None:
    """Whatever the text, the value decoded is the one ``json.loads`` gives."""
    assert decode_json(text) == json.loads(text)


@pytest.mark.parametrize("text", [b"", b"{", b"not json", b"\xff\xfe", b"NaN x"])
def test_what_is_not_json_is_a_value_error(text: bytes) -> None:
    """Text that is not JSON raises ``ValueError``, as ``json.loads`` does."""
    with pytest.raises(ValueError):
        decode_json(text)


def test_nesting_too_deep_is_a_recursion_error() -> None:
    """A value nested beyond what the interpreter can hold raises ``RecursionError`` (the
    session reads it as a body that is not JSON), never a crash."""
    with pytest.raises(RecursionError):
        decode_json(b"[" * 100_000 + b"]" * 100_000)
