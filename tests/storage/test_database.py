from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

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
            "lab_bench_outputs",
            "lab_alembic_version",
        }
        assert mode == "wal"
        assert fks == 1
    finally:
        await db.close()


async def test_email_is_unique_whatever_its_case(tmp_path: Path) -> None:
    import pytest
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
