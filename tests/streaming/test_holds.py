"""Streams and holds (ADR 0012): another user's hold pauses a stream, with a ``status``
message, and no capture is queued meanwhile; it resumes after. The holder's own goes on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from remotelab.config import FunctionSettings, StreamSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.streaming.acquisition import local_sources
from remotelab.streaming.hub import Client, Hub
from remotelab.streaming.messages import MeterConfig, Subscribe


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    owner = DeviceOwner(EmulatorBackend(Emulator(seed=1)))
    await owner.start()
    instrument = Instrument(owner, default_registry(), FunctionSettings())
    streams = Hub(instrument, local_sources(instrument), StreamSettings(max_fps=100))
    yield streams
    await streams.close()
    await owner.close()


class Received:
    def __init__(self, hub: Hub, user: str) -> None:
        self.data: list[bytes | str] = []
        self.client: Client = hub.connect(user)
        self.task = asyncio.create_task(self.client.send_loop(self.send))

    async def send(self, data: bytes | str) -> None:
        self.data.append(data)

    def frames(self) -> int:
        return sum(isinstance(d, bytes) for d in self.data)

    def statuses(self) -> list[dict[str, Any]]:
        texts = [json.loads(d) for d in self.data if isinstance(d, str)]
        return [t for t in texts if t.get("type") == "status" and "code" in t]


async def frames_grow(got: Received, more: int = 3, seconds: float = 3.0) -> None:
    start = got.frames()
    for _ in range(int(seconds / 0.01)):
        if got.frames() >= start + more:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no frames")


async def test_another_users_hold_pauses_a_stream_then_it_resumes(hub: Hub) -> None:
    owner = hub.instrument.owner
    bob = Received(hub, "bob")
    await hub.subscribe(bob.client, Subscribe("m", "multimeter", MeterConfig("CH1", 50)))
    await frames_grow(bob)
    hold = await owner.hold("alice", 5.0)
    await asyncio.sleep(0.05)
    assert [s["code"] for s in bob.statuses()] == ["held"]
    assert "another user" in bob.statuses()[0]["message"]
    assert "alice" not in bob.statuses()[0]["message"]
    paused_at = bob.frames()
    await asyncio.sleep(0.2)
    assert bob.frames() <= paused_at + 1  # at most a capture that was already running
    assert len(owner.queue) == 0  # the loop queues no capture while paused
    owner.release(hold)
    await frames_grow(bob)
    assert [s["code"] for s in bob.statuses()] == ["held", "resumed"]
    bob.task.cancel()
    await hub.disconnect(bob.client)


async def test_the_holders_own_stream_goes_on(hub: Hub) -> None:
    owner = hub.instrument.owner
    alice, bob = Received(hub, "alice"), Received(hub, "bob")
    config = MeterConfig("CH1", 50)
    await hub.subscribe(alice.client, Subscribe("m", "multimeter", config))
    await hub.subscribe(bob.client, Subscribe("m", "multimeter", config))
    await frames_grow(alice)
    hold = await owner.hold("alice", 5.0)
    await asyncio.sleep(0.05)
    bob_paused = bob.frames()
    await frames_grow(alice, 5)  # the holder's frames keep coming
    assert bob.frames() <= bob_paused + 1
    assert alice.statuses() == []  # the holder is not told to wait for themselves
    assert [s["code"] for s in bob.statuses()] == ["held"]
    owner.release(hold)
    await frames_grow(bob)
    for got in (alice, bob):
        got.task.cancel()
        await hub.disconnect(got.client)


async def test_the_periodic_status_says_the_device_is_held(hub: Hub) -> None:
    owner = hub.instrument.owner
    hold = await owner.hold("alice", 5.0)
    status = json.loads(hub.connect("bob").status())
    assert status["hold"]["by"] == "another user"
    owner.release(hold)
    assert json.loads(hub.connect("bob").status())["hold"] is None


async def test_stopping_one_paused_stream_does_not_stop_another(hub: Hub) -> None:
    owner = hub.instrument.owner
    bob, carol = Received(hub, "bob"), Received(hub, "carol")
    await hub.subscribe(bob.client, Subscribe("m", "multimeter", MeterConfig("CH1", 50)))
    await hub.subscribe(carol.client, Subscribe("m", "multimeter", MeterConfig("CH2", 50)))
    await frames_grow(bob)
    await frames_grow(carol)
    hold = await owner.hold("alice", 5.0)
    await asyncio.sleep(0.05)  # both loops paused on the same change
    await hub.unsubscribe(bob.client, "m")
    owner.release(hold)
    await frames_grow(carol)
    assert [s["code"] for s in carol.statuses()] == ["held", "resumed"]
    for got in (bob, carol):
        got.task.cancel()
        await hub.disconnect(got.client)
