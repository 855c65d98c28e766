"""The authorization matrix: every route by anonymous, student A, student B, teacher, admin.

A new route fails `test_every_route_is_in_the_matrix` until it gets its row here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from quart import Quart

from remotelab.api.context import EXTENSION
from remotelab.auth.roles import Role
from remotelab.sandbox.server.control import RunControl
from remotelab.storage import scripts as q

ACTORS = ("anon", "a", "b", "teacher", "admin")
PASSWORD = "password123"

# (method, path template, body) -> expected status per actor.
# {mine}: student A's unpublished script; {example}: the teacher's published example;
# {builtin}: a built-in example; {a_id}: student A's user id; {run}: A's run in progress.
ANON = 401


def logged_in(status: int) -> dict[str, int]:
    return {"anon": ANON, "a": status, "b": status, "teacher": status, "admin": status}


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ACTORS, status)


def only(allowed: dict[str, int], others: int) -> dict[str, int]:
    return {"anon": ANON, **{a: allowed.get(a, others) for a in ACTORS[1:]}}


MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/v1/health", None, everyone(200)),
    ("GET", "/v1/functions", None, everyone(200)),
    ("GET", "/", None, everyone(200)),
    ("GET", "/openapi.json", None, everyone(200)),
    ("GET", "/v1/users/me", None, logged_in(200)),
    ("GET", "/v1/device", None, logged_in(200)),
    ("GET", "/v1/devices", None, logged_in(200)),
    ("GET", "/v1/experiments", None, logged_in(200)),
    ("PUT", "/v1/experiment", {"experiment": "default"}, logged_in(200)),
    ("POST", "/v1/device/reset", None, logged_in(200)),
    # The bench (what every user starts from): teachers and admins only.
    (
        "PUT",
        "/v1/device/bench",
        {"outputs": {"PV1": 0.5}},
        only({"teacher": 200, "admin": 200}, 403),
    ),
    ("POST", "/v1/functions/run", {"function": "get_voltage('CH1')"}, logged_in(200)),
    ("POST", "/v1/run", {"code": "print(1)"}, logged_in(200)),
    # Own scripts: A's script is A's only; anyone else gets 404, as for a missing one.
    ("GET", "/v1/scripts", None, logged_in(200)),
    ("POST", "/v1/scripts", {"title": "new"}, logged_in(201)),
    ("GET", "/v1/scripts/{mine}", None, only({"a": 200}, 404)),
    ("PATCH", "/v1/scripts/{mine}", {"title": "renamed"}, only({"a": 200}, 404)),
    ("POST", "/v1/scripts/{mine}/run", None, only({"a": 200}, 404)),
    ("GET", "/v1/scripts/{mine}/runs", None, only({"a": 200}, 404)),
    # A's run in progress: A or an admin may stop it; for anyone else it does not exist.
    ("DELETE", "/v1/runs/{run}", None, only({"a": 200, "admin": 200}, 404)),
    ("DELETE", "/v1/scripts/{mine}", None, only({"a": 204}, 404)),
    # Publishing: teachers and admins, their own scripts only.
    (
        "PATCH",
        "/v1/scripts/{example}",
        {"published": True},
        only({"a": 403, "b": 403, "teacher": 200}, 404),
    ),
    (
        "POST",
        "/v1/examples",
        {"title": "ex", "code": "print(2)"},
        only({"teacher": 201, "admin": 201}, 403),
    ),
    # Examples: every logged-in user reads, runs and copies them; unpublished are not examples.
    ("GET", "/v1/examples", None, logged_in(200)),
    ("GET", "/v1/examples/{example}", None, logged_in(200)),
    ("GET", "/v1/examples/{builtin}", None, logged_in(200)),
    ("GET", "/v1/examples/{mine}", None, logged_in(404)),
    ("POST", "/v1/examples/{example}/run", None, logged_in(200)),
    ("POST", "/v1/examples/{example}/copy", None, logged_in(201)),
    # Roles: admins only.
    ("GET", "/v1/admin/users", None, only({"admin": 200}, 403)),
    ("PUT", "/v1/admin/users/{a_id}/role", {"role": "teacher"}, only({"admin": 200}, 403)),
    # Accounts. An access token where a refresh token is due: the event server's 422.
    ("POST", "/v1/auth/token/refresh", None, {"anon": ANON, **dict.fromkeys(ACTORS[1:], 422)}),
    (
        "POST",
        "/v1/users",
        {"email": "new-{actor}@example.org", "password": "long enough"},
        everyone(201),
    ),
    ("POST", "/v1/auth/login", {"email": "a@example.org", "password": PASSWORD}, everyone(200)),
    ("POST", "/auth/session", {"email": "a@example.org", "password": PASSWORD}, everyone(200)),
    ("POST", "/v1/auth/reset-password", {"data": {"email": "a@example.org"}}, everyone(200)),
    (
        "PATCH",
        "/v1/auth/reset-password",
        {"data": {"token": "nope", "password": "long enough"}},
        everyone(404),
    ),
    # Email verification: public, as on the event server; a token nobody was sent is 400.
    ("POST", "/v1/auth/verify-email", {"data": {"token": "nope"}}, everyone(400)),
    ("POST", "/v1/auth/resend-verification", {"data": {"email": "a@example.org"}}, everyone(200)),
    (
        "POST",
        "/v1/auth/resend-verification-email",
        {"data": {"email": "b@example.org"}},
        everyone(200),
    ),
    # Last: both revoke the token they were called with.
    (
        "POST",
        "/v1/auth/change-password",
        {"data": {"old-password": PASSWORD, "new-password": "another password"}},
        logged_in(200),
    ),
    ("POST", "/v1/auth/logout", None, logged_in(200)),
]

ROLES = {"a": "student", "b": "student", "teacher": "teacher", "admin": "admin"}


async def world(app: Quart) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    """Five actors, A's script, the teacher's example and a built-in example."""
    state = app.extensions[EXTENSION]
    headers: dict[str, dict[str, str]] = {"anon": {}}
    ids: dict[str, int] = {}
    client = app.test_client()
    for actor, role in ROLES.items():
        user = await state.accounts.create_account(
            email=f"{actor}@example.org", password=PASSWORD, role=Role(role)
        )
        ids[f"{actor}_id"] = user.id
        response = await client.post(
            "/v1/auth/login", json={"email": f"{actor}@example.org", "password": PASSWORD}
        )
        headers[actor] = {"Authorization": f"JWT {(await response.get_json())['access_token']}"}
    async with state.db.session() as session:
        mine = await q.create(session, owner_id=ids["a_id"], title="A's", code="print('a')")
        example = await q.create(
            session, owner_id=ids["teacher_id"], title="T's", code="print('t')", published=True
        )
        builtin = await q.upsert_builtin_example(
            session, source_file="b.py", title="B", description="d", level="beginner", code="1"
        )
    ids.update(mine=mine.id, example=example.id, builtin=builtin.id)
    control = RunControl(str(ids["a_id"]))
    running = asyncio.create_task(state.sandbox.run("while True:\n    pass\n", control=control))
    RUNNING.append((control, running))
    for _ in range(100):
        if state.sandbox.find(control.id) is not None:
            break
        await asyncio.sleep(0.01)
    ids["run"] = control.id  # type: ignore[assignment]
    return headers, ids


RUNNING: list[tuple[RunControl, asyncio.Task[Any]]] = []


def fill(value: Any, ids: dict[str, int], actor: str) -> Any:
    if isinstance(value, str):
        return value.format(actor=actor, **ids)
    if isinstance(value, dict):
        return {k: fill(v, ids, actor) for k, v in value.items()}
    return value


@pytest.mark.parametrize("actor", ACTORS)
async def test_the_matrix(app: Quart, actor: str) -> None:
    headers, ids = await world(app)
    client = app.test_client()
    failures = []
    for method, template, body, expected in MATRIX:
        path = fill(template, ids, actor)
        kwargs: dict[str, Any] = {"headers": headers[actor]}
        if body is not None:
            kwargs["json"] = fill(body, ids, actor)
        # A fresh client per row: a login row must not leave a session cookie behind.
        response = await app.test_client().open(path, method=method, **kwargs)
        if response.status_code != expected[actor]:
            failures.append(f"{method} {path}: {response.status_code} != {expected[actor]}")
        elif response.status_code >= 400:
            error = await response.get_json()
            if not (isinstance(error.get("error"), str) and isinstance(error.get("code"), str)):
                failures.append(f"{method} {path}: error body {error}")
        if template == "/v1/auth/change-password" and response.status_code == 200:
            # It revoked the token used: log in again for the row that follows.
            again = await client.post(
                "/v1/auth/login",
                json={"email": f"{actor}@example.org", "password": "another password"},
            )
            headers[actor] = {"Authorization": f"JWT {(await again.get_json())['access_token']}"}
    while RUNNING:
        control, running = RUNNING.pop()
        control.cancel()
        await running
    assert not failures, "\n".join(failures)


async def test_every_route_is_in_the_matrix(app: Quart) -> None:
    covered = {(method, template) for method, template, _, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "<path:" in rule.rule or rule.websocket:
            continue
        path = rule.rule
        for name, placeholder in (
            ("<int:script_id>", "{mine}"),
            ("<int:user_id>", "{a_id}"),
            ("<run_id>", "{run}"),
        ):
            path = path.replace(name, placeholder)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            candidates = {
                (method, path),
                (method, path.replace("{mine}", "{example}")),
                (method, path.replace("{mine}", "{builtin}")),
            }
            assert candidates & covered, f"{method} {rule.rule} is not in the matrix"
