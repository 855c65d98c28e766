"""A front over NATS and agents in processes of their own: the same lab as the embedded one.

Real components throughout: nats-server with authorization, ``remotelab agent`` processes
with the emulator, ``remotelab serve``'s app on a real Hypercorn.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypercorn.utils import LifespanFailureError
from nats.aio.msg import Msg

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from remotelab.cluster import wire
from tests.conftest import make_settings
from tests.support.cluster import (
    Lab,
    agent_process,
    lab,
    logged_in,
    next_frames,
    run,
    subscribe,
)
from tests.support.nats import NatsServer
from tests.support.served import served

pytestmark = pytest.mark.timeout(120)

CALLS = ["set_pv1(1.25)", "get_voltage('CH3')", "set_sine1(500)", "get_resistance()"]
CAPTURE = "capture1('CH1', 200, 10)"


async def answers(lab_: Lab) -> list[tuple[int, Any]]:
    headers = await lab_.token("same@example.org")
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for fn in CALLS:
            status, body = await run(client, lab_, headers, fn)
            body.pop("elapsed_ms", None)
            out.append((status, body))
        # A capture's samples depend on when it ran (the sine moves on): its shape and
        # time axis are what must agree.
        status, body = await run(client, lab_, headers, CAPTURE)
        assert status == 200, body
        x, y = body["result"]
        out.append((status, {"x": x, "samples": len(y), "notes": body["notes"]}))
        # Stacked into plot series (the front parses the result it otherwise relays).
        status, body = await run(client, lab_, headers, "capture2(20, 10)", stacking="xyy")
        assert status == 200, body
        x, y1, y2 = body["result"]
        assert body["series"][0][5] == [x[5], y1[5]] and body["series"][1][5] == [x[5], y2[5]]
        out.append((status, {"series": len(body["series"]), "x": x, "unit": body["unit"]}))
        # A script gets the capture's values.
        code = "x, y = capture1('CH1', 200, 10)\nprint(len(x), len(y), x[1] - x[0])\n"
        response = await client.post(f"{lab_.base}/v1/run", json={"code": code}, headers=headers)
        run_body = response.json()
        out.append(
            (response.status_code, {"stdout": run_body["stdout"], "error": run_body["error"]})
        )
    return out


async def test_function_strings_answer_as_the_embedded_server_does(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with lab(tmp_path / "embedded") as embedded:
        expected = await answers(embedded)
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path / "front", **nats_server.front_settings()) as front,
    ):
        got = await answers(front)
    assert [status for status, _ in got] == [200] * (len(CALLS) + 3)
    assert got == expected


async def test_a_bad_or_unauthenticated_call_never_reaches_the_agent(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        status, body = await run(client, front, {}, "get_voltage('CH1')")
        assert status == 401
        headers = await front.token("s@example.org")
        status, body = await run(client, front, headers, "get_voltage('CH9')")
        assert status == 400 and "CH9" in body["error"]
        device = (await client.get(f"{front.base}/v1/device", headers=headers)).json()
        assert device["calls_served"] == 0  # neither reached the device
        status, body = await run(client, front, headers, "get_voltage('CH1')")
        assert status == 200
        device = (await client.get(f"{front.base}/v1/device", headers=headers)).json()
        assert device["calls_served"] == 1


async def test_the_agent_with_a_wrong_password_exits_naming_the_setting(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="NATS refused the credentials") as info:
        async with agent_process(nats_server, "bench-x", tmp_path, password="wrong"):
            pass
    assert "REMOTELAB_NATS_USER" in str(info.value)


async def test_a_front_with_a_wrong_password_does_not_start(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = {**nats_server.front_settings(), "nats_password": "wrong"}
    app = create_app(make_settings(tmp_path, **settings))
    # Hypercorn wraps the start's ConfigError; `remotelab serve` prints its message.
    with pytest.raises(
        LifespanFailureError, match="NATS refused the credentials of REMOTELAB_NATS_USER"
    ):
        async with served(app):
            pass


async def test_with_no_agent_a_call_is_a_503_that_says_so(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        headers = await front.token("s@example.org")
        status, body = await run(client, front, headers, "get_voltage('CH1')")
    assert status == 503
    assert "no device agent is registered" in body["error"]


async def calls_served(nats_server: NatsServer, name: str) -> int:
    """The agent's own count, read from its registry entry (not through the front)."""
    async with logged_in(nats_server, "front", wire.FRONT_INBOX) as nc:
        kv = await nc.jetstream().key_value("remotelab_devices")
        entry = json.loads((await kv.get(name)).value)
    return int(entry["calls_served"])


