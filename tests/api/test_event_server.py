"""Compatibility with the FOSSASIA Open Event server, both directions, through HTTP.

Tokens: the event server's own tokens are accepted, the lab's pass the event server's
checks, and bad tokens get the event server's status codes (docs/reference/tokens.md).
Accounts: a row written as the event server writes it logs in; in shared mode against a
real PostgreSQL server the lab uses the event server's `users` table and never creates
or alters any table outside its `lab_` prefix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import text

from remotelab.api.context import EXTENSION
from tests.conftest import SECRET, make_settings
from tests.support import event_server
from tests.support.postgres import PostgresServer

SQL = Path(__file__).resolve().parent.parent / "support" / "open_event_users.sql"


def event_server_scrypt(password: str) -> tuple[str, str]:
    """The event server's password formula (ADR 0002): (_password, salt)."""
    salt = base64.b64encode(os.urandom(64)).decode()
    digest = hashlib.scrypt(password.encode(), salt=salt.encode(), n=16384, r=8, p=1, dklen=64)
    return base64.b64encode(digest).decode(), salt


def event_server_token(identity: Any, **claims: Any) -> str:
    """An access token exactly as the event server mints it, signed with the shared key."""
    return event_server.access_token(identity, now=int(time.time()), secret=SECRET, **claims)


def event_server_checks(token: str) -> dict[str, Any]:
    """What the event server does with a token before it believes it, and its exact shape."""
    claims = event_server.decode(token, now=int(time.time()), secret=SECRET)
    assert set(claims) == {"iat", "nbf", "jti", "exp", "identity", "fresh", "type", "csrf"}
    assert claims["nbf"] == claims["iat"]
    assert uuid.UUID(claims["jti"]).version == 4
    assert uuid.UUID(claims["csrf"]).version == 4
    assert isinstance(claims["fresh"], bool)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    return claims


async def insert_event_server_user(app: Quart, email: str, password: str) -> int:
    """A row written exactly as the event server writes it."""
    hashed, salt = event_server_scrypt(password)
    async with app.extensions[EXTENSION].db.session() as session:
        result = await session.execute(
            text(
                "INSERT INTO users (_email, _password, salt, is_admin, is_super_admin, "
                "is_verified, is_blocked, created_at) VALUES (:email, :password, :salt, false, "
                "false, true, false, CURRENT_TIMESTAMP) RETURNING id"
            ),
            {"email": email, "password": hashed, "salt": salt},
        )
        return int(result.scalar_one())


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


async def test_a_row_written_by_the_event_server_logs_in(app: Quart, client: Client) -> None:
    await insert_event_server_user(app, "Grace@Example.org", "cobol is fine")
    response = await client.post(
        "/v1/auth/login", json={"email": " grace@example.org", "password": "cobol is fine"}
    )
    assert response.status_code == 200, await response.get_json()
    wrong = await client.post(
        "/v1/auth/login", json={"email": "grace@example.org", "password": "cobol is bad"}
    )
    assert wrong.status_code == 401


async def test_event_server_tokens_work_here(app: Quart, client: Client) -> None:
    user_id = await insert_event_server_user(app, "g@example.org", "cobol is fine")
    me = await client.get("/v1/users/me", headers=auth(event_server_token(user_id)))
    assert me.status_code == 200
    assert (await me.get_json())["email"] == "g@example.org"
    now = int(time.time())
    legacy = jwt.encode(
        {"exp": now + 60, "iat": now, "nbf": now, "identity": user_id}, SECRET, algorithm="HS256"
    )
    assert (await client.get("/v1/users/me", headers=auth(legacy))).status_code == 200
    bearer = {"Authorization": f"Bearer {event_server_token(user_id)}"}
    assert (await client.get("/v1/users/me", headers=bearer)).status_code == 200


async def test_lab_tokens_pass_the_event_servers_checks(app: Quart, client: Client) -> None:
    user_id = await insert_event_server_user(app, "g@example.org", "cobol is fine")
    response = await client.post(
        "/v1/auth/login", json={"email": "g@example.org", "password": "cobol is fine"}
    )
    claims = event_server_checks((await response.get_json())["access_token"])
    assert claims["identity"] == user_id
    assert claims["fresh"] is True
    assert claims["exp"] - claims["iat"] == 86_400
    remember = await client.post(
        "/v1/auth/login",
        json={"email": "g@example.org", "password": "cobol is fine", "remember-me": True},
    )
    claims = event_server_checks((await remember.get_json())["access_token"])
    assert claims["exp"] - claims["iat"] == 5_400


