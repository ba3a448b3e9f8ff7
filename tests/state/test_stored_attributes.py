"""A link's applied attributes, as a SQL store loads them: kept encoded until used, and readable
once without being kept decoded (a drift check compares every link's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.state.state_helpers import entry, link
from webex_provisioner.model.users import EncodedAttributes, read_once
from webex_provisioner.ports import Record
from webex_provisioner.state import open_state_store
from webex_provisioner.state.codec import StoredAttributes


def test_a_loaded_link_reads_its_applied_attributes_once_without_keeping_them(tmp_path: Path) -> None:
    """read_once gives the values of a link loaded from SQLite and leaves them encoded; reading
    them as a mapping decodes and keeps them, as before."""
    store = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        store.record([Record(entry("anchor-1"), save_link=link(1))])
        [loaded] = list(store.links())
    finally:
        store.close()
    applied = loaded.applied
    assert isinstance(applied, StoredAttributes) and isinstance(applied, EncodedAttributes)
    assert read_once(applied) == {"email": "user1@example.com", "firstName": "First1"}
    assert applied._decoded is None
    assert dict(applied) == {"email": "user1@example.com", "firstName": "First1"}
    assert applied._decoded is not None
    plain = {"email": "x@example.com"}
    assert read_once(plain) is plain


def test_stored_text_decodes_as_the_standard_library_would() -> None:
    """Stored attributes are decoded fast, but what the fast decoder refuses (a value that is
    not text, a lone surrogate, a repeated key) decodes exactly as ``json.loads`` would, and
    text that is not JSON is still an error."""
    for text in ('{"title": "Zoë", "n": 1}', '{"a": "\\ud800"}', '{"a": "1", "a": "2"}', '{"é": "日本"}'):
        assert read_once(StoredAttributes(text)) == json.loads(text), text
        assert dict(StoredAttributes(text)) == json.loads(text), text
    with pytest.raises(ValueError):
        read_once(StoredAttributes("{not json"))
