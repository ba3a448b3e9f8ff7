"""Alembic environment: run the migrations on the connection ``migrate()`` hands over.

There is no alembic.ini: ``webex_provisioner.state.migrations.migrate(engine)`` builds the
configuration in code and passes an open connection (already in a transaction) as the
``connection`` attribute. To write a new revision, run from the repository root::

    python -c "from webex_provisioner.state.migrations import revision; revision('what it does')"
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from webex_provisioner.state.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the state migrations through webex_provisioner.state.migrations.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
