from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from remotelab.errors import InputError
from remotelab.storage.database import Database, head_revision


async def test_migrations_create_the_schema_and_are_idempotent(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3")
    try:
        assert not await db.is_current()
        assert await db.migrate() == head_revision()
        assert await db.migrate() == head_revision()
        assert await db.is_current()
        async with db.engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert tables == {
            "users",
            "lab_accounts",
            "lab_scripts",
            "lab_revoked_tokens",
            "lab_email_verifications",
            "lab_script_runs",
            "lab_bench_outputs",
            "lab_alembic_version",
        }
        assert mode == "wal"
        assert fks == 1
    finally:
        await db.close()


async def test_email_is_unique_whatever_its_case(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3")
    await db.migrate()
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO users (_email, _password) VALUES ('A@x.org', 'p')")
            )
        with pytest.raises(IntegrityError):
            async with db.engine.begin() as conn:
                await conn.execute(
                    text("INSERT INTO users (_email, _password) VALUES ('a@X.org', 'p')")
                )
    finally:
        await db.close()


async def synchronous(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("PRAGMA synchronous"))).scalar_one())


async def test_sqlite_syncs_every_commit_unless_told_otherwise(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3"
    for kwargs, level in [({}, 2), ({"sqlite_synchronous": "NORMAL"}, 1)]:
        db = Database(url, **kwargs)  # SQLite's levels: 1 NORMAL, 2 FULL, 3 EXTRA
        try:
            assert await synchronous(db) == level
        finally:
            await db.close()
    with pytest.raises(InputError, match="synchronous"):
        Database(url, sqlite_synchronous="OFF")


async def test_the_app_takes_the_setting(tmp_path: Path) -> None:
    from remotelab.api.context import EXTENSION
    from remotelab.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, sqlite_synchronous="EXTRA"))
    async with app.test_app():
        assert await synchronous(app.extensions[EXTENSION].db) == 3
