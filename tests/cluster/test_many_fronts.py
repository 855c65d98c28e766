"""Several fronts on one lab: they agree on each user's device and share capture loops."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from remotelab.api.context import EXTENSION
from remotelab.streaming.messages import Frame
from tests.support.cluster import Lab, agent_process, lab, next_frames, run, subscribe
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(120)


async def test_two_fronts_share_one_capture_loop_on_the_agent(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    from websockets.asyncio.client import connect

    async def watch(front: Lab, email: str, n: int) -> list[Frame]:
        headers = await front.token(email)
        async with connect(front.stream_url, additional_headers=headers) as ws:
            await subscribe(ws, "scope", "oscilloscope", channels=1, samples=200, timegap=2)
            return await next_frames(ws, n)

    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        lab(tmp_path / "one", **nats_server.front_settings()) as one,
        lab(tmp_path / "two", **nats_server.front_settings()) as two,
    ):
        first, second = await asyncio.gather(
            watch(one, "a@example.org", 20), watch(two, "b@example.org", 20)
        )
    # One loop on the agent, captured for both users (same outputs): the two fronts got the
    # same frames (sequence number and capture time), each published once for both. Two
    # loops would number alike but never stamp alike.
    same = {(f.seq, f.timestamp) for f in first} & {(f.seq, f.timestamp) for f in second}
    assert len(same) >= 5, ([f.seq for f in first], [f.seq for f in second])


async def test_every_front_sends_a_users_calls_to_the_same_device(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        agent_process(nats_server, "bench-b", tmp_path),
        lab(tmp_path / "one", **nats_server.front_settings()) as one,
        lab(tmp_path / "two", **nats_server.front_settings()) as two,
        httpx.AsyncClient(timeout=30) as client,
    ):
        accounts = [one.app.extensions[EXTENSION].accounts, two.app.extensions[EXTENSION].accounts]
        devices = [
            one.app.extensions[EXTENSION].instrument,
            two.app.extensions[EXTENSION].instrument,
        ]
        for i in range(6):
            # The same account in both fronts' databases (same id), as a shared one would be.
            users = [
                await a.create_account(email=f"u{i}@example.org", password="password123")
                for a in accounts
            ]
            assert users[0].id == users[1].id
            headers = {"Authorization": f"JWT {accounts[0].codec.issue_access(users[0].id)}"}
            # Front one first for even users, front two first for odd ones. User 0 uses only
            # front one: the fronts' own counts of who is where then differ, and only what
            # they share can keep them agreeing.
            first, second = (one, two) if i % 2 == 0 else (two, one)
            if i == 0:
                second = one
            volts = round(0.5 + i / 4, 2)
            status, body = await run(client, first, headers, f"set_pv1({volts})")
            assert status == 200, body
            status, body = await run(client, second, headers, "get_voltage('CH3')")
            assert status == 200, body
            assert abs(body["result"] - volts) < 0.05  # their own output, there
        listed = (await client.get(f"{two.base}/v1/devices", headers=headers)).json()
        assert [d["name"] for d in listed["devices"]] == ["bench-a", "bench-b"]
        assert [d["yours"] for d in listed["devices"]].count(True) == 1
        assert {d["state"] for d in listed["devices"]} == {"connected"}
        on = [d.assigned for d in devices]
        assert {k: v for k, v in on[0].items() if k in on[1]} == on[1]
        assert set(on[0].values()) == {"bench-a", "bench-b"}  # users spread over both
