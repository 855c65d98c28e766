"""The database's start-up lock: one process at a time migrates and publishes the examples
(several workers, several hosts), on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from remotelab.app import default_examples_dir
from remotelab.storage.database import Database, head_revision
from remotelab.storage.examples import publish_examples
from tests.support.postgres import PostgresServer

URL = Callable[[], str]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> URL:
    """Makes the URL of a fresh, empty database of the parameter's kind."""
    if request.param == "sqlite":
        return lambda: f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return lambda: server.url(server.new_database("startup"))


async def test_the_lock_is_held_by_one_database_handle_at_a_time(fresh_url: URL) -> None:
    url = fresh_url()
    first, second = Database(url), Database(url)
    try:
        async with first.startup_lock():
            waiting = asyncio.create_task(_enter(second))
            done, _ = await asyncio.wait({waiting}, timeout=0.5)
            assert not done  # the other handle (another process's) waits
        await asyncio.wait_for(waiting, 10)  # and gets it once released
    finally:
        await first.close()
        await second.close()


async def _enter(db: Database) -> None:
    async with db.startup_lock():
        pass


async def test_processes_starting_together_migrate_and_publish_once(fresh_url: URL) -> None:
    url = fresh_url()
    examples = default_examples_dir()
    assert examples is not None
    handles = [Database(url) for _ in range(4)]

    async def start(db: Database) -> str:  # what app.py does at start
        async with db.startup_lock():
            revision = await db.migrate()
            await publish_examples(db, examples)
        return revision

    try:
        assert await asyncio.gather(*(start(db) for db in handles)) == [head_revision()] * 4
        async with handles[0].engine.connect() as conn:
            total, distinct = (
                await conn.execute(
                    text(
                        "SELECT count(*), count(DISTINCT source_file) FROM lab_scripts "
                        "WHERE source_file IS NOT NULL"
                    )
                )
            ).one()
        assert total == distinct == len(list(examples.glob("*.py")))
    finally:
        for db in handles:
            await db.close()
