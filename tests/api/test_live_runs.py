"""Live runs, cancel and run history through a real Hypercorn on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from quart import Quart
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from remotelab.auth.roles import Role
from remotelab.widgets import merge_output
from tests.conftest import make_settings
from tests.support.served import served

pytestmark = pytest.mark.timeout(60)


@dataclass
class Server:
    app: Quart
    base: str
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"JWT {self.tokens[who]}"}

    def ws(self, who: str) -> Any:
        return connect(
            self.base.replace("http", "ws") + "/v1/runs/live",
            additional_headers=self.headers(who),
        )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    settings = make_settings(
        tmp_path, sandbox_wall_seconds=5.0, script_run_history=3, script_runs_per_minute=1000
    )
    app = create_app(settings)
    async with served(app, stop_seconds=10) as running:
        state = app.extensions[EXTENSION]
        tokens = {}
        for who, role in (("a", Role.STUDENT), ("b", Role.STUDENT), ("admin", Role.ADMIN)):
            user = await state.accounts.create_account(
                email=f"{who}@example.org", password="password123", role=role
            )
            tokens[who] = state.accounts.codec.issue_access(user.id)
        yield Server(app, f"http://{running.address}", tokens)


async def receive(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def follow(ws: ClientConnection) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Read a run's messages until its result: (run id, output messages, result)."""
    started = await receive(ws)
    assert started["type"] == "run.started", started
    outputs = []
    while True:
        message = await receive(ws)
        assert message["run"] == started["run"]
        if message["type"] == "run.result":
            return started["run"], outputs, message["result"]
        assert message["type"] == "run.output", message
        outputs.append(message)


async def test_live_messages_are_in_order_and_equal_the_result(server: Server) -> None:
    code = "for i in range(50):\n    print(i)\nlabel('done')\nplot([0, 1], [1, 0])\n"
    async with server.ws("a") as ws:
        await ws.send(json.dumps({"type": "run", "code": code}))
        _run, outputs, result = await follow(ws)
    assert result["status"] == "ok"
    assert "".join(m["stdout"] for m in outputs) == result["stdout"]
    assert applied(outputs) == result["widgets"]
    # POST /v1/run is unchanged for programs.
    async with httpx.AsyncClient(base_url=server.base) as http:
        posted = await http.post("/v1/run", headers=server.headers("a"), json={"code": code})
    assert posted.status_code == 200
    body = posted.json()
    assert set(body) == {"status", "widgets", "stdout", "error", "stats", "changed"}
    assert set(result) == set(body)
    assert (body["stdout"], body["widgets"]) == (result["stdout"], result["widgets"])


