"""``SqlBookkeeping``: the ``Bookkeeping`` port in SQL: what one cycle leaves for the next.

Each kind has its own table (see ``schema``): the change feeds' ``watermarks`` (by name), the
``baseline`` token (one row), the ``retry_anchors`` and ``open_problems`` (by position), the
``held_actions``, their ``approvals`` (a set) and a rotated OAuth refresh token
(``refresh_tokens``). Every setter replaces the whole kind in one transaction; ``None`` or an
empty collection leaves it empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select

from webex_provisioner.model import Action, ActionKind, Problem
from webex_provisioner.ports import StoredRefreshToken
from webex_provisioner.state import codec, schema
from webex_provisioner.state.base import SqlBase

_BASELINE_ROW = 1


class SqlBookkeeping(SqlBase):
    """Watermarks, the baseline, retries, open problems, held actions, approvals, a refresh token."""

    # -- watermarks and the baseline -------------------------------------------------------------

    def get_watermark(self, name: str) -> str | None:
        """Where a change feed stopped (``ChangeFeed.watermark_name``)."""
        table = schema.watermarks
        with self._transaction(f"read watermark {name}") as conn:
            value = conn.execute(select(table.c.value).where(table.c.name == name)).scalar()
        return None if value is None else str(value)

    def set_watermark(self, name: str, value: str | None) -> None:
        table = schema.watermarks
        with self._transaction(f"save watermark {name}", write=True) as conn:
            if value is None:
                conn.execute(delete(table).where(table.c.name == name))
            else:
                conn.execute(self._upsert(table, {"name": name, "value": value}))

    def baseline(self) -> str | None:
        """The token every stored watermark carries; clearing it makes the next cycle a full one."""
        with self._transaction("read the baseline token") as conn:
            token = conn.execute(select(schema.baseline.c.token)).scalar()
        return None if token is None else str(token)

    def set_baseline(self, token: str | None) -> None:
        rows = [] if token is None else [{"id": _BASELINE_ROW, "token": token}]
        self._replace_rows(schema.baseline, rows, "save the baseline token")

    # -- users to retry, open problems -------------------------------------------------------------

    def retry_anchors(self) -> list[str]:
        """The anchors incremental cycles read again, in order."""
        table = schema.retry_anchors
        with self._transaction("read the anchors to retry") as conn:
            return [str(a) for a in conn.execute(select(table.c.anchor).order_by(table.c.position)).scalars()]

    def set_retry_anchors(self, anchors: Sequence[str]) -> None:
        rows = [{"position": position, "anchor": anchor} for position, anchor in enumerate(anchors)]
        self._replace_rows(schema.retry_anchors, rows, f"save {len(rows)} anchor(s) to retry")

    def open_problems(self) -> list[Problem]:
        """The users left alone by recent cycles, in order."""
        table = schema.open_problems
        with self._transaction("read the open problems") as conn:
            return [
                codec.problem(row)
                for row in conn.execute(select(table).order_by(table.c.position)).mappings()
            ]

    def set_open_problems(self, problems: Sequence[Problem]) -> None:
        rows = [codec.problem_row(problem, position) for position, problem in enumerate(problems)]
        self._replace_rows(schema.open_problems, rows, f"save {len(rows)} open problem(s)")

    # -- held actions and approvals ----------------------------------------------------------------

    def hold(self, actions: Sequence[Action], cycle_id: str) -> None:
        """Replace the held actions with these."""
        rows = [codec.held_row(action, cycle_id, position) for position, action in enumerate(actions)]
        self._replace_rows(schema.held_actions, rows, f"hold {len(rows)} action(s)")

    def held(self) -> list[Action]:
        """The held actions, in the order they were held."""
        table = schema.held_actions
        stmt = select(table).order_by(table.c.position, table.c.id)
        with self._transaction("read the held actions") as conn:
            return [codec.action(row) for row in conn.execute(stmt).mappings()]

    def approvals(self) -> set[tuple[str, ActionKind]]:
        """The held actions (anchor, kind) an operator approved for the running instance."""
        table = schema.approvals
        with self._transaction("read the approved held actions") as conn:
            return {(str(a), ActionKind(k)) for a, k in conn.execute(select(table.c.anchor, table.c.kind))}

    def set_approvals(self, approved: Iterable[tuple[str, ActionKind]]) -> None:
        rows = [{"anchor": anchor, "kind": ActionKind(kind).value} for anchor, kind in set(approved)]
        self._replace_rows(schema.approvals, rows, f"save {len(rows)} approval(s) of held actions")

    # -- the rotated refresh token -----------------------------------------------------------------

    def refresh_token(self) -> StoredRefreshToken | None:
        table = schema.refresh_tokens
        stmt = select(table).where(table.c.name == schema.WEBEX_REFRESH_TOKEN)
        with self._transaction("read the stored Webex refresh token") as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else StoredRefreshToken(row["value"], row["replaces"], row["stored_at"])

    def save_refresh_token(self, token: StoredRefreshToken) -> None:
        values = {
            "name": schema.WEBEX_REFRESH_TOKEN,
            "value": token.value,
            "replaces": token.replaces,
            "stored_at": token.stored_at,
        }
        with self._transaction("save the rotated Webex refresh token", write=True) as conn:
            conn.execute(self._upsert(schema.refresh_tokens, values))
