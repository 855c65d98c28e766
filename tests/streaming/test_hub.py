"""The hub's queues with a client that cannot keep up (its socket stops taking data)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from remotelab.config import FunctionSettings, StreamSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.streaming.hub import Hub
from remotelab.streaming.messages import ScopeConfig, Subscribe, decode_frame


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    owner = DeviceOwner(EmulatorBackend(Emulator(seed=1)))
    await owner.start()
    instrument = Instrument(owner, default_registry(), FunctionSettings())
    streams = Hub(instrument, StreamSettings(max_fps=200))
    yield streams
    await streams.close()
    await owner.close()


async def test_latest_frame_wins_for_a_stalled_client(hub: Hub) -> None:
    gate = asyncio.Event()  # the stalled client's socket: takes nothing until opened
    slow_got: list[bytes | str] = []
    fast_got: list[bytes | str] = []

    async def slow_send(data: bytes | str) -> None:
        await gate.wait()
        slow_got.append(data)

    async def fast_send(data: bytes | str) -> None:
        fast_got.append(data)

    slow, fast = hub.connect("u1"), hub.connect("u2")
    senders = [
        asyncio.create_task(slow.send_loop(slow_send)),
        asyncio.create_task(fast.send_loop(fast_send)),
    ]
    config = ScopeConfig(1, 1000, 1.0)
    await hub.subscribe(slow, Subscribe("s", "oscilloscope", config))
    await hub.subscribe(fast, Subscribe("f", "oscilloscope", config))
    assert hub.loop_count() == 1
    for _ in range(200):
        await asyncio.sleep(0.01)
        if slow.dropped["s"] >= 20:
            break
    fast_frames = [decode_frame(d) for d in fast_got if isinstance(d, bytes)]
    assert slow.dropped["s"] >= 20  # replaced while waiting: latest frame wins
    assert len(fast_frames) >= 20  # the other client kept getting every frame
    assert fast.dropped["f"] <= 1
    assert slow.pending_bytes < 4096  # one frame (and a few texts) wait, never more
    gate.set()
    await asyncio.sleep(0.05)
    slow_frames = [decode_frame(d) for d in slow_got if isinstance(d, bytes)]
    assert slow_frames and slow_frames[-1].seq > fast_frames[0].seq  # it gets the newest
    for task in senders:
        task.cancel()
    await hub.disconnect(slow)
    await hub.disconnect(fast)
    assert hub.loop_count() == 0


async def test_subscription_limit_per_user(hub: Hub) -> None:
    a, b = hub.connect("u"), hub.connect("u")
    config = ScopeConfig(1, 100, 1.0)
    for i in range(2):
        await hub.subscribe(a, Subscribe(f"a{i}", "oscilloscope", config))
        await hub.subscribe(b, Subscribe(f"b{i}", "oscilloscope", config))
    await b.handle(
        '{"type": "subscribe", "id": "b9", "instrument": "oscilloscope", '
        '"config": {"channels": 1, "samples": 100, "timegap": 1}}'
    )
    assert "at most 4 subscriptions per user" in b._texts[-1]
    await hub.disconnect(a)
    await hub.disconnect(b)


async def test_a_capture_longer_than_a_call_may_hold_the_device_is_refused(hub: Hub) -> None:
    client = hub.connect("u")
    await client.handle(
        '{"type": "subscribe", "id": "s", "instrument": "oscilloscope", '
        '"config": {"channels": 1, "samples": 10000, "timegap": 200}}'
    )
    assert "more than the 1 s a call may hold the device" in client._texts[-1]
    assert hub.loop_count() == 0
    await hub.disconnect(client)