async def test_a_scripts_instrument_calls_and_hold_go_through_the_agent(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    code = "set_pv1(1.5)\nwith hold(2):\n    v = get_voltage('CH3')\nprint('v=%.1f' % v)\n"
    async with (
        agent_process(
            nats_server, "bench-a", tmp_path, extra={"REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2"}
        ),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        headers = await front.token("s@example.org")
        before = await calls_served(nats_server, "bench-a")
        response = await client.post(f"{front.base}/v1/run", json={"code": code}, headers=headers)
        body = response.json()
        assert response.status_code == 200, body
        assert body["status"] == "ok", body
        assert body["stdout"] == "v=1.5\n"
        assert body["changed"] == ["PV1"]
        assert body["stats"]["device_calls"] == 2
        await asyncio.sleep(0.5)  # a heartbeat or two
        assert await calls_served(nats_server, "bench-a") == before + 2
        # The user's context lives on the agent: their PV1 is still 1.5 there.
        device = (await client.get(f"{front.base}/v1/device", headers=headers)).json()
        assert device["context"]["outputs"]["PV1"] == 1.5
        assert device["hold"] is None  # released at the end of the block


async def test_a_stream_comes_through_the_agent(nats_server: NatsServer, tmp_path: Path) -> None:
    from websockets.asyncio.client import connect

    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings()) as front,
    ):
        headers = await front.token("s@example.org")
        async with connect(front.stream_url, additional_headers=headers) as ws:
            await subscribe(ws, "scope", "oscilloscope", channels=1, samples=500, timegap=2)
            frames = await next_frames(ws, 5)
    assert [f.id for f in frames] == ["scope"] * 5
    assert all(len(f.channels[0]) == 500 for f in frames)
    # The bench's 1 kHz sine on CH1 (about 3.3 V peak by default): a signal, not silence.
    assert max(abs(v) for v in frames[-1].channels[0]) > 1.0
    seqs = [f.seq for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


async def test_sigterm_drains_the_agent_with_clear_errors(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    # A realtime emulator: a capture of 1000 samples every 500 µs holds the device 0.5 s.
    long_call = "capture1('CH1', 1000, 500)"
    async with (
        agent_process(
            nats_server,
            "bench-a",
            tmp_path,
            extra={
                "REMOTELAB_EMULATOR_REALTIME": "true",
                "REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2",
            },
        ) as agent,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        users = [await front.token(f"u{i}@example.org") for i in range(4)]
        calls = [asyncio.create_task(run(client, front, headers, long_call)) for headers in users]
        # Until one runs and others wait in the agent's queue (its heartbeat tells the front).
        device = front.app.extensions[EXTENSION].instrument
        try:
            async with asyncio.timeout(20):
                while device.alive().get("bench-a", {}).get("queue", 0) < 1:
                    await asyncio.sleep(0.01)
        except TimeoutError:
            finished = [c.result() for c in calls if c.done()]
            pytest.fail(
                f"no call waited in bench-a's queue within 20 s; agents alive: "
                f"{device.alive()}; calls finished: {finished}; agent log:\n{agent.log}"
            )
        stopping = asyncio.create_task(agent.stop())
        results = await asyncio.gather(*calls)
        assert await stopping == 0
        statuses = sorted(status for status, _ in results)
        assert statuses[0] == 200  # the call running finished
        failed = [body for status, body in results if status == 503]
        assert failed, results
        for body in failed:
            assert body["error"] == "the device agent bench-a is shutting down; try again"
            assert body["code"] == "device_unavailable"
        assert statuses.count(200) + len(failed) == 4
        assert "agent bench-a stopped" in agent.log
        # Gone from the registry: the next call says so.
        status, body = await run(client, front, users[0], "get_voltage('CH1')")
        assert status == 503
        assert "no device agent is registered" in body["error"]


async def test_the_bench_teachers_store_reaches_every_device_even_one_that_joins_later(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from remotelab.auth.roles import Role

    async with (
        agent_process(nats_server, "bench-a", tmp_path) as first,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        accounts = front.app.extensions[EXTENSION].accounts
        teacher = await accounts.create_account(
            email="t@example.org", password="password123", role=Role.TEACHER
        )
        headers = {"Authorization": f"JWT {accounts.codec.issue_access(teacher.id)}"}
        response = await client.put(
            f"{front.base}/v1/device/bench", json={"outputs": {"PV1": 1.5}}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["changed"] == ["PV1"]
        await first.stop()
        async with agent_process(nats_server, "bench-b", tmp_path):
            student = await front.token("s@example.org")
            async with asyncio.timeout(10):
                while True:
                    status, body = await run(client, front, student, "get_voltage('CH3')")
                    if status == 200:
                        break
                    await asyncio.sleep(0.1)
            device = (await client.get(f"{front.base}/v1/device", headers=student)).json()
        assert device["bench"]["PV1"] == 1.5
        assert round(body["result"], 1) == 1.5


async def test_a_hold_on_the_agent_pauses_another_users_stream_at_the_front(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from websockets.asyncio.client import connect

    code = "import time\nwith hold(5):\n    get_voltage('CH1')\n    time.sleep(1.0)\n"
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        viewer = await front.token("viewer@example.org")
        holder = await front.token("holder@example.org")
        async with connect(front.stream_url, additional_headers=viewer) as ws:
            await subscribe(ws, "meter", "multimeter", channel="CH1", rate=10)
            await next_frames(ws, 1, timeout=10)
            script = asyncio.create_task(
                client.post(f"{front.base}/v1/run", json={"code": code}, headers=holder)
            )
            codes: list[str] = []
            async with asyncio.timeout(20):
                while "resumed" not in codes:
                    message = await ws.recv()
                    if isinstance(message, str):
                        data = json.loads(message)
                        if data["type"] == "status" and data.get("id") == "meter":
                            codes.append(data["code"])
            response = await script
        assert response.json()["status"] == "ok", response.json()
    assert codes[:2] == ["held", "resumed"]


async def test_a_run_reply_the_front_cannot_read_is_a_503_naming_the_device(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """An agent of an older version answers a run in one part (no result text apart)."""

    async def answer(msg: Msg) -> None:
        old = {"function": "get_voltage", "result": 1.0, "notes": [], "changed": []}
        await msg.respond(wire.ok(old))

    async with logged_in(nats_server, "agent", wire.AGENT_INBOX) as nc:
        js = nc.jetstream()
        kv = await js.create_key_value(bucket=wire.REGISTRY_BUCKET, ttl=30, history=1)
        await nc.subscribe(wire.call_subject("old-1"), cb=answer)
        entry = wire.entry(
            name="old-1", instance="i1", host="h", backend="emulator", bench="b",
            experiment="Old", description="", firmware=None, state="ready", fault=None,
            queue=0, hold=None, calls_served=0, heartbeat_seconds=10,
        )  # fmt: skip
        await kv.put("old-1", wire.encode(entry))
        async with lab(tmp_path, **nats_server.front_settings()) as front:
            headers = await front.token("s@example.org")
            async with httpx.AsyncClient(timeout=30) as client:
                status, body = await run(client, front, headers, "get_voltage('CH1')")
        assert status == 503, body
        assert body["error"].startswith("the device old-1 answered in a form this front")
        assert "same version" in body["error"]
        assert body["details"] == {"device": "old-1"}
