"""``SqlLicenses``: the licences in SQL: the grants of linked users, the licence catalogue last
read from Webex, the refusals not to ask again, and the licence actions a guard held.

A grant is a row of ``license_grants`` (anchor, licence id). ``record`` (``records``) writes them
with ``GrantWrites`` below: what a batch does to the grants is worked out first, records in
order, and then written in at most three statements (anchors cleared, grants dropped, grants
saved), each with all its rows, in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from webex_provisioner.errors import StateError
from webex_provisioner.model import Grant, License, LicenseAction, LicenseRefusal
from webex_provisioner.ports import Record
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.bounds import check_rows, shown
from webex_provisioner.state.schema import (
    held_license_actions,
    license_catalog,
    license_grants,
    license_refusals,
)

_GRANTS = license_grants.c
_CLEAR_GRANTS = delete(license_grants).where(_GRANTS.anchor == bindparam("clear_anchor"))
_DROP_GRANT = delete(license_grants).where(
    _GRANTS.anchor == bindparam("drop_anchor"), _GRANTS.license_id == bindparam("drop_license")
)


def _save_grant(dialect_insert: Any) -> Any:
    """``INSERT ... ON CONFLICT (anchor, license_id) DO UPDATE``: a grant replacing the one of its
    (anchor, licence)."""
    stmt = dialect_insert(license_grants)
    return stmt.on_conflict_do_update(
        index_elements=[_GRANTS.anchor, _GRANTS.license_id],
        set_={"ours": stmt.excluded.ours, "since": stmt.excluded.since},
    )


_SAVE_GRANT = {"sqlite": _save_grant(sqlite.insert), "postgresql": _save_grant(postgresql.insert)}


class SqlLicenses(SqlBase):
    """The grants, the licence catalogue, the refusals and the held licence actions."""

    def grants(self) -> Iterator[Grant]:
        """Every grant, by anchor then licence id, streamed in batches (a server-side cursor on
        PostgreSQL), from raw rows: a full cycle reads them all."""
        sql = f"SELECT {codec.GRANT_COLUMNS} FROM license_grants ORDER BY anchor, license_id"  # noqa: S608
        with self._transaction("read the licence grants") as conn:
            options = {"stream_results": True, "yield_per": STREAM_BATCH}
            result = conn.exec_driver_sql(sql, execution_options=options)
            for batch in result.partitions(STREAM_BATCH):
                yield from map(codec.grant_of, batch)

    def grants_of(self, anchor: str) -> list[Grant]:
        """One user's grants, by licence id."""
        stmt = select(license_grants).where(_GRANTS.anchor == anchor).order_by(_GRANTS.license_id)
        with self._transaction(f"read the licence grants of anchor {anchor}") as conn:
            return [codec.grant(row) for row in conn.execute(stmt).mappings()]

    # -- the catalogue and the refusals ----------------------------------------------------------

    def license_catalog(self) -> list[License]:
        """The licences as last read from Webex, by name (then id: two licences may share a name),
        in the code points' order whatever the database's collation."""
        with self._transaction("read the licence catalogue") as conn:
            found = [codec.license_of(row) for row in conn.execute(select(license_catalog)).mappings()]
        return sorted(found, key=lambda item: (item.name, item.id))

    def set_license_catalog(self, licenses: Sequence[License]) -> None:
        """Replace the catalogue with ``licenses``; a licence id given twice is refused."""
        what = f"save the licence catalogue of {len(licenses)} licence(s)"
        ids = [item.id for item in licenses]
        if len(set(ids)) != len(ids):
            twice = next(i for i in ids if ids.count(i) > 1)
            raise StateError(
                f"state database {self._where}: could not {what}: licence id {shown(twice)} is listed "
                "twice; nothing was written. Webex listed one licence twice: read the licences again"
            )
        now = datetime.now(UTC)
        rows = [codec.license_row(item, now) for item in licenses]
        check_rows(license_catalog, rows, self._where, what, "id")
        self._replace_rows(license_catalog, rows, what)

    def license_refusals(self) -> list[LicenseRefusal]:
        """The refused licences not to ask for again, in the order stored."""
        stmt = select(license_refusals).order_by(license_refusals.c.position)
        with self._transaction("read the licence refusals") as conn:
            return [codec.refusal(row) for row in conn.execute(stmt).mappings()]

    def set_license_refusals(self, refusals: Sequence[LicenseRefusal]) -> None:
        what = f"save {len(refusals)} licence refusal(s)"
        rows = [codec.refusal_row(refusal, position) for position, refusal in enumerate(refusals)]
        check_rows(license_refusals, rows, self._where, what, "anchor")
        self._replace_rows(license_refusals, rows, what)

    # -- held licence actions --------------------------------------------------------------------

    def hold_licenses(self, actions: Sequence[LicenseAction], cycle_id: str) -> None:
        """Replace the held licence actions with these."""
        what = f"hold {len(actions)} licence action(s)"
        rows = [codec.held_license_row(action, cycle_id, n) for n, action in enumerate(actions)]
        check_rows(held_license_actions, rows, self._where, what, "anchor")
        items = [
            {"anchor": action.anchor, "license_id": item.license_id}
            for action in actions
            for item in action.licenses
        ]
        check_rows(license_grants, items, self._where, what, "anchor")  # licence ids: as long as a grant's
        self._replace_rows(held_license_actions, rows, what)

    def held_licenses(self) -> list[LicenseAction]:
        """The held licence actions, in the order they were held."""
        stmt = select(held_license_actions).order_by(held_license_actions.c.position)
        with self._transaction("read the held licence actions") as conn:
            return [codec.license_action(row) for row in conn.execute(stmt).mappings()]


