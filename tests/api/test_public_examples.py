"""REMOTELAB_PUBLIC_EXAMPLES: signed-out visitors read and run examples, nothing else.

Through a real Hypercorn on a loopback port, with the sandbox and the emulator.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from remotelab.auth.roles import Role
from tests.conftest import make_settings
from tests.support.served import served

pytestmark = pytest.mark.timeout(90)

EXAMPLES = {
    "sine": ("Two kHz", "set_sine1(2000)\nprint('SI1 at 2 kHz')\n"),
    "escape": ("Escape", "print(open('/etc/passwd').read())\n"),
    "loop": ("Forever", "print('start')\nwhile True:\n    pass\n"),
}


async def start(tmp_path: Path, **overrides: Any) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    settings = make_settings(tmp_path, sandbox_wall_seconds=5.0, **overrides)
    app = create_app(settings)
    async with served(app, stop_seconds=10) as running:
        state = app.extensions[EXTENSION]
        tokens: dict[str, Any] = {}
        for who, role in (("teacher", Role.TEACHER), ("student", Role.STUDENT)):
            user = await state.accounts.create_account(
                email=f"{who}@example.org", password="password123", role=role
            )
            tokens[who] = {"Authorization": f"JWT {state.accounts.codec.issue_access(user.id)}"}
        base = f"http://{running.address}"
        async with httpx.AsyncClient(base_url=base) as http:
            for key, (title, code) in EXAMPLES.items():
                made = await http.post(
                    "/v1/examples",
                    headers=tokens["teacher"],
                    json={"title": title, "code": code, "description": f"about {key}"},
                )
                assert made.status_code == 201
                tokens[key] = made.json()["id"]
        yield base, tokens


@pytest.fixture
async def public(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    async for served_app in start(tmp_path, public_examples=True, public_runs_per_minute=4):
        yield served_app


@pytest.fixture
async def private(tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    async for served_app in start(tmp_path):
        yield served_app


async def test_off_by_default_examples_need_an_account(
    private: tuple[str, dict[str, Any]],
) -> None:
    base, ids = private
    async with httpx.AsyncClient(base_url=base) as http:
        for method, path in (
            ("GET", "/v1/examples"),
            ("GET", f"/v1/examples/{ids['sine']}"),
            ("POST", f"/v1/examples/{ids['sine']}/run"),
        ):
            response = await http.request(method, path)
            assert response.status_code == 401, path
    with pytest.raises(InvalidStatus) as refused:
        async with connect(base.replace("http", "ws") + "/v1/runs/live"):
            pass
    assert refused.value.response.status_code == 401


async def test_visitors_read_and_run_examples_and_nothing_else(
    public: tuple[str, dict[str, Any]],
) -> None:
    base, ids = public
    async with httpx.AsyncClient(base_url=base) as http:
        listing = await http.get("/v1/examples")
        assert listing.status_code == 200
        assert {e["title"] for e in listing.json()["items"]} == {"Two kHz", "Escape", "Forever"}
        one = (await http.get(f"/v1/examples/{ids['sine']}")).json()
        assert one["description"] == "about sine"

        ran = await http.post(f"/v1/examples/{ids['sine']}/run")
        assert ran.status_code == 200
        body = ran.json()
        assert (body["status"], body["stdout"], body["changed"]) == (
            "ok",
            "SI1 at 2 kHz\n",
            ["SI1"],
        )
        # The visitor's outputs are their own: a student still sees the bench's SI1.
        device = (await http.get("/v1/device", headers=ids["student"])).json()
        assert device["context"]["outputs"]["SI1"]["frequency"] == 1000

        # The sandbox applies as to anyone: no files.
        escape = (await http.post(f"/v1/examples/{ids['escape']}/run")).json()
        assert escape["status"] == "error"
        assert "passwd" not in escape["stdout"]

        # Everything else still needs an account.
        for method, path, body in (
            ("POST", f"/v1/examples/{ids['sine']}/copy", None),
            ("POST", "/v1/run", {"code": "print(1)"}),
            ("GET", "/v1/scripts", None),
            ("POST", "/v1/scripts", {"title": "x"}),
            ("POST", "/v1/functions/run", {"function": "set_sine1(10)"}),
            ("GET", "/v1/device", None),
            ("POST", "/v1/examples", {"title": "x"}),
        ):
            response = await http.request(method, path, json=body)
            assert response.status_code == 401, path
        # Credentials that are sent must be valid, public or not.
        bad = await http.get("/v1/examples", headers={"Authorization": "JWT not-a-token"})
        assert bad.status_code in (401, 422)
        assert (await http.get("/v1/examples/999999")).status_code == 404


async def test_a_visitor_follows_and_stops_an_example_live(
    public: tuple[str, dict[str, Any]],
) -> None:
    base, ids = public

    async def receive(ws: Any) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return message

    async with connect(base.replace("http", "ws") + "/v1/runs/live") as ws:
        await ws.send(json.dumps({"type": "run", "code": "print(1)"}))
        assert (await receive(ws))["type"] == "run.started"
        refused = await receive(ws)
        assert refused["type"] == "error"
        assert refused["status"] == 401
        assert refused["error"] == (
            "sign in to run your own code; signed out, you may run examples only"
        )
        await ws.send(json.dumps({"type": "run", "script_id": ids["loop"]}))
        assert (await receive(ws))["type"] == "run.started"
        assert (await receive(ws))["status"] == 401

        await ws.send(json.dumps({"type": "run", "example_id": ids["loop"]}))
        assert (await receive(ws))["type"] == "run.started"
        first = await receive(ws)
        assert (first["type"], first["stdout"]) == ("run.output", "start\n")
        await ws.send(json.dumps({"type": "cancel"}))
        while (message := await receive(ws))["type"] == "run.output":
            pass
        assert message["type"] == "run.result"
        assert message["result"]["status"] == "cancelled"
        assert message["result"]["stdout"] == "start\n"


async def test_visitors_together_are_rate_limited(public: tuple[str, dict[str, Any]]) -> None:
    base, ids = public
    path = f"/v1/examples/{ids['sine']}/run"
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(4):  # public_runs_per_minute
            assert (await http.post(path)).status_code == 200
        limited = await http.post(path)
        assert limited.status_code == 429
        assert limited.json()["code"] == "rate_limited"
        assert limited.json()["error"].startswith(
            "Signed-out visitors have started too many runs this minute; try again in "
        )
        assert limited.headers["Retry-After"]
        # A signed-in student is not held back by visitors.
        assert (await http.post(path, headers=ids["student"])).status_code == 200
