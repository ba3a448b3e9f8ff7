"""The ``--data FILE`` option: users, groups and licences loaded from a JSON file at start,
saved back atomically. Files written before groups and licences existed load unchanged.

The file is written to a temporary file in the same directory, flushed to disk and renamed over
the old one, so a crash leaves either the old or the new content, never half of one. While the
emulator runs, a background thread saves at most once per ``interval`` seconds when something
changed; stopping the emulator saves once more.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol

FORMAT = "webex-provisioner-emulator/1"


class Snapshots(Protocol):
    """What ``AutoSaver`` saves: a change counter and the data (a ``UserStore``, an ``Emulator``)."""

    @property
    def generation(self) -> int: ...

    def snapshot(self) -> dict[str, Any]: ...


class DataFileError(Exception):
    """The data file cannot be used (unreadable, not JSON, another format or organization)."""


def load(path: Path, org_id: str) -> dict[str, Any] | None:
    """The snapshot in ``path``, or ``None`` when the file does not exist yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataFileError(f"cannot read the emulator data file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataFileError(f"{path} is not an emulator data file (expected format {FORMAT!r})")
    if data.get("org_id") != org_id:
        raise DataFileError(
            f"{path} holds the users of organization {data.get('org_id')!r}, not {org_id!r}: "
            "use another file or the same --org-id"
        )
    return data


def save(path: Path, org_id: str, snapshot: dict[str, Any]) -> None:
    """Write ``snapshot`` to ``path`` atomically (temporary file, fsync, rename)."""
    data = {"format": FORMAT, "org_id": org_id, **snapshot}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class AutoSaver:
    """Saves a store (or a whole emulator) to its data file in the background whenever it
    changed, and on ``stop``."""

    def __init__(self, store: Snapshots, path: Path, org_id: str, interval: float = 1.0) -> None:
        self.store = store
        self.path = path
        self.org_id = org_id
        self.interval = interval
        self._saved_generation = store.generation
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="emulator-autosave", daemon=True)
        self._thread.start()

    def save_if_changed(self) -> bool:
        """Save when the store changed since the last save; tell whether it did."""
        with self._lock:
            generation = self.store.generation
            if generation == self._saved_generation:
                return False
            save(self.path, self.org_id, self.store.snapshot())
            self._saved_generation = generation
            return True

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self.save_if_changed()

    def stop(self) -> None:
        """Stop the thread and save what is left."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.save_if_changed()