def applied(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The widgets of ``run.output`` messages as a client applies them: a widget named like
    the last one shown replaces it (a print widget that grew), any other is appended."""
    shown: list[dict[str, Any]] = []
    for message in outputs:
        merge_output(shown, message["widgets"])
    return shown


async def test_a_print_loop_of_300_lines_is_one_widget_live_and_in_the_result(
    server: Server,
) -> None:
    # Printed over several batches (a sleep every 20 lines): the print widget grows in them.
    code = (
        "import time\nfor i in range(300):\n    print('line', i)\n"
        "    if i % 20 == 0:\n        time.sleep(0.06)\nlabel('done')\nprint('after')\n"
    )
    async with server.ws("a") as ws:
        await ws.send(json.dumps({"type": "run", "code": code}))
        _run, outputs, result = await follow(ws)
    assert result["status"] == "ok", result["error"]
    lines = [f"line {i}" for i in range(300)]
    assert (
        "".join(m["stdout"] for m in outputs) == result["stdout"] == "\n".join(lines) + "\nafter\n"
    )
    text = " ".join(result["widgets"][0]["value"])
    assert text == "\n".join(lines)
    assert [(w["type"], w["name"]) for w in result["widgets"]] == [
        ("text", "print"),
        ("label", "print1"),
        ("text", "print2"),
    ]
    assert len(outputs) > 2  # live in several batches, and they add up to the result
    assert applied(outputs) == result["widgets"]
    async with httpx.AsyncClient(base_url=server.base) as http:
        posted = await http.post("/v1/run", headers=server.headers("a"), json={"code": code})
    assert posted.json()["status"] == "ok"
    assert posted.json()["widgets"] == result["widgets"]


async def test_first_live_output_comes_at_once(server: Server) -> None:
    async with server.ws("a") as ws:
        await ws.send(json.dumps({"type": "run", "code": "1"}))
        await follow(ws)
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "run", "code": "print(1)\nwhile True:\n    pass\n"}))
        assert (await receive(ws))["type"] == "run.started"
        first = await receive(ws)
        elapsed = time.perf_counter() - started
        assert first["type"] == "run.output" and first["stdout"] == "1\n"
        assert elapsed < 0.25, elapsed
        await ws.send(json.dumps({"type": "cancel"}))
        result = await receive(ws)
    assert result["type"] == "run.result"
    assert result["result"]["status"] == "cancelled"
    assert result["result"]["stdout"] == "1\n"


CANCELLABLE = {
    "busy-loop": ("print('a')\nwhile True:\n    pass\n", (2, 3)),
    "sleeping": ("import time\nprint('a')\ntime.sleep(4)\n", (3,)),
    "instrument-call": ("print('a')\nget_voltage('CH3')\n", (2,)),
}


@contextlib.contextmanager
def hanging_instrument(server: Server) -> Iterator[None]:
    """The emulated device stops answering (the emulator's "silent" fault) and a read waits
    up to a minute for it: an instrument call hangs until the fault is cleared."""
    emulator = server.app.extensions[EXTENSION].instrument.owner.backend.emulator
    timeout = emulator.timeout
    emulator.timeout = 60
    emulator.inject_fault("silent")
    try:
        yield
    finally:
        emulator.clear_fault()  # the device thread's read returns at once
        emulator.timeout = timeout


@pytest.mark.parametrize("case", list(CANCELLABLE))
async def test_delete_stops_a_run_at_once(server: Server, case: str) -> None:
    code, lines = CANCELLABLE[case]
    hang = hanging_instrument(server) if case == "instrument-call" else contextlib.nullcontext()
    with hang:
        await _delete_stops_a_run_at_once(server, code, lines)


async def _delete_stops_a_run_at_once(server: Server, code: str, lines: tuple[int, ...]) -> None:
    async with server.ws("a") as ws, httpx.AsyncClient(base_url=server.base) as http:
        await ws.send(json.dumps({"type": "run", "code": code}))
        run = (await receive(ws))["run"]
        assert (await receive(ws))["stdout"] == "a\n"
        await asyncio.sleep(0.15)  # a timer sample names the line
        control = server.app.extensions[EXTENSION].sandbox.find(run)
        pid = control.worker_pid
        # Another student cannot stop it, nor tell it exists.
        other = await http.delete(f"/v1/runs/{run}", headers=server.headers("b"))
        assert other.status_code == 404
        asked = time.perf_counter()
        response = await http.delete(f"/v1/runs/{run}", headers=server.headers("a"))
        elapsed = time.perf_counter() - asked
        assert response.status_code == 200
        result = response.json()
        live = await receive(ws)
    assert elapsed < 0.2, elapsed
    assert result["status"] == "cancelled"
    assert result["stdout"] == "a\n"
    assert result["error"]["type"] == "Cancelled"
    assert result["error"]["line"] in lines
    assert live["type"] == "run.result" and live["result"]["status"] == "cancelled"
    assert not os.path.exists(f"/proc/{pid}")


async def test_an_admin_may_stop_any_run_and_ended_runs_are_404(server: Server) -> None:
    async with server.ws("a") as ws, httpx.AsyncClient(base_url=server.base) as http:
        await ws.send(json.dumps({"type": "run", "code": "while True:\n    pass\n"}))
        run = (await receive(ws))["run"]
        await asyncio.sleep(0.05)
        response = await http.delete(f"/v1/runs/{run}", headers=server.headers("admin"))
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        again = await http.delete(f"/v1/runs/{run}", headers=server.headers("a"))
        assert again.status_code == 404
        assert (await http.delete(f"/v1/runs/{run}")).status_code == 401


async def test_live_refuses_bad_messages_and_a_second_run(server: Server) -> None:
    with pytest.raises(InvalidStatus):
        async with connect(server.base.replace("http", "ws") + "/v1/runs/live"):
            pass
    async with server.ws("a") as ws:
        await ws.send("not json")
        assert (await receive(ws))["type"] == "error"
        await ws.send(json.dumps({"type": "run", "code": 1}))
        assert (await receive(ws))["code"] == "bad_request"
        await ws.send(json.dumps({"type": "run", "code": "while True:\n    pass\n"}))
        assert (await receive(ws))["type"] == "run.started"
        await ws.send(json.dumps({"type": "run", "code": "1"}))
        refused = await receive(ws)
        assert refused["type"] == "error"
        await ws.send(json.dumps({"type": "cancel"}))
        assert (await receive(ws))["result"]["status"] == "cancelled"


async def test_a_timeout_over_http_keeps_output_and_line(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        response = await http.post(
            "/v1/run",
            headers=server.headers("a"),
            json={"code": "print('x')\nwhile True:\n    pass\n"},
        )
    body = response.json()
    assert body["status"] == "timeout"
    assert body["stdout"] == "x\n"
    assert body["error"]["line"] in (2, 3)


async def test_run_history_keeps_the_newest_runs_for_the_owner_only(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        a, b = server.headers("a"), server.headers("b")
        script = (
            await http.post("/v1/scripts", headers=a, json={"title": "t", "code": "print(1)"})
        ).json()
        for i in range(5):
            await http.patch(f"/v1/scripts/{script['id']}", headers=a, json={"code": f"print({i})"})
            assert (
                await http.post(f"/v1/scripts/{script['id']}/run", headers=a)
            ).status_code == 200
        async with server.ws("a") as ws:
            await ws.send(json.dumps({"type": "run", "script_id": script["id"]}))
            await follow(ws)
        history = (await http.get(f"/v1/scripts/{script['id']}/runs", headers=a)).json()
        assert history["keep"] == 3
        assert [item["stdout"] for item in history["items"]] == ["4\n", "4\n", "3\n"]
        assert all(item["status"] == "ok" and item["duration_ms"] > 0 for item in history["items"])
        assert (await http.get(f"/v1/scripts/{script['id']}/runs", headers=b)).status_code == 404
        # Another student's run of an example never lands in anyone's history.
        assert (await http.get("/v1/scripts/999999/runs", headers=a)).status_code == 404


async def test_a_live_run_is_told_when_another_users_hold_makes_it_wait(server: Server) -> None:
    owner = server.app.extensions[EXTENSION].instrument.owner
    hold = await owner.hold("someone else", 0.5)
    try:
        async with server.ws("a") as ws:
            code = "print(get_voltage('CH1'))\n"
            await ws.send(json.dumps({"type": "run", "code": code}))
            started = await receive(ws)
            waiting = await receive(ws)
            assert waiting["type"] == "run.waiting", waiting
            assert waiting["run"] == started["run"]
            assert waiting["reason"] == "held" and waiting["by"] == "another user"
            assert "someone else" not in json.dumps(waiting)
            while (message := await receive(ws))["type"] != "run.result":
                pass
            assert message["result"]["status"] == "ok"
    finally:
        owner.release(hold)
