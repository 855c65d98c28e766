"""Accounts over HTTP: sign up, login, refresh, logout, passwords, roles, sessions."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client
from sqlalchemy import update

from remotelab.api.context import EXTENSION
from remotelab.config import Settings
from remotelab.errors import InputError
from remotelab.storage.models import User, utcnow
from tests.conftest import Signup

PASSWORD = "correct horse battery"


async def sign_up(client: Client, email: str = "ada@example.org", **extra: str):
    return await client.post("/v1/users", json={"email": email, "password": PASSWORD, **extra})


async def login(client: Client, email: str = "ada@example.org", password: str = PASSWORD):
    return await client.post("/v1/auth/login", json={"email": email, "password": password})


def jwt(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


async def test_sign_up_then_login_with_token_and_cookie(client: Client) -> None:
    response = await sign_up(client, "  Ada@Example.org ", first_name="Ada", last_name="Lovelace")
    assert response.status_code == 201
    body = await response.get_json()
    assert body["email"] == "ada@example.org"
    assert body["role"] == "student"
    assert body["name"] == "Ada Lovelace"
    assert "password" not in json.dumps(body)

    response = await login(client, "ADA@example.org ")
    assert response.status_code == 200
    tokens = await response.get_json()
    assert set(tokens) == {"access_token", "refresh_token"}
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie

    me = await client.get("/v1/users/me", headers=jwt(tokens["access_token"]))
    assert (await me.get_json())["email"] == "ada@example.org"
    bearer = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert bearer.status_code == 200
    # The same client carries the session cookie: no header needed.
    by_cookie = await client.get("/v1/users/me")
    assert by_cookie.status_code == 200


async def test_legacy_login_path(client: Client) -> None:
    await sign_up(client)
    response = await client.post(
        "/auth/session", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "access_token" in await response.get_json()


async def test_taken_email_is_409_in_any_case(client: Client) -> None:
    assert (await sign_up(client)).status_code == 201
    response = await sign_up(client, "ADA@EXAMPLE.ORG")
    assert response.status_code == 409
    assert (await response.get_json())["error"] == "an account with this email already exists"


async def test_short_password_is_refused(client: Client) -> None:
    response = await client.post("/v1/users", json={"email": "b@example.org", "password": "short"})
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "Password should have minimum 8 characters"


async def test_login_errors_are_the_event_servers(client: Client) -> None:
    await sign_up(client)
    missing = await client.post("/v1/auth/login", json={"email": "ada@example.org"})
    assert missing.status_code == 400
    assert (await missing.get_json())["error"] == "username or password missing"
    wrong = await login(client, password="not the password")
    assert wrong.status_code == 401
    assert (await wrong.get_json())["error"] == "Invalid Credentials"
    unknown = await login(client, email="nobody@example.org")
    assert unknown.status_code == 401
    assert (await unknown.get_json())["error"] == "Invalid Credentials"


async def test_login_refuses_text_no_database_can_store(app: Quart) -> None:
    client = app.test_client()
    await sign_up(client)
    for path in ("/v1/auth/login", "/auth/session"):
        for email, password, field in [
            ("\ud800@example.org", PASSWORD, "email"),
            ("ada@example.org\x00", PASSWORD, "email"),
            ("ada@example.org", "correct horse \udfff", "password"),
        ]:
            response = await client.post(path, json={"email": email, "password": password})
            assert response.status_code == 400, (path, field)
            body = await response.get_json()
            assert body["error"].startswith(f"{field}: must ")
            assert body["details"] == {"field": field}
    assert (await login(client)).status_code == 200
    # Accounts made outside HTTP (`create-user` arguments may carry surrogate escapes).
    accounts = app.extensions[EXTENSION].accounts
    with pytest.raises(InputError, match="first_name: must be valid Unicode"):
        await accounts.create_account(email="b@example.org", password=PASSWORD, first_name="\udcff")


async def test_refresh_gives_a_new_access_token(client: Client) -> None:
    await sign_up(client)
    tokens = await (await login(client)).get_json()
    refreshed = await client.post("/v1/auth/token/refresh", headers=jwt(tokens["refresh_token"]))
    assert refreshed.status_code == 200
    access = (await refreshed.get_json())["access_token"]
    fresh_client = client.app.test_client()  # type: ignore[attr-defined]
    assert (await fresh_client.get("/v1/users/me", headers=jwt(access))).status_code == 200
    # An access token is not a refresh token.
    wrong = await client.post("/v1/auth/token/refresh", headers=jwt(tokens["access_token"]))
    assert wrong.status_code in (401, 422)


async def test_logout_revokes_the_token_and_the_cookie(app: Quart) -> None:
    client = app.test_client()
    await sign_up(client)
    tokens = await (await login(client)).get_json()
    assert (
        await client.post("/v1/auth/logout", headers=jwt(tokens["access_token"]))
    ).status_code == 200
    other = app.test_client()
    after = await other.get("/v1/users/me", headers=jwt(tokens["access_token"]))
    assert after.status_code == 401
    assert (await after.get_json())["error"] == "Token has been revoked"
    assert (await client.get("/v1/users/me")).status_code == 401  # cookie cleared


async def start_of_a_second() -> None:
    """Wait for a new second, so what follows shares one (JWT iat has whole seconds)."""
    await asyncio.sleep(1 - time.time() % 1 + 0.01)


async def test_change_password_revokes_older_tokens(app: Quart) -> None:
    client = app.test_client()
    await sign_up(client)
    await start_of_a_second()
    old = (await (await login(client)).get_json())["access_token"]
    # The change happens in the same second as the old token's iat: still refused.
    response = await client.post(
        "/v1/auth/change-password",
        headers=jwt(old),
        json={"data": {"old-password": PASSWORD, "new-password": "another password"}},
    )
    assert response.status_code == 200, await response.get_json()
    body = await response.get_json()
    assert body["password-changed"] is True
    other = app.test_client()
    assert (await other.get("/v1/users/me", headers=jwt(old))).status_code == 401
    assert (await other.get("/v1/users/me", headers=jwt(body["access_token"]))).status_code == 200
    assert (await login(other, password=PASSWORD)).status_code == 401
    assert (await login(other, password="another password")).status_code == 200


async def test_change_password_needs_a_fresh_token(app: Quart) -> None:
    client = app.test_client()
    await sign_up(client)
    tokens = await (await login(client)).get_json()
    refreshed = await client.post("/v1/auth/token/refresh", headers=jwt(tokens["refresh_token"]))
    stale = (await refreshed.get_json())["access_token"]
    change = {"data": {"old-password": PASSWORD, "new-password": "another password"}}
    other = app.test_client()  # no cookie: the token alone
    refused = await other.post("/v1/auth/change-password", headers=jwt(stale), json=change)
    assert refused.status_code == 401
    body = await refused.get_json()
    assert (body["error"], body["code"]) == ("Fresh token required", "fresh_token_required")
    assert (await login(other, password=PASSWORD)).status_code == 200  # unchanged
    # The session cookie of a password login counts as fresh.
    by_cookie = await client.post("/v1/auth/change-password", json=change)
    assert by_cookie.status_code == 200, await by_cookie.get_json()


async def test_logout_everywhere_refuses_tokens_of_the_same_second(app: Quart) -> None:
    client = app.test_client()
    await sign_up(client)
    await start_of_a_second()
    first = (await (await login(client)).get_json())["access_token"]
    second = (await (await login(app.test_client())).get_json())["access_token"]
    out = await client.post("/v1/auth/logout", headers=jwt(first), json={"everywhere": True})
    assert out.status_code == 200
    other = app.test_client()
    refused = await other.get("/v1/users/me", headers=jwt(second))
    assert refused.status_code == 401
    assert (await refused.get_json())["error"] == "Token has been revoked"
    # A login right after the cut-off (same second) gets tokens and a cookie that work.
    again = await (await login(client)).get_json()
    assert (await other.get("/v1/users/me", headers=jwt(again["access_token"]))).status_code == 200
    refreshed = await other.post("/v1/auth/token/refresh", headers=jwt(again["refresh_token"]))
    assert refreshed.status_code == 200
    assert (await client.get("/v1/users/me")).status_code == 200


async def test_change_password_with_wrong_old_password(client: Client) -> None:
    await sign_up(client)
    token = (await (await login(client)).get_json())["access_token"]
    response = await client.post(
        "/v1/auth/change-password",
        headers=jwt(token),
        json={"data": {"old-password": "wrong one!", "new-password": "another password"}},
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"] == (
        "Wrong Password. Please enter correct current password."
    )


async def test_reset_password_flow_is_single_use(app: Quart, settings: Settings) -> None:
    client = app.test_client()
    await sign_up(client)
    response = await client.post(
        "/v1/auth/reset-password", json={"data": {"email": "ada@example.org"}}
    )
    assert response.status_code == 200
    # An unknown email gets the very same answer (no account probing).
    unknown = await client.post(
        "/v1/auth/reset-password", json={"data": {"email": "nobody@example.org"}}
    )
    assert (await unknown.get_json())["message"] == (await response.get_json())["message"]
    await app.extensions[EXTENSION].mail.idle()  # mail leaves off the request path
    outbox = (settings.server.instance_path / "outbox.txt").read_text().splitlines()
    resets = [m for m in map(json.loads, outbox) if m["kind"] == "reset_password"]
    assert len(resets) == 1
    link = resets[0]["link"]
    assert link.startswith("http://localhost/reset-password?token=")
    token = link.split("token=", 1)[1]

    done = await client.patch(
        "/v1/auth/reset-password", json={"data": {"token": token, "password": "brand new pass"}}
    )
    assert done.status_code == 200
    assert (await done.get_json())["email"] == "ada@example.org"
    assert (await login(client, password="brand new pass")).status_code == 200
    again = await client.patch(
        "/v1/auth/reset-password", json={"data": {"token": token, "password": "third password"}}
    )
    assert again.status_code == 404
    assert (await again.get_json())["error"] == "User Not Found"


async def test_blocked_and_deleted_users_lose_access(app: Quart) -> None:
    # As if the event server blocked the user in a shared database: the cached standing
    # expires after auth_cache_seconds; here the cache is emptied to see the effect at once.
    state = app.extensions[EXTENSION]
    client = app.test_client()
    await sign_up(client)
    token = (await (await login(client)).get_json())["access_token"]
    async with state.db.session() as session:
        await session.execute(update(User).values(is_blocked=True))
    state.accounts.standing.forget(1)
    other = app.test_client()
    assert (await other.get("/v1/users/me", headers=jwt(token))).status_code == 401
    assert (await client.get("/v1/users/me")).status_code == 401  # cookie too
    assert (await login(other)).status_code == 401
    async with state.db.session() as session:
        await session.execute(update(User).values(is_blocked=False, deleted_at=utcnow()))
    state.accounts.standing.forget(1)
    assert (await other.get("/v1/users/me", headers=jwt(token))).status_code == 401
    assert (await login(other)).status_code == 401


async def test_login_is_rate_limited_per_account(app: Quart, settings: Settings) -> None:
    client = app.test_client()
    await sign_up(client)
    for _ in range(settings.auth.login_attempts_per_account):
        assert (await login(client, password="wrong password")).status_code == 401
    limited = await login(client, password="wrong password")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    # Even the right password waits: the account is under attack.
    assert (await login(client)).status_code == 429


async def test_admin_grants_and_removes_teacher(signup: Signup, client: Client) -> None:
    admin = await signup("root@example.org", role="admin")
    student = await signup("s@example.org")
    me = await (await client.get("/v1/users/me", headers=student)).get_json()
    grant = await client.put(
        f"/v1/admin/users/{me['id']}/role", headers=admin, json={"role": "teacher"}
    )
    assert grant.status_code == 200
    assert (await grant.get_json())["role"] == "teacher"
    listing = await (await client.get("/v1/admin/users", headers=admin)).get_json()
    assert {u["email"]: u["role"] for u in listing["items"]} == {
        "root@example.org": "admin",
        "s@example.org": "teacher",
    }
    remove = await client.put(
        f"/v1/admin/users/{me['id']}/role", headers=admin, json={"role": "student"}
    )
    assert (await remove.get_json())["role"] == "student"
    denied = await client.put(
        f"/v1/admin/users/{me['id']}/role", headers=student, json={"role": "teacher"}
    )
    assert denied.status_code == 403
    missing = await client.put("/v1/admin/users/999/role", headers=admin, json={"role": "teacher"})
    assert missing.status_code == 404


async def user_id(client: Client, headers: dict[str, str]) -> int:
    return int((await (await client.get("/v1/users/me", headers=headers)).get_json())["id"])


async def test_the_last_admin_cannot_be_demoted(signup: Signup, client: Client) -> None:
    admin = await signup("root@example.org", role="admin")
    me = await user_id(client, admin)
    for role in ("student", "teacher"):
        response = await client.put(
            f"/v1/admin/users/{me}/role", headers=admin, json={"role": role}
        )
        assert response.status_code == 409
        body = await response.get_json()
        assert body["code"] == "conflict"
        assert "last admin" in body["error"]
    assert (await (await client.get("/v1/users/me", headers=admin)).get_json())["role"] == "admin"


async def test_only_super_admins_demote_other_admins(
    app: Quart, signup: Signup, client: Client
) -> None:
    first = await signup("first@example.org", role="admin")
    second = await signup("second@example.org", role="admin")
    first_id, second_id = await user_id(client, first), await user_id(client, second)
    denied = await client.put(
        f"/v1/admin/users/{second_id}/role", headers=first, json={"role": "student"}
    )
    assert denied.status_code == 403
    assert "super admin" in (await denied.get_json())["error"]
    me = await (await client.get("/v1/users/me", headers=second)).get_json()
    assert me["role"] == "admin"
    # An event-server super admin may, as on the event server.
    boss = await signup("boss@example.org")
    boss_id = await user_id(client, boss)
    state = app.extensions[EXTENSION]
    async with state.db.session() as session:
        await session.execute(update(User).where(User.id == boss_id).values(is_super_admin=True))
    state.accounts.standing.forget(boss_id)
    demoted = await client.put(
        f"/v1/admin/users/{second_id}/role", headers=boss, json={"role": "teacher"}
    )
    assert demoted.status_code == 200
    assert (await demoted.get_json())["role"] == "teacher"
    # The event server's own admins are changed there, not by a lab role.
    async with state.db.session() as session:
        await session.execute(update(User).where(User.id == second_id).values(is_admin=True))
    state.accounts.standing.forget(second_id)
    staff = await client.put(
        f"/v1/admin/users/{second_id}/role", headers=boss, json={"role": "student"}
    )
    assert staff.status_code == 409
    assert "event server" in (await staff.get_json())["error"]
    # One may step down oneself while another admin remains.
    stepped = await client.put(
        f"/v1/admin/users/{first_id}/role", headers=first, json={"role": "student"}
    )
    assert stepped.status_code == 200
    assert (await stepped.get_json())["role"] == "student"


async def test_logout_survives_a_restart(settings: Settings) -> None:
    from remotelab.app import create_app

    first = create_app(settings)
    async with first.test_app() as running:
        client = running.test_client()
        await sign_up(client)
        token = (await (await login(client)).get_json())["access_token"]
        assert (await client.post("/v1/auth/logout", headers=jwt(token))).status_code == 200
    again = create_app(settings)
    async with again.test_app() as running:
        response = await running.test_client().get("/v1/users/me", headers=jwt(token))
        assert response.status_code == 401
        assert (await response.get_json())["error"] == "Token has been revoked"


async def test_login_and_sign_up_are_rate_limited_per_address(tmp_path) -> None:
    from remotelab.app import create_app
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, login_attempts_per_address=3, signups_per_address=2)
    app = create_app(settings)
    async with app.test_app() as running:
        client = running.test_client()
        for i in range(2):
            assert (await sign_up(client, f"u{i}@example.org")).status_code == 201
        third = await sign_up(client, "u2@example.org")
        assert third.status_code == 429
        assert "retry_after" in (await third.get_json())["details"]
        # Different accounts, same address: the address limit applies.
        for i in range(3):
            assert (await login(client, f"u{i}@example.org", "wrong password")).status_code == 401
        assert (await login(client, "u0@example.org")).status_code == 429
