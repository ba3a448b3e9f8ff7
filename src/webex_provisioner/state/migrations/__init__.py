"""Schema migrations of the state database (alembic, driven from code: no alembic.ini).

``migrate(engine)`` brings a database to the newest revision this version knows; every store
calls it when it opens. A database at a revision this version does not know was migrated by a
newer webex-provisioner, and is refused rather than used with the wrong schema.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from webex_provisioner.errors import StateError
from webex_provisioner.state.errors import WRITE_OPTION, translate, translating

if TYPE_CHECKING:
    from alembic.config import Config

# alembic (about 10 MB and a tenth of a second) is imported only when a database needs migrating.

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"
# Serializes concurrent migrations of one PostgreSQL database (an arbitrary, fixed key).
_PG_ADVISORY_KEY = 0x5745_4258  # "WEBX"


_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
_REVISION_ID = re.compile(r"^revision\s*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\b[^=]*=\s*(?:[\"']([^\"']+)[\"']|None)", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see above

    config = Config()
    config.set_main_option("script_location", str(HERE).replace("%", "%%"))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def _declared(path: Path) -> tuple[str, str | None]:
    """The ``revision`` and ``down_revision`` a migration script declares (read as text)."""
    script = path.read_text(encoding="utf-8")
    revision, down = _REVISION_ID.search(script), _DOWN_REVISION.search(script)
    if revision is None or down is None:  # pragma: no cover - a malformed script in the package
        raise StateError(f"the state migration {path} declares no revision or down_revision; reinstall")
    return revision.group(1), down.group(1)


@cache
def _revisions() -> tuple[str, frozenset[str]]:
    """(head, every revision) declared by the scripts in ``versions/`` (``0006_what.py``), read
    as text so that opening an up-to-date database never imports alembic. A revision id is what
    its script declares (``0005``, ``0006_groups``); the head is the one no other script revises."""
    scripts = [path for path in (HERE / "versions").iterdir() if _REVISION_FILE.match(path.name)]
    revises = dict(_declared(path) for path in scripts)
    if not revises:  # pragma: no cover - the package always ships 0001
        raise StateError(f"no state migrations found in {HERE}; reinstall webex-provisioner")
    heads = sorted(set(revises) - set(revises.values()))
    if len(heads) != 1:  # pragma: no cover - a packaging mistake, caught by the migration tests
        raise StateError(
            f"the state migrations in {HERE} have {len(heads)} heads ({', '.join(heads)}) instead of "
            "one; set their down_revision so that each revises the one before it"
        )
    return heads[0], frozenset(revises)


def _stored_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608


def head_revision() -> str:
    """The newest schema revision this version of webex-provisioner knows."""
    return _revisions()[0]


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (``None`` for an empty database)."""
    where = engine.url.render_as_string(hide_password=True)
    with translating("read the schema revision", where), engine.connect() as conn:
        return _stored_revision(conn)


def migrate(engine: Engine, *, where: str | None = None) -> None:
    """Apply every migration the database lacks, in one transaction.

    Raises ``StateError`` if the database is at a revision newer than this version knows.
    ``where`` names the database in messages (default: the engine URL, password masked).
    """
    where = where or engine.url.render_as_string(hide_password=True)
    head, known = _revisions()
    with translating("open it and bring its schema up to date", where), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_ADVISORY_KEY})")
            current = _stored_revision(conn)
            if current == head:
                return
            if current is not None and current not in known:
                raise StateError(
                    f"the state database at {where} is at schema revision {current}, newer than this "
                    f"version of webex-provisioner knows ({head}); upgrade webex-provisioner or point "
                    "state: at another database"
                )
            from alembic import command  # noqa: PLC0415 - see above
            from alembic.util.exc import CommandError  # noqa: PLC0415

            config = alembic_config()
            config.attributes["connection"] = conn
            try:
                command.upgrade(config, "head")
            except CommandError as exc:
                raise translate(exc, "open it and bring its schema up to date", where) from exc


def _last_number() -> int:  # pragma: no cover - a developer tool
    """The highest number a script in ``versions/`` starts with."""
    names = (_REVISION_FILE.match(path.name) for path in (HERE / "versions").iterdir())
    return max(int(match.group(1)) for match in names if match)


def revision(message: str) -> None:  # pragma: no cover - a developer tool
    """Write a new, empty migration script into ``versions/`` (for developers)."""
    from alembic import command  # noqa: PLC0415 - see above
    from alembic.util.exc import CommandError  # noqa: PLC0415

    try:
        command.revision(alembic_config(), message=message, rev_id=f"{_last_number() + 1:04d}")
    except CommandError as exc:
        raise StateError(f"could not write a new migration: {exc}") from exc
