"""Schema migrations: applied when a store opens, refused when the database is newer (every adapter)."""

from __future__ import annotations

import threading
from contextlib import closing

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from tests.state.state_helpers import T0, OpenStore, link, save
from webex_provisioner.errors import StateError
from webex_provisioner.model.notifications import NotificationState
from webex_provisioner.state import head_revision, mask_url, migrate, open_state_store
from webex_provisioner.state.migrations import alembic_config, current_revision
from webex_provisioner.state.schema import metadata


def test_a_new_database_is_migrated_to_the_head_revision(open_store: OpenStore, raw_engine: Engine) -> None:
    """Opening a store on an empty database creates the schema at the newest revision."""
    assert current_revision(raw_engine) is None
    open_store()

    assert current_revision(raw_engine) == head_revision() == "0009_drift_verified"


def test_migrations_create_exactly_the_tables_the_code_uses(
    open_store: OpenStore, raw_engine: Engine
) -> None:
    """The migrated schema has no difference from the tables in schema.py (columns, types, indexes)."""
    open_store()

    with raw_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []


def test_reopening_keeps_the_data(state_url: str) -> None:
    """A store opened again on a migrated database finds what the first one wrote."""
    with closing(open_state_store(state_url)) as first:
        first.record([save(link(1))])

    with closing(open_state_store(state_url)) as second:
        assert [x.anchor for x in second.links()] == ["anchor-1"]


def test_a_database_at_a_newer_revision_is_refused(
    open_store: OpenStore, raw_engine: Engine, state_url: str
) -> None:
    """A database migrated by a newer version is refused with a message saying what to do."""
    open_store().close()
    with raw_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0042'"))

    with pytest.raises(StateError) as raised:
        open_state_store(state_url)

    assert raised.value.message == (
        f"the state database at {mask_url(state_url)} is at schema revision 0042, newer than this version "
        f"of webex-provisioner knows ({head_revision()}); upgrade webex-provisioner or point state: "
        "at another database"
    )
    with pytest.raises(StateError, match="newer than this version"):
        migrate(raw_engine)
    assert current_revision(raw_engine) == "0042"


def test_simultaneous_first_opens_all_succeed(state_url: str, raw_engine: Engine) -> None:
    """Several instances opening one empty database at once migrate it once, and all open."""
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def open_one() -> None:
        start.wait()
        try:
            open_state_store(state_url).close()
            outcomes.append("ok")
        except StateError as exc:
            outcomes.append(exc.message)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == ["ok"] * 4
    with raw_engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision()
        ]


def test_a_database_at_the_previous_revision_is_upgraded_keeping_its_data(
    state_url: str, raw_engine: Engine
) -> None:
    """A state created by the previous version (revision 0001) is upgraded on open; links survive."""
    config = alembic_config()
    with raw_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text(
                "INSERT INTO links (anchor, webex_id, email, email_lower, dn, dn_lower, state, applied, "
                "fingerprint, created_at, updated_at) VALUES ('a1', 'w1', 'A@x.com', 'a@x.com', 'uid=a', "
                "'uid=a', 'active', '{}', '', :t, :t)"
            ),
            {"t": T0.replace(tzinfo=None) if raw_engine.dialect.name == "sqlite" else T0},
        )
    assert current_revision(raw_engine) == "0001"
    store = open_state_store(state_url)
    try:
        assert current_revision(raw_engine) == head_revision()
        assert [link.webex_id for link in store.links()] == ["w1"]
        assert store.instances(60) == []
    finally:
        store.close()


def test_migration_0007_adds_the_notification_tables_and_its_downgrade_drops_them(
    open_store: OpenStore, raw_engine: Engine
) -> None:
    """0007 creates the notifications' tables, empty, on a 0006 database with its links kept;
    downgrading to 0006 drops them and nothing else."""
    store = open_store()
    store.record([save(link(1))])
    config = alembic_config()
    with raw_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006_groups")
    tables = set(inspect(raw_engine).get_table_names())
    assert not tables & {"notification_conditions", "notification_outbox"}
    assert "held_actions" in tables

    again = open_store()
    assert current_revision(raw_engine) == head_revision()
    assert again.notification_state() == NotificationState()
    assert [x.anchor for x in again.links()] == ["anchor-1"]