def _forged(kind: str, user_id: int) -> str:
    good = event_server_token(user_id)
    header, payload, signature = good.split(".")
    now = int(time.time())
    if kind == "alg none":
        body = json.loads(base64.urlsafe_b64decode(payload + "=="))
        return jwt.encode(body, None, algorithm="none")  # type: ignore[arg-type]
    if kind == "wrong key":
        return jwt.encode(
            {"identity": user_id, "iat": now, "nbf": now, "exp": now + 60, "type": "access"},
            "another-secret-that-is-long-enough-for-hs256",
            algorithm="HS256",
        )
    if kind == "tampered payload":
        body = json.loads(base64.urlsafe_b64decode(payload + "=="))
        body["identity"] = user_id + 1
        forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        return f"{header}.{forged}.{signature}"
    if kind == "aud":
        return event_server_token(user_id, aud="somebody")
    if kind == "expired":
        return event_server_token(user_id, iat=now - 100, nbf=now - 100, exp=now - 1)
    if kind == "refresh":
        return event_server_token(user_id, type="refresh")
    if kind == "garbage":
        return "not.a.token"
    if kind == "huge identity":  # signed with the shared key, as the event server could
        return event_server_token(2**70)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("alg none", 422, "The specified alg value is not allowed"),
        ("wrong key", 422, "Signature verification failed"),
        ("tampered payload", 422, "Signature verification failed"),
        ("aud", 422, "Invalid audience"),
        ("expired", 401, "Token has expired"),
        ("refresh", 422, "Only access tokens are allowed"),
        ("garbage", 422, ""),
        ("huge identity", 422, "Invalid claim: identity"),
    ],
)
async def test_bad_tokens_get_the_event_servers_answers(
    app: Quart, client: Client, kind: str, status: int, message: str
) -> None:
    user_id = await insert_event_server_user(app, "g@example.org", "cobol is fine")
    response = await client.get("/v1/users/me", headers=auth(_forged(kind, user_id)))
    assert response.status_code == status
    body = await response.get_json()
    assert isinstance(body["error"], str) and body["error"]
    assert message in body["error"]


# ------------------------------------------------------------------ shared mode on PostgreSQL

SCHEMA_SNAPSHOT = """
SELECT 'column', table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE 'lab\\_%'
UNION ALL
SELECT 'constraint', table_name, constraint_name, constraint_type, '', ''
  FROM information_schema.table_constraints
 WHERE table_schema = 'public' AND table_name NOT LIKE 'lab\\_%'
UNION ALL
SELECT 'index', tablename, indexname, indexdef, '', ''
  FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE 'lab\\_%'
ORDER BY 1, 2, 3;
"""


def event_server_database(server: PostgresServer) -> str:
    """A database holding the event server's users table (and another of its tables)."""
    name = server.new_database("oe")
    server.psql("CREATE EXTENSION IF NOT EXISTS citext;", db=name)
    server.psql(
        f'SET ROLE "{server.user}";\n'
        + SQL.read_text()
        + "\nCREATE TABLE events (id SERIAL PRIMARY KEY, name VARCHAR NOT NULL);",
        db=name,
    )
    return name


def tables(server: PostgresServer, db: str) -> set[str]:
    out = server.psql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public';", db=db
    )
    return set(out.split())


