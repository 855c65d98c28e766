"""Faults over NATS: agents killed, NATS restarted or gone; what users see meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from remotelab.api.context import EXTENSION
from tests.support.cluster import agent_process, lab, next_frames, run, subscribe
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(120)


async def test_front_and_agent_come_back_by_themselves_after_nats_restarts(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        agent_process(
            nats_server, "bench-a", tmp_path, extra={"REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2"}
        ) as agent,
        lab(tmp_path, **nats_server.front_settings(), nats_heartbeat_seconds=0.2) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        headers = await front.token("s@example.org")
        assert (await run(client, front, headers, "set_pv1(2.5)"))[0] == 200
        await asyncio.to_thread(nats_server.restart)
        async with asyncio.timeout(20):
            while True:
                status, body = await run(client, front, headers, "get_voltage('CH3')")
                if status == 200:
                    break
                assert status == 503, body  # meanwhile: unavailable, never a crash
                await asyncio.sleep(0.2)
        assert round(body["result"], 1) == 2.5  # the same agent, the user's context kept
        assert agent.process.returncode is None


async def test_an_agent_killed_mid_call_is_a_503_naming_it_and_the_next_call_goes_elsewhere(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import signal
    import time

    fast = {"REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2", "REMOTELAB_EMULATOR_REALTIME": "true"}
    async with (
        agent_process(nats_server, "bench-a", tmp_path, extra=fast) as a,
        agent_process(nats_server, "bench-b", tmp_path, extra=fast) as b,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        device = front.app.extensions[EXTENSION].instrument
        headers = await front.token("s@example.org")
        assert (await run(client, front, headers, "set_pv1(1.0)"))[0] == 200
        mine = device.assigned[next(iter(device.assigned))]
        victim, other = (a, b) if mine == "bench-a" else (b, a)
        # A 0.5 s capture in flight when its agent is killed.
        call = asyncio.create_task(run(client, front, headers, "capture1('CH1', 1000, 500)"))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        victim.process.send_signal(signal.SIGKILL)
        status, body = await call
        waited = time.monotonic() - started
        assert status == 503, body
        assert body["error"] == (
            f"the device {victim.name} went away during the call (its agent stopped "
            "answering); try again"
        )
        assert body["details"] == {"device": victim.name}
        assert waited < 3.0  # 3 heartbeats of 0.2 s and the watch, not the call's timeout
        status, body = await run(client, front, headers, "get_voltage('CH1')")
        assert status == 200, body
        assert device.assigned[next(iter(device.assigned))] == other.name
        await victim.stop()


async def test_a_users_outputs_follow_them_to_another_device_when_theirs_dies(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import signal

    async with (
        agent_process(nats_server, "bench-a", tmp_path) as a,
        agent_process(nats_server, "bench-b", tmp_path) as b,
        lab(tmp_path, **nats_server.front_settings()) as front,
        httpx.AsyncClient(timeout=60) as client,
    ):
        device = front.app.extensions[EXTENSION].instrument
        headers = await front.token("s@example.org")
        assert (await run(client, front, headers, "set_pv1(1.5)"))[0] == 200
        assert (await run(client, front, headers, "set_sine1(700)"))[0] == 200
        (mine,) = device.assigned.values()
        victim, other = (a, b) if mine == "bench-a" else (b, a)
        victim.process.send_signal(signal.SIGKILL)
        await victim.stop()
        status, body = await run(client, front, headers, "get_voltage('CH3')")
        assert status == 200, body
        assert abs(body["result"] - 1.5) < 0.05  # PV1 -> CH3 on the default bench
        assert list(device.assigned.values()) == [other.name]
        state = (await client.get(f"{front.base}/v1/device", headers=headers)).json()
        assert state["context"]["differs_from_bench"] == ["SI1", "PV1"]
        assert state["context"]["outputs"]["SI1"]["frequency"] == 700


async def test_with_nats_down_calls_are_503s_that_say_so_never_500s(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path, **nats_server.front_settings(), device_call_timeout=1) as front,
        httpx.AsyncClient(timeout=30) as client,
    ):
        known = await front.token("known@example.org")
        assert (await run(client, front, known, "get_voltage('CH1')"))[0] == 200
        nats_server.process.terminate()
        await asyncio.to_thread(nats_server.process.wait, 10)
        new = await front.token("new@example.org")
        for headers in (known, new):  # one the front knows the device of, one it does not
            status, body = await run(client, front, headers, "get_voltage('CH1')")
            assert status == 503, body
            assert body["code"] in ("device_unavailable", "device_timeout"), body
            assert "bench-a" in body["error"] or "NATS" in body["error"], body


async def test_a_stream_goes_on_from_another_device_when_its_agent_dies(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    import signal
    import time

    from websockets.asyncio.client import connect

    fast = {"REMOTELAB_NATS_HEARTBEAT_SECONDS": "0.2"}
    async with (
        agent_process(nats_server, "bench-a", tmp_path, extra=fast) as a,
        agent_process(nats_server, "bench-b", tmp_path, extra=fast) as b,
        lab(tmp_path, **nats_server.front_settings()) as front,
    ):
        device = front.app.extensions[EXTENSION].instrument
        headers = await front.token("s@example.org")
        async with connect(front.stream_url, additional_headers=headers) as ws:
            await subscribe(ws, "meter", "multimeter", channel="CH1", rate=20)
            await next_frames(ws, 1, timeout=10)
            (mine,) = device.assigned.values()
            victim, other = (a, b) if mine == "bench-a" else (b, a)
            victim.process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await asyncio.sleep(0.3)
            async with asyncio.timeout(10):
                while True:  # frames again, now from the other device
                    if (
                        isinstance(await ws.recv(), bytes)
                        and device.assigned.get(next(iter(device.assigned))) == other.name
                    ):
                        break
            gap = time.monotonic() - killed
        await victim.stop()
    assert gap < 5.0
