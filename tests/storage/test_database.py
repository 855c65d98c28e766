from __future__ import annotations

from pathlib import Path
from typing import Any

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


async def test_migration_0005_dates_examples_already_published(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from remotelab.storage.database import MIGRATIONS

    db = Database(f"sqlite+aiosqlite:///{tmp_path}/lab.sqlite3")

    def to(revision: str, down: bool = False) -> Any:
        def run(connection: Any) -> None:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = connection
            cfg.attributes["accounts"] = db.accounts
            (command.downgrade if down else command.upgrade)(cfg, revision)

        return run

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(to("0004"))
            for title, published in (("example", True), ("draft", False)):
                await conn.execute(
                    text(
                        "INSERT INTO lab_scripts (title, description, code, published, "
                        "created_at, updated_at) VALUES (:t, '', '', :p, "
                        "'2026-11-01 10:00:00', '2026-11-02 11:00:00')"
                    ),
                    {"t": title, "p": published},
                )
        assert await db.migrate() == "0005"
        async with db.engine.connect() as conn:
            rows = dict(
                (await conn.execute(text("SELECT title, published_at FROM lab_scripts"))).all()
            )
            author = (await conn.execute(text("SELECT author FROM lab_scripts"))).scalars().all()
        assert rows["example"] is not None and str(rows["example"]).startswith("2026-11-02 11:00")
        assert rows["draft"] is None
        assert author == [None, None]
        async with db.engine.begin() as conn:
            await conn.run_sync(to("0004", down=True))
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("lab_scripts")}
            )
        assert "author" not in columns and "published_at" not in columns
    finally:
        await db.close()