@pytest.mark.postgres
async def test_shared_mode_uses_the_event_servers_users_and_touches_nothing_else(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = event_server_database(postgres_server)
    before_tables = tables(postgres_server, db)
    before_schema = postgres_server.psql(SCHEMA_SNAPSHOT, db=db)
    hashed, salt = event_server_scrypt("written by the event server")
    postgres_server.psql(
        "INSERT INTO users (_email, _password, salt, is_admin, is_super_admin, is_verified, "
        f"is_blocked, created_at) VALUES ('Ada@Example.org', '{hashed}', '{salt}', false, false, "
        "true, false, now());",
        db=db,
    )
    settings = make_settings(tmp_path, database_url=postgres_server.url(db), accounts="shared")
    from remotelab.app import create_app

    app = create_app(settings)
    async with app.test_app() as running:
        client = running.test_client()
        login = await client.post(
            "/v1/auth/login",
            json={"email": "ada@example.org", "password": "written by the event server"},
        )
        assert login.status_code == 200, await login.get_json()
        token = (await login.get_json())["access_token"]
        signup = await client.post(
            "/v1/users", json={"email": "Bob@Example.org", "password": "registered by the lab"}
        )
        assert signup.status_code == 201, await signup.get_json()
        taken = await client.post(
            "/v1/users", json={"email": "ADA@example.org", "password": "registered by the lab"}
        )
        assert taken.status_code == 409
        script = await client.post(
            "/v1/scripts", headers=auth(token), json={"title": "on postgres", "code": "print(1)"}
        )
        assert script.status_code == 201
        listed = await client.get("/v1/scripts", headers=auth(token))
        assert (await listed.get_json())["total"] == 1
        # The sign-up mail's link verifies the account in the event server's own column.
        await running.app.extensions[EXTENSION].mail.idle()
        outbox = (settings.server.instance_path / "outbox.txt").read_text().splitlines()
        link = json.loads(outbox[-1])["link"]
        verified = await client.post(
            "/v1/auth/verify-email", json={"data": {"token": link.split("token=", 1)[1]}}
        )
        assert verified.status_code == 200, await verified.get_json()

    # The new account is in the event server's scheme: its formula verifies it.
    row = postgres_server.psql(
        "SELECT _password, salt, is_blocked, is_admin, is_verified FROM users "
        "WHERE _email = 'bob@example.org';",
        db=db,
    ).strip()
    stored, salt, blocked, admin, is_verified = row.split("|")
    assert is_verified == "t"
    digest = hashlib.scrypt(
        b"registered by the lab", salt=salt.encode(), n=16384, r=8, p=1, dklen=64
    )
    assert stored == base64.b64encode(digest).decode()
    assert (blocked, admin) == ("f", "f")
    # Nothing outside lab_* was created or altered.
    after_tables = tables(postgres_server, db)
    assert {t for t in after_tables - before_tables if not t.startswith("lab_")} == set()
    assert after_tables - before_tables >= {"lab_scripts", "lab_accounts", "lab_alembic_version"}
    assert postgres_server.psql(SCHEMA_SNAPSHOT, db=db) == before_schema


@pytest.mark.postgres
async def test_shared_mode_without_a_users_table_says_so(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = postgres_server.new_database("empty")
    settings = make_settings(tmp_path, database_url=postgres_server.url(db), accounts="shared")
    from remotelab.app import create_app

    app = create_app(settings)
    # The lifespan fails (Quart's test harness wraps the error), and `remotelab init-db`
    # says the same thing on the command line.
    with pytest.raises(Exception, match="has no 'users' table: point REMOTELAB_DATABASE_URL"):
        async with app.test_app():
            pass
    assert not {t for t in tables(postgres_server, db) if not t.startswith("lab_")}
    done = subprocess.run(
        [sys.executable, "-m", "remotelab.cli", "init-db"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "REMOTELAB_INSTANCE_PATH": str(tmp_path / "cli"),
            "REMOTELAB_DATABASE_URL": postgres_server.url(db),
            "REMOTELAB_ACCOUNTS": "shared",
        },
    )
    assert done.returncode == 2
    assert "remotelab: REMOTELAB_ACCOUNTS=shared but the database has no 'users' table" in (
        done.stderr
    )


@pytest.mark.postgres
async def test_standalone_mode_on_postgresql(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    db = postgres_server.new_database("standalone")
    settings = make_settings(tmp_path, database_url=postgres_server.url(db))
    from remotelab.app import create_app

    app = create_app(settings)
    async with app.test_app() as running:
        client = running.test_client()
        assert (
            await client.post(
                "/v1/users", json={"email": "c@example.org", "password": "long enough"}
            )
        ).status_code == 201
        login = await client.post(
            "/v1/auth/login", json={"email": "C@example.org", "password": "long enough"}
        )
        headers = auth((await login.get_json())["access_token"])
        created = await client.post("/v1/scripts", headers=headers, json={"title": "t"})
        sid = (await created.get_json())["id"]
        patched = await client.patch(f"/v1/scripts/{sid}", headers=headers, json={"code": "x=1"})
        assert (await patched.get_json())["code"] == "x=1"
        assert (await client.delete(f"/v1/scripts/{sid}", headers=headers)).status_code == 204
    assert "users" in tables(postgres_server, db)
