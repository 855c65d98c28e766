"""Bad input, table-driven: each gets its clear 4xx in the one error shape, and nothing breaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart import Quart

from tests.conftest import Signup

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}

# (name, method, path, raw body or JSON-able value, extra headers, status, substring of "error")
RAW = "raw"
CASES: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    # Malformed JSON.
    (
        "truncated",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "x"'),
        JSON,
        400,
        "malformed JSON",
    ),
    (
        "trailing garbage",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "x"} junk'),
        JSON,
        400,
        "malformed JSON",
    ),
    ("NaN literal", "POST", "/v1/scripts", (RAW, b'{"title": NaN}'), JSON, 400, "title"),
    ("empty body", "POST", "/v1/scripts", (RAW, b""), JSON, 400, "malformed JSON"),
    (
        "not utf-8",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "\xff\xfe"}'),
        JSON,
        400,
        "malformed JSON",
    ),
    ("a list, not an object", "POST", "/v1/scripts", ["title"], {}, 400, "invalid request"),
    ("null body", "POST", "/v1/scripts", None, {}, 400, "invalid request"),
    # Wrong content type.
    (
        "text/plain",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "x"}'),
        {"Content-Type": "text/plain"},
        415,
        "expected Content-Type application/json",
    ),
    (
        "form",
        "POST",
        "/v1/users",
        (RAW, b"email=a%40b.c&password=12345678"),
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "got application/x-www-form",
    ),
    (
        "multipart",
        "POST",
        "/v1/run",
        (RAW, b"--b\r\n\r\nx\r\n--b--"),
        {"Content-Type": "multipart/form-data; boundary=b"},
        415,
        "got multipart/form-data",
    ),
    (
        "no content type",
        "POST",
        "/v1/run",
        (RAW, b'{"code": "1"}'),
        {"Content-Type": ""},
        415,
        "got none",
    ),
    # Wrong types and missing fields: the field is named.
    ("number for title", "POST", "/v1/scripts", {"title": 5}, {}, 400, "title"),
    ("object for code", "POST", "/v1/scripts", {"title": "t", "code": {"a": 1}}, {}, 400, "code"),
    (
        "missing title",
        "POST",
        "/v1/scripts",
        {"code": "print(1)"},
        {},
        400,
        "title: Field required",
    ),
    (
        "bool for published",
        "PATCH",
        "/v1/scripts/{sid}",
        {"published": "yes"},
        {},
        400,
        "published",
    ),
    ("string for function", "POST", "/v1/functions/run", {"function": 7}, {}, 400, "function"),
    ("missing code", "POST", "/v1/run", {}, {}, 400, "code: Field required"),
    ("nested garbage", "POST", "/v1/auth/change-password", {"data": [1, 2]}, {}, 400, "data"),
    ("missing data", "POST", "/v1/auth/reset-password", {"email": "a@b.c"}, {}, 400, "data"),
    ("role not allowed", "PUT", "/v1/admin/users/1/role", {"role": "admin"}, {}, 400, "role"),
    # Sizes.
    (
        "body over the limit",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "' + b"x" * MIB + b'"}'),
        JSON,
        413,
        "request body too large",
    ),
    (
        "script over the limit",
        "POST",
        "/v1/scripts",
        {"title": "t", "code": "#" * 70_000},
        {},
        413,
        "code: at most 65536 bytes",
    ),
    (
        "title too long",
        "POST",
        "/v1/scripts",
        {"title": "t" * 201},
        {},
        400,
        "title: at most 200 characters",
    ),
    (
        "description too long",
        "POST",
        "/v1/scripts",
        {"title": "t", "description": "d" * 4001},
        {},
        400,
        "description: at most 4000",
    ),
    (
        "huge function string",
        "POST",
        "/v1/functions/run",
        {"function": "get_voltage(" * 5000},
        {},
        400,
        "function string too long",
    ),
    # Text no database can store.
    ("NUL in title", "POST", "/v1/scripts", {"title": "a\x00b"}, {}, 400, "NUL"),
    (
        "lone surrogate",
        "POST",
        "/v1/scripts",
        (RAW, b'{"title": "\\ud800"}'),
        JSON,
        400,
        "title: Input should be a valid string",
    ),
    ("blank title", "POST", "/v1/scripts", {"title": "  \t "}, {}, 400, "title: must not be blank"),
    # Accounts.
    (
        "empty password",
        "POST",
        "/v1/users",
        {"email": "e@example.org", "password": ""},
        {},
        400,
        "Password should have minimum 8 characters",
    ),
    (
        "no @ in email",
        "POST",
        "/v1/users",
        {"email": "nobody", "password": "long enough"},
        {},
        400,
        "email",
    ),
    (
        "very long email",
        "POST",
        "/v1/users",
        {"email": "a" * 500 + "@example.org", "password": "long enough"},
        {},
        400,
        "email",
    ),
    (
        "NUL in password",
        "POST",
        "/v1/users",
        {"email": "n@example.org", "password": "long\x00enough"},
        {},
        400,
        "NUL",
    ),
    (
        "login without password",
        "POST",
        "/v1/auth/login",
        {"email": "a@example.org"},
        {},
        400,
        "username or password missing",
    ),
    (
        "login with a number",
        "POST",
        "/v1/auth/login",
        {"email": 5, "password": 6},
        {},
        400,
        "username or password missing",
    ),
    ("login as a list", "POST", "/v1/auth/login", ["a"], {}, 400, "username or password missing"),
    (
        "reset with an unknown token",
        "PATCH",
        "/v1/auth/reset-password",
        {"data": {"token": "x" * 50, "password": "long enough"}},
        {},
        404,
        "User Not Found",
    ),
    (
        "reset with a short password",
        "PATCH",
        "/v1/auth/reset-password",
        {"data": {"token": "x", "password": "short"}},
        {},
        400,
        "minimum 8",
    ),
    (
        "malformed authorization",
        "GET",
        "/v1/users/me",
        None,
        {"Authorization": "JWT a b c"},
        422,
        "Bad Authorization header",
    ),
    # Paths and queries.
    ("negative id", "GET", "/v1/scripts/-1", None, {}, 404, "no such route"),
    ("huge id", "GET", "/v1/scripts/99999999999999999999999", None, {}, 404, "no such route"),
    ("largest id", "GET", "/v1/scripts/9223372036854775807", None, {}, 404, "no script"),
    ("id not a number", "GET", "/v1/scripts/abc", None, {}, 404, "no such route"),
    ("limit 0", "GET", "/v1/scripts?limit=0", None, {}, 400, "limit"),
    ("negative limit", "GET", "/v1/scripts?limit=-1", None, {}, 400, "limit"),
    ("offset not a number", "GET", "/v1/scripts?offset=abc", None, {}, 400, "offset"),
    ("unknown sort", "GET", "/v1/scripts?sort=owner", None, {}, 400, "sort"),
    ("unknown parameter", "GET", "/v1/scripts?colour=red", None, {}, 400, "colour"),
    ("unknown route", "GET", "/v1/nothing-here", None, {}, 404, "no such route"),
    ("wrong method", "DELETE", "/v1/functions", None, {}, 405, "not allowed"),
]


@pytest.fixture
async def world(app: Quart, signup: Signup) -> tuple[dict[str, str], int]:
    headers = await signup("a@example.org")
    client = app.test_client()
    created = await client.post(
        "/v1/scripts", headers=headers, json={"title": "keep me", "code": "print('kept')"}
    )
    return headers, (await created.get_json())["id"]


async def test_bad_inputs_get_clear_errors_and_nothing_is_lost(
    app: Quart, world: tuple[dict[str, str], int]
) -> None:
    headers, sid = world
    failures = []
    for name, method, path, body, extra, status, message in CASES:
        kwargs: dict[str, Any] = {"headers": {**headers, **extra}}
        if isinstance(body, tuple) and body[0] == RAW:
            kwargs["data"] = body[1]
        elif body is not None or name == "null body":
            kwargs["data"] = json.dumps(body).encode()
            kwargs["headers"].setdefault("Content-Type", "application/json")
        if extra.get("Content-Type") == "":
            del kwargs["headers"]["Content-Type"]
        response = await app.test_client().open(path.format(sid=sid), method=method, **kwargs)
        data = await response.get_json(force=True, silent=True)
        if response.status_code != status:
            failures.append(f"{name}: status {response.status_code} != {status}: {data}")
        elif not isinstance(data, dict) or not isinstance(data.get("error"), str):
            failures.append(f"{name}: not the error shape: {data!r}")
        elif message not in data["error"]:
            failures.append(f"{name}: {data['error']!r} lacks {message!r}")
        elif not isinstance(data.get("code"), str):
            failures.append(f"{name}: no code in {data!r}")
    assert not failures, "\n".join(failures)
    client = app.test_client()
    assert (await client.get("/v1/health")).status_code == 200
    kept = await (await client.get(f"/v1/scripts/{sid}", headers=headers)).get_json()
    assert (kept["title"], kept["code"]) == ("keep me", "print('kept')")


@pytest.mark.parametrize(
    "text",
    [
        "'; DROP TABLE users; --",
        "Robert'); DELETE FROM lab_scripts WHERE ('1'='1",
        "emoji 🔬⚡ and RTL שָׁלוֹם and combining e\u0301",
        "\t tabs\nand\r\nnewlines ",
        "%s %(x)s {0} {x!r}",
    ],
)
async def test_odd_text_is_stored_and_returned_verbatim(
    app: Quart, world: tuple[dict[str, str], int], text: str
) -> None:
    headers, _ = world
    client = app.test_client()
    created = await client.post(
        "/v1/scripts", headers=headers, json={"title": text, "code": text, "description": text}
    )
    assert created.status_code == 201
    sid = (await created.get_json())["id"]
    got = await (await client.get(f"/v1/scripts/{sid}", headers=headers)).get_json()
    assert got["code"] == text
    assert got["description"] == text
    assert got["title"] == text.strip()
    login = await client.post("/v1/auth/login", json={"email": text, "password": text})
    assert login.status_code == 401
    assert (await client.get("/v1/scripts", headers=headers)).status_code == 200
