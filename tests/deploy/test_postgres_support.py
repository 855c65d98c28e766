"""tests/support/postgres.py and open_event_users.sql against a real PostgreSQL server."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    PsqlError,
    find_bin_dir,
    running_postgres,
)

pytestmark = pytest.mark.postgres

OPEN_EVENT_USERS = Path(__file__).resolve().parents[1] / "support" / "open_event_users.sql"

INSERT = """
    INSERT INTO users (_email, _password, salt, first_name, last_name, is_admin,
                       is_super_admin, is_verified, is_blocked, reset_password, created_at)
    VALUES ($1, 'hash', 'salt', 'Ada', 'Lovelace', false, false, true, false, '123', now())
    RETURNING id
"""


async def open_event_database(server: PostgresServer) -> asyncpg.Connection:
    """A fresh database holding the event server's users table, created as the lab's role."""
    name = server.new_database("oe")
    conn = await asyncpg.connect(server.dsn(name))
    # As the role, not the superuser: citext is a trusted extension, a database owner may
    # create it, as the event server's own migration does.
    await conn.execute(OPEN_EVENT_USERS.read_text())
    return conn


def test_server_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    assert postgres_server.psql("SHOW listen_addresses").strip() == "127.0.0.1"
    assert postgres_server.psql("SHOW fsync").strip() == "off"
    assert postgres_server.url().startswith(
        f"postgresql+asyncpg://remotelab:{postgres_server.password}@127.0.0.1:"
    )


def test_psql_reports_errors(postgres_server: PostgresServer) -> None:
    with pytest.raises(PsqlError, match="no_such_table"):
        postgres_server.psql("SELECT * FROM no_such_table")


def test_create_database_refuses_odd_names(postgres_server: PostgresServer) -> None:
    with pytest.raises(ValueError, match="not a plain database name"):
        postgres_server.create_database('x"; DROP DATABASE remotelab; --')


async def test_url_works_with_sqlalchemy_and_the_password(postgres_server: PostgresServer) -> None:
    engine = create_async_engine(postgres_server.create_database("via_sqlalchemy"))
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT current_user"))).scalar() == "remotelab"
    finally:
        await engine.dispose()
    wrong = postgres_server.dsn().replace(postgres_server.password, "wrong-password")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(wrong)


async def test_open_event_email_is_unique_ignoring_case(postgres_server: PostgresServer) -> None:
    conn = await open_event_database(postgres_server)
    try:
        user_id = await conn.fetchval(INSERT, "Ada.Lovelace@Example.org")
        found = await conn.fetchval("SELECT id FROM users WHERE _email = $1", "ada@EXAMPLE.org")
        assert found is None
        found = await conn.fetchval(
            "SELECT id FROM users WHERE _email = $1", "ada.lovelace@example.ORG"
        )
        assert found == user_id
        # The stored value keeps its case.
        assert await conn.fetchval("SELECT _email::text FROM users") == "Ada.Lovelace@Example.org"
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.fetchval(INSERT, "ADA.LOVELACE@example.org")
        await conn.fetchval(INSERT, "grace@example.org")
        assert await conn.fetchval("SELECT count(*) FROM users") == 2
    finally:
        await conn.close()


async def test_open_event_defaults_live_in_the_model_not_the_table(
    postgres_server: PostgresServer,
) -> None:
    conn = await open_event_database(postgres_server)
    try:
        with pytest.raises(asyncpg.NotNullViolationError, match="is_blocked"):
            await conn.execute("INSERT INTO users (_email, _password) VALUES ('a@b.c', 'x')")
        await conn.execute(
            "INSERT INTO users (_email, _password, is_blocked) VALUES ('a@b.c', 'x', false)"
        )
        row = await conn.fetchrow("SELECT is_admin, is_profile_public, created_at FROM users")
        assert dict(row) == {"is_admin": None, "is_profile_public": False, "created_at": None}
    finally:
        await conn.close()


async def test_open_event_columns_of_design_section_7(postgres_server: PostgresServer) -> None:
    conn = await open_event_database(postgres_server)
    try:
        rows = await conn.fetch(
            "SELECT column_name, data_type, udt_name, is_nullable, character_maximum_length "
            "FROM information_schema.columns WHERE table_name = 'users'"
        )
    finally:
        await conn.close()
    columns = {
        r["column_name"]: (r["udt_name"], r["is_nullable"], r["character_maximum_length"])
        for r in rows
    }
    assert {name: columns[name] for name in (
        "id", "_email", "_password", "salt", "first_name", "last_name", "is_admin",
        "is_super_admin", "is_verified", "is_blocked", "reset_password", "created_at",
        "deleted_at",
    )} == {
        "id": ("int4", "NO", None),
        "_email": ("citext", "NO", None),
        "_password": ("varchar", "NO", 128),
        "salt": ("varchar", "YES", 128),
        "first_name": ("varchar", "YES", None),
        "last_name": ("varchar", "YES", None),
        "is_admin": ("bool", "YES", None),
        "is_super_admin": ("bool", "YES", None),
        "is_verified": ("bool", "YES", None),
        "is_blocked": ("bool", "NO", None),
        "reset_password": ("varchar", "YES", 128),
        "created_at": ("timestamptz", "YES", None),
        "deleted_at": ("timestamptz", "YES", None),
    }  # fmt: skip
    assert len(columns) == 45


def test_stop_removes_the_cluster() -> None:
    with running_postgres() as server:
        folder, port = server.base_dir, server.port
        assert (folder / "data" / "PG_VERSION").is_file()
    assert not folder.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_missing_binaries_fail_with_the_install_hint(tmp_path: Path) -> None:
    (tmp_path / "15" / "bin").mkdir(parents=True)  # a folder without the programs
    with pytest.raises(PostgresUnavailable, match=r"ensure-system-packages\.sh postgres"):
        find_bin_dir(tmp_path)
