"""The in-memory user store and the JSON data file."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from webex_provisioner.emulator import persistence
from webex_provisioner.emulator.errors import ScimError
from webex_provisioner.emulator.store import InMemoryUserStore

from .helpers import ORG


def user(user_id: str, user_name: str, **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "userName": user_name, "meta": {"version": 'W/"1"'}, **extra}


@pytest.fixture
def store() -> InMemoryUserStore:
    return InMemoryUserStore()


def test_create_and_lookups(store: InMemoryUserStore) -> None:
    """A created user is found by id and by userName in any case."""
    store.create(user("1", "Alice@Example.com"))
    assert store.get("1") == user("1", "Alice@Example.com")
    assert store.id_for_user_name("alice@example.COM") == "1"
    assert store.id_for_user_name("bob@example.com") is None


def test_user_name_is_unique_ignoring_case(store: InMemoryUserStore) -> None:
    """A second user with the same userName in another case is refused with 409 uniqueness."""
    store.create(user("1", "alice@example.com"))
    with pytest.raises(ScimError) as caught:
        store.create(user("2", "ALICE@example.com"))
    assert (caught.value.status, caught.value.scim_type) == (409, "uniqueness")
    assert store.get("2") is None


def test_reserved_user_names_are_taken(store: InMemoryUserStore) -> None:
    """A userName reserved for another organization cannot be created."""
    store.reserve("Taken@example.com")
    with pytest.raises(ScimError, match="already in use"):
        store.create(user("1", "taken@EXAMPLE.com"))


def test_users_keep_creation_order(store: InMemoryUserStore) -> None:
    """``users()`` lists users in creation order, also after updates."""
    for n in (3, 1, 2):
        store.create(user(str(n), f"u{n}@example.com"))
    store.update("3", lambda u: {**u, "title": "x"})
    assert [u["id"] for u in store.users()] == ["3", "1", "2"]


def test_a_page_is_a_slice_in_creation_order_with_the_total(store: InMemoryUserStore) -> None:
    """``page(offset, count)`` gives how many users there are and at most ``count`` of them
    from ``offset`` on, in creation order; past the end, none."""
    for n in (3, 1, 2, 5):
        store.create(user(str(n), f"u{n}@example.com"))
    store.delete("2", "2026-05-04T12:00:00.000Z")
    assert [(total, [u["id"] for u in users]) for total, users in (store.page(0, 2), store.page(2, 2))] == [
        (3, ["3", "1"]),
        (3, ["5"]),
    ]
    assert store.page(3, 10) == (3, []) and store.page(0, 0) == (3, [])


def test_update_moves_the_user_name_index(store: InMemoryUserStore) -> None:
    """Renaming a user frees the old userName and takes the new one."""
    store.create(user("1", "old@example.com"))
    store.update("1", lambda u: {**u, "userName": "new@example.com"})
    assert store.id_for_user_name("new@example.com") == "1"
    assert store.id_for_user_name("old@example.com") is None
    store.create(user("2", "old@example.com"))


def test_update_to_a_taken_user_name_changes_nothing(store: InMemoryUserStore) -> None:
    """An update to another user's userName is refused (409) and leaves both users as they were."""
    store.create(user("1", "a@example.com"))
    store.create(user("2", "b@example.com"))
    with pytest.raises(ScimError) as caught:
        store.update("2", lambda u: {**u, "userName": "A@example.com"})
    assert caught.value.status == 409
    assert store.get("2") == user("2", "b@example.com")
    assert store.id_for_user_name("b@example.com") == "2"


def test_update_and_delete_of_unknown_users(store: InMemoryUserStore) -> None:
    """Updating or deleting an unknown id answers 404."""
    with pytest.raises(ScimError) as caught:
        store.update("x", lambda u: u)
    assert caught.value.status == 404
    with pytest.raises(ScimError) as caught:
        store.delete("x", "now")
    assert caught.value.status == 404


def test_delete_archives(store: InMemoryUserStore) -> None:
    """A deleted user is gone, its userName free, and it is kept in the archive with meta.deleted."""
    store.create(user("1", "a@example.com"))
    store.delete("1", "2026-01-01T00:00:00.000Z")
    assert store.get("1") is None and store.id_for_user_name("a@example.com") is None
    assert store.archived() == [
        {**user("1", "a@example.com"), "meta": {"version": 'W/"1"', "deleted": "2026-01-01T00:00:00.000Z"}}
    ]


