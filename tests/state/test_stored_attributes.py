"""A link's applied attributes, as a SQL store loads them: kept encoded until used, and readable
once without being kept decoded (a drift check compares every link's)."""

from __future__ import annotations

from pathlib import Path

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
