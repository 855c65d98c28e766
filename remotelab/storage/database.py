"""The database handle: async engine, sessions and migrations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from remotelab.errors import InputError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "lab_alembic_version"


SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")

#: PostgreSQL advisory locks: servers sharing one database (several fronts over NATS)
#: take turns at these start-up steps instead of racing each other's inserts.
MIGRATE_LOCK = 7_265_001
EXAMPLES_LOCK = 7_265_002


async def take_turn(conn: AsyncConnection | AsyncSession, key: int) -> None:
    """Wait until no other transaction holds the lock ``key``; hold it until this
    transaction ends. PostgreSQL only: SQLite lets one writer in at a time anyway."""
    dialect = conn.dialect if isinstance(conn, AsyncConnection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; foreign keys are off by default in
        # SQLite; busy_timeout makes a writer wait for the lock instead of failing at once;
        # synchronous: how far a commit is synced before it returns (ADR 0008).
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")  # one of SYNCHRONOUS_LEVELS
        cursor.close()

    return on_connect


class Database:
    """Owns the engine. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(
        self,
        url: str,
        *,
        accounts: str = "standalone",
        echo: bool = False,
        sqlite_synchronous: str = "FULL",
    ) -> None:
        if not url:
            raise InputError("database URL is empty")
        if sqlite_synchronous not in SYNCHRONOUS_LEVELS:
            raise InputError(
                f"SQLite synchronous must be one of {', '.join(SYNCHRONOUS_LEVELS)}, "
                f"not {sqlite_synchronous!r}"
            )
        self.url = url
        self.accounts = accounts
        try:
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=True)
        except Exception as exc:  # bad URL, missing driver
            raise InputError(f"cannot use database URL: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(sqlite_synchronous))
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self) -> str:
        """Apply every pending migration; return the schema revision now in force."""
        async with self.engine.begin() as conn:
            await take_turn(conn, MIGRATE_LOCK)
            await conn.run_sync(self._upgrade)
            revision: str = await conn.run_sync(_current_revision)
        log.info("database schema at revision %s (%s)", revision, self.engine.dialect.name)
        return revision

    def _upgrade(self, connection: Connection) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = connection
        cfg.attributes["accounts"] = self.accounts
        command.upgrade(cfg, "head")

    async def is_current(self) -> bool:
        """True when the schema is at the newest migration."""
        async with self.engine.connect() as conn:
            current = await conn.run_sync(_current_revision)
        return current == head_revision()

    async def close(self) -> None:
        await self.engine.dispose()


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def _current_revision(connection: Connection) -> str:
    ctx = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return ctx.get_current_revision() or ""
