"""The database handle: async engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
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
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from remotelab.errors import InputError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "lab_alembic_version"
#: The advisory lock id of the start-up work on PostgreSQL (any constant of the lab's own).
STARTUP_LOCK_KEY = 0x72656D6F74656C61  # "remotela"


SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")


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

    @asynccontextmanager
    async def startup_lock(self) -> AsyncIterator[None]:
        """Hold the database's start-up lock while inside: one process at a time applies
        migrations and publishes the examples, on this host or any other (ADR 0019).

        PostgreSQL: a session advisory lock (:data:`STARTUP_LOCK_KEY`) on a connection of
        its own. SQLite: ``flock`` on a file beside the database (its processes share a
        host); an in-memory database needs none.
        """
        if self.engine.dialect.name == "postgresql":
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": STARTUP_LOCK_KEY})
                await conn.commit()
                try:
                    yield
                finally:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": STARTUP_LOCK_KEY}
                    )
                    await conn.commit()
            return
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            yield
            return
        fd = os.open(f"{path}.startup-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    async def migrate(self) -> str:
        """Apply every pending migration; return the schema revision now in force."""
        async with self.engine.begin() as conn:
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