def test_concurrent_creates_of_one_user_name(store: InMemoryUserStore) -> None:
    """Of many threads creating the same userName at once, exactly one succeeds."""
    outcomes: list[bool] = []
    barrier = threading.Barrier(8)

    def create(n: int) -> None:
        barrier.wait()
        try:
            store.create(user(str(n), "same@example.com"))
            outcomes.append(True)
        except ScimError:
            outcomes.append(False)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False] * 7 + [True]


def test_snapshot_restore_and_generation(store: InMemoryUserStore) -> None:
    """A snapshot restores users, archive and reservations; every change moves the generation."""
    start = store.generation
    store.create(user("1", "a@example.com"))
    store.create(user("2", "b@example.com"))
    store.delete("2", "now")
    store.reserve("r@example.com")
    assert store.generation == start + 4
    copy = InMemoryUserStore()
    copy.restore(json.loads(json.dumps(store.snapshot())))
    assert copy.users() == store.users() and copy.archived() == store.archived()
    assert copy.id_for_user_name("A@example.com") == "1"
    with pytest.raises(ScimError):
        copy.create(user("3", "r@example.com"))
    store.clear()
    assert store.users() == [] and store.archived() == []


class TestDataFile:
    """``--data FILE``: load, atomic save, auto-save."""

    def test_missing_file_loads_nothing(self, tmp_path: Path) -> None:
        """A data file that does not exist yet is not an error."""
        assert persistence.load(tmp_path / "users.json", ORG) is None

    def test_save_and_load(self, tmp_path: Path) -> None:
        """What is saved is loaded back; the directory holds no temporary file afterwards."""
        path = tmp_path / "sub" / "users.json"
        persistence.save(path, ORG, {"users": [user("1", "a@example.com")], "archive": [], "reserved": []})
        assert persistence.load(path, ORG) == {
            "format": persistence.FORMAT,
            "org_id": ORG,
            "users": [user("1", "a@example.com")],
            "archive": [],
            "reserved": [],
        }
        assert [p.name for p in path.parent.iterdir()] == ["users.json"]

    def test_failed_save_keeps_the_old_file(self, tmp_path: Path) -> None:
        """A save that fails half-way leaves the previous content and no temporary file."""
        path = tmp_path / "users.json"
        persistence.save(path, ORG, {"users": []})
        with pytest.raises(TypeError):
            persistence.save(path, ORG, {"users": [object()]})
        assert persistence.load(path, ORG) == {"format": persistence.FORMAT, "org_id": ORG, "users": []}
        assert [p.name for p in tmp_path.iterdir()] == ["users.json"]

    @pytest.mark.parametrize(
        ("content", "fragment"),
        [
            ("not json", "cannot read"),
            ('{"users": []}', "not an emulator data file"),
            (json.dumps({"format": persistence.FORMAT, "org_id": "other"}), "organization 'other'"),
        ],
    )
    def test_unusable_files_are_refused(self, tmp_path: Path, content: str, fragment: str) -> None:
        """A file that is not JSON, not ours, or of another organization is refused with a clear message."""
        path = tmp_path / "users.json"
        path.write_text(content)
        with pytest.raises(persistence.DataFileError, match=fragment):
            persistence.load(path, ORG)

    def test_auto_saver(self, tmp_path: Path) -> None:
        """The auto-saver writes only when the store changed, in the background and on stop."""
        path = tmp_path / "users.json"
        store = InMemoryUserStore()
        saver = persistence.AutoSaver(store, path, ORG, interval=0.01)
        assert not saver.save_if_changed() and not path.exists()
        saver.start()
        store.create(user("1", "a@example.com"))
        for _ in range(500):
            if path.exists():
                break
            threading.Event().wait(0.01)
        store.create(user("2", "b@example.com"))
        saver.stop()
        loaded = persistence.load(path, ORG)
        assert loaded is not None and [u["id"] for u in loaded["users"]] == ["1", "2"]
