"""Alembic environment: run against the connection handed over by ``Database.migrate``.

The version table is ``lab_alembic_version`` so that, in shared mode, the lab
creates no table outside its ``lab_`` prefix.
"""

from __future__ import annotations

from alembic import context

from remotelab.storage.models import Base

VERSION_TABLE = "lab_alembic_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
