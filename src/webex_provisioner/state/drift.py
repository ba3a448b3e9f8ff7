"""``SqlDriftBookkeeping``: the ``DriftBookkeeping`` port in SQL: what the drift checks verified.

The fingerprints are kept whole, in the one row of ``drift_verified``: concatenated, sorted and
without duplicates (so that the same set is always the same blob), with their ``count``. A check
reads them all and saves them all: one row to read and one to write, however many users.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from webex_provisioner.errors import StateError
from webex_provisioner.model.drift import VERIFIED_BYTES, verified_set
from webex_provisioner.state.base import SqlBase
from webex_provisioner.state.schema import drift_verified

_ROW_ID = 1
"""The ``id`` of the one row of ``drift_verified``."""
_READ = 'SELECT fingerprints, "count" FROM drift_verified WHERE id = 1'


class SqlDriftBookkeeping(SqlBase):
    """The fingerprints of what the drift checks verified, as one blob."""

    def verified(self) -> frozenset[bytes]:
        """The fingerprints kept, or none. A row whose blob is not ``count`` fingerprints long
        (damaged, or written by something else) counts as none: forgetting them is safe, every
        user is compared again."""
        with self._transaction("read the verified fingerprints") as conn:
            row = conn.exec_driver_sql(_READ).first()
        if row is None:
            return frozenset()
        blob, count = bytes(row[0]), row[1]
        if not isinstance(count, int) or len(blob) != count * VERIFIED_BYTES:
            return frozenset()
        size = VERIFIED_BYTES
        return frozenset(blob[start : start + size] for start in range(0, len(blob), size))

    def save_verified(self, fingerprints: Collection[bytes]) -> None:
        """Keep ``fingerprints`` in place of those kept before, in one transaction (an empty
        collection just deletes them); duplicates are kept once. One that is not ``bytes`` of
        ``VERIFIED_BYTES`` bytes is refused (``StateError`` giving its position) before anything
        is written."""
        what = f"save {len(fingerprints)} verified fingerprint(s)"
        try:
            unique = verified_set(fingerprints)
        except ValueError as exc:
            raise StateError(
                f"state database {self._where}: could not {what}: {exc}; nothing was written. The drift "
                "check computes the fingerprints: report this as a bug"
            ) from None
        kept = sorted(unique)
        rows = [
            {"id": _ROW_ID, "fingerprints": b"".join(kept), "count": len(kept), "saved_at": datetime.now(UTC)}
        ]
        self._replace_rows(drift_verified, rows if kept else [], what)
