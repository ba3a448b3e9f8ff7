"""``SqlLinks``: the links of users in SQL: every link, one, or those a key finds.

``record`` (``records``) writes them, with the links of groups and the audit entries.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, or_, select

from webex_provisioner.model import Link
from webex_provisioner.model.keys import fold_email, normalize_dn
from webex_provisioner.state import codec
from webex_provisioner.state.base import STREAM_BATCH, SqlBase
from webex_provisioner.state.schema import links


class SqlLinks(SqlBase):
    """The links of users: read, counted, looked up."""

    def links(self) -> Iterator[Link]:
        """Every link, by anchor, streamed in batches (a server-side cursor on PostgreSQL).

        Plain SQL and raw rows: a full cycle reads every link, and per-row type processing would
        cost more than the read itself. What was applied stays JSON text until used.
        """
        sql = f"SELECT {codec.LINK_COLUMNS} FROM links ORDER BY anchor"  # noqa: S608 - constant text
        with self._transaction("read the links") as conn:
            options = {"stream_results": True, "yield_per": STREAM_BATCH}
            result = conn.exec_driver_sql(sql, execution_options=options)
            for batch in result.partitions(STREAM_BATCH):
                yield from map(codec.link_of, batch)

    def count_links(self) -> int:
        with self._transaction("count the links") as conn:
            return int(conn.execute(select(func.count()).select_from(links)).scalar_one())

    def get_link(self, anchor: str) -> Link | None:
        with self._transaction(f"read the link of anchor {anchor}") as conn:
            row = conn.execute(select(links).where(links.c.anchor == anchor)).mappings().first()
        return None if row is None else codec.link(row)

    def find_links(self, key: str) -> list[Link]:
        """Links whose anchor, Webex id, e-mail (case-insensitive) or DN (normalized) is ``key``."""
        key = key.strip()
        stmt = (
            select(links)
            .where(
                or_(
                    links.c.anchor == key,
                    links.c.webex_id == key,
                    links.c.email_lower == fold_email(key),
                    links.c.dn_lower == normalize_dn(key),
                )
            )
            .order_by(links.c.anchor)
        )
        with self._transaction(f"look up links matching {key!r}") as conn:
            return [codec.link(row) for row in conn.execute(stmt).mappings()]