@dataclass(frozen=True, slots=True)
class GrantWrites:
    """What a batch of records does to the grants once its records applied in order, as rows: the
    anchors whose grants are all dropped first (a ``drop_link``), then the grants dropped and the
    grants saved after that (an (anchor, licence) in one of them at most), each in key order (the
    index takes them faster)."""

    cleared: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    saved: list[dict[str, Any]]

    @classmethod
    def of(cls, batch: Sequence[Record], where: str) -> GrantWrites:
        """The grant writes of ``batch``; ``StateError`` before any write when a text of a grant
        it saves or drops cannot be kept."""
        cleared: set[str] = set()
        final: dict[str, dict[str, Grant | None]] = {}  # anchor -> licence id -> grant (None: dropped)
        for rec in batch:
            if rec.drop_link is not None:
                cleared.add(rec.drop_link)
                final[rec.drop_link] = {}  # what the batch saved before is dropped with the rest
            for anchor, license_id in rec.drop_grants:
                final.setdefault(anchor, {})[license_id] = None
            for given in rec.save_grants:
                final.setdefault(given.anchor, {})[given.license_id] = given
        dropped: list[dict[str, Any]] = []
        saved: list[dict[str, Any]] = []
        for anchor in sorted(final):
            grants = final[anchor]
            for license_id in sorted(grants):
                if (kept := grants[license_id]) is None:
                    dropped.append({"anchor": anchor, "license_id": license_id})
                else:
                    saved.append(codec.grant_row(kept))
        check_rows(license_grants, _given(batch), where, f"record {len(batch)} action result(s)", "anchor")
        return cls([{"clear_anchor": anchor} for anchor in sorted(cleared)], dropped, saved)

    def write(self, conn: Connection) -> None:
        """Write them, in a statement per kind."""
        if self.cleared:
            conn.execute(_CLEAR_GRANTS, self.cleared)
        if self.dropped:
            keys = [{"drop_anchor": row["anchor"], "drop_license": row["license_id"]} for row in self.dropped]
            conn.execute(_DROP_GRANT, keys)
        if self.saved:
            conn.execute(_SAVE_GRANT[conn.dialect.name], self.saved)


def _given(batch: Sequence[Record]) -> Iterator[dict[str, Any]]:
    """Every grant ``batch`` drops (its key) or saves, as a row."""
    for rec in batch:
        yield from ({"anchor": anchor, "license_id": license_id} for anchor, license_id in rec.drop_grants)
        yield from map(codec.grant_row, rec.save_grants)
