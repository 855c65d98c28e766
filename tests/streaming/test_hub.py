"""The hub's queues with a client that cannot keep up (its socket stops taking data)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from remotelab.config import FunctionSettings, StreamSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.streaming.acquisition import local_sources
from remotelab.streaming.hub import Hub
from remotelab.streaming.messages import (
    HEADER,
    MeterConfig,
    ScopeConfig,
    Subscribe,
    decode_frame,
)


@pytest.fixture
async def hub() -> AsyncIterator[Hub]:
    owner = DeviceOwner(EmulatorBackend(Emulator(seed=1)))
    await owner.start()
    instrument = Instrument(owner, default_registry(), FunctionSettings())
    streams = Hub(instrument, local_sources(instrument), StreamSettings(max_fps=200))
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


async def test_a_subscriber_whose_frames_fail_is_dropped_alone(hub: Hub) -> None:
    # An id the frame encoder cannot write (a lone surrogate) stands for any failure while
    # one subscriber's frame is made: the shared loop must go on for the others.
    got: dict[str, list[bytes | str]] = {"good": [], "bad": []}

    def sender(name: str) -> Callable[[bytes | str], Awaitable[None]]:
        async def send(data: bytes | str) -> None:
            got[name].append(data)

        return send

    good, bad = hub.connect("u1"), hub.connect("u2")
    senders = [
        asyncio.create_task(good.send_loop(sender("good"))),
        asyncio.create_task(bad.send_loop(sender("bad"))),
    ]
    config = MeterConfig("CH1", 20)
    await hub.subscribe(good, Subscribe("g", "multimeter", config))
    await hub.subscribe(bad, Subscribe("\ud800", "multimeter", config))
    assert hub.loop_count() == 1
    for _ in range(300):
        await asyncio.sleep(0.01)
        if sum(isinstance(d, bytes) for d in got["good"]) >= 5:
            break
    good_frames = [decode_frame(d) for d in got["good"] if isinstance(d, bytes)]
    assert len(good_frames) >= 5  # the loop outlived the failing subscriber
    assert hub.loop_count() == 1
    assert bad.subscriptions == {}  # dropped, and told why
    errors = [json.loads(t) for t in got["bad"] if isinstance(t, str) and '"error"' in t]
    assert [e["code"] for e in errors] == ["internal"]
    assert not any(isinstance(d, bytes) for d in got["bad"])
    for task in senders:
        task.cancel()
    await hub.disconnect(good)
    await hub.disconnect(bad)
    assert hub.loop_count() == 0


async def test_the_loop_stops_when_its_only_subscriber_is_dropped(hub: Hub) -> None:
    bad = hub.connect("u")
    await hub.subscribe(bad, Subscribe("\udfff", "multimeter", MeterConfig("CH1", 20)))
    for _ in range(300):
        await asyncio.sleep(0.01)
        if hub.loop_count() == 0:
            break
    assert hub.loop_count() == 0
    assert bad.subscriptions == {}
    await hub.disconnect(bad)


async def test_a_shared_loop_captures_once_per_distinct_context(hub: Hub) -> None:
    """Three subscribers of one configuration; one of them set another sine for themselves."""
    import numpy as np

    await hub.instrument.run("u2", "set_sine1(3000)")
    got: dict[str, list[bytes | str]] = {"u1": [], "u2": [], "u3": []}

    def sender(user: str) -> Any:
        async def send(data: bytes | str) -> None:
            got[user].append(data)

        return send

    clients = {user: hub.connect(user) for user in got}
    senders = [asyncio.create_task(c.send_loop(sender(u))) for u, c in clients.items()]
    config = ScopeConfig(1, 1000, 2.0)
    for client in clients.values():
        await hub.subscribe(client, Subscribe("s", "oscilloscope", config))
    assert hub.loop_count() == 1
    for _ in range(300):
        await asyncio.sleep(0.01)
        if all(sum(isinstance(d, bytes) for d in data) >= 5 for data in got.values()):
            break
    peaks: dict[str, set[float]] = {}
    for user, data in got.items():
        frames = [decode_frame(d) for d in data if isinstance(d, bytes)]
        assert len(frames) >= 5
        for frame in frames:
            y = np.asarray(frame.channels[0], dtype=float)
            spectrum = np.abs(np.fft.rfft(y - y.mean()))
            peak = float(np.fft.rfftfreq(len(y), frame.dx * 1e-6)[np.argmax(spectrum)])
            peaks.setdefault(user, set()).add(round(peak))
    assert peaks == {"u1": {1000}, "u2": {3000}, "u3": {1000}}
    for task in senders:
        task.cancel()
    for client in clients.values():
        await hub.disconnect(client)


async def test_a_frame_is_packed_once_per_subscription_id_for_all_its_viewers(hub: Hub) -> None:
    """A class's viewers mostly share the webapp's subscription id: they are all handed the
    same bytes (one object per frame), a viewer of another id its own, with its id."""
    got: dict[str, list[bytes]] = {"u1": [], "u2": [], "u3": []}

    def sender(user: str) -> Any:
        async def send(data: bytes | str) -> None:
            if isinstance(data, bytes):
                got[user].append(data)

        return send

    clients = {user: hub.connect(user) for user in got}
    senders = [asyncio.create_task(c.send_loop(sender(u))) for u, c in clients.items()]
    config = ScopeConfig(1, 200, 2.0)
    ids = {"u1": "scope-1", "u2": "scope-1", "u3": "other"}
    for user, client in clients.items():
        await hub.subscribe(client, Subscribe(ids[user], "oscilloscope", config))
    assert hub.loop_count() == 1
    for _ in range(300):
        await asyncio.sleep(0.01)
        if all(len(frames) >= 5 for frames in got.values()):
            break
    by_seq = {user: {decode_frame(d).seq: d for d in data} for user, data in got.items()}
    common = by_seq["u1"].keys() & by_seq["u2"].keys() & by_seq["u3"].keys()
    assert len(common) >= 3
    for seq in common:
        assert by_seq["u1"][seq] is by_seq["u2"][seq]  # one object for both viewers
        assert decode_frame(by_seq["u1"][seq]).id == "scope-1"
        assert decode_frame(by_seq["u3"][seq]).id == "other"
        assert by_seq["u3"][seq][HEADER.size + 5 :] == by_seq["u1"][seq][HEADER.size + 7 :]
    for task in senders:
        task.cancel()
    for client in clients.values():
        await hub.disconnect(client)


async def test_a_capture_longer_than_a_call_may_hold_the_device_is_refused(hub: Hub) -> None:
    client = hub.connect("u")
    await client.handle(
        '{"type": "subscribe", "id": "s", "instrument": "oscilloscope", '
        '"config": {"channels": 1, "samples": 10000, "timegap": 200}}'
    )
    assert "more than the 1 s a call may hold the device" in client._texts[-1]
    assert hub.loop_count() == 0
    await hub.disconnect(client)


async def test_a_handler_cancelled_while_it_disconnects_leaves_nothing_behind(hub: Hub) -> None:
    """The peer goes away while its handler disconnects (the handler is cancelled): the
    connection no longer counts against the user's limit and no loop captures for nobody.
    A 10-minute soak found streams refused (429) for good after such connections piled up."""
    for _ in range(hub.limits.max_connections_per_user + 2):
        client = hub.connect("u")
        await hub.subscribe(client, Subscribe("s", "oscilloscope", ScopeConfig(1, 500, 1.0)))
        await asyncio.sleep(0.02)  # the loop is capturing
        leaving = asyncio.create_task(hub.disconnect(client))
        await asyncio.sleep(0)  # it started...
        leaving.cancel()  # ...and its handler is cancelled
        with contextlib.suppress(asyncio.CancelledError):
            await leaving
        assert client not in hub.clients
        assert hub.loop_count() == 0
    hub.connect("u")  # not refused: nothing was left counted


async def test_unsubscribing_does_not_swallow_the_handlers_own_cancellation(hub: Hub) -> None:
    """A handler cancelled (its peer went away) while it stops a loop must end cancelled: a
    10-minute soak found streams refused (429) for good, their handlers running on after
    such a cancellation was swallowed, each still counted against the user's connections."""
    client = hub.connect("u")
    await hub.subscribe(client, Subscribe("s", "oscilloscope", ScopeConfig(1, 500, 1.0)))
    await asyncio.sleep(0.02)  # the loop is capturing
    handler = asyncio.create_task(hub.unsubscribe(client, "s"))
    await asyncio.sleep(0)  # it is stopping the loop...
    handler.cancel()  # ...when the peer goes away
    with pytest.raises(asyncio.CancelledError):
        await handler
    assert hub.loop_count() == 0
    await hub.disconnect(client)


async def test_a_trigger_level_never_crossed_is_reported_once_then_its_end(hub: Hub) -> None:
    """The bench's SI1 on CH1 swings ±3.3 V: 5 V is never reached, 0 V is."""
    got: list[bytes | str] = []

    async def send(data: bytes | str) -> None:
        got.append(data)

    client = hub.connect("u")
    sender = asyncio.create_task(client.send_loop(send))

    def texts(code: str) -> list[dict[str, Any]]:
        found = [json.loads(d) for d in got if isinstance(d, str)]
        return [m for m in found if m.get("code") == code]

    async def frames_after(count: int) -> None:
        for _ in range(300):
            await asyncio.sleep(0.01)
            if sum(isinstance(d, bytes) for d in got) >= count:
                return
        raise AssertionError("no frames")

    high = ScopeConfig(2, 200, 2.0, trigger=5.0, trigger_channel="CH1")
    await hub.subscribe(client, Subscribe("high", "oscilloscope", high))
    await frames_after(5)
    (waiting,) = texts("waiting_for_trigger")  # told once, frames go on
    assert waiting == {
        "type": "status",
        "id": "high",
        "code": "waiting_for_trigger",
        "message": "waiting for trigger: CH1 never crosses 5 V; showing captures that "
        "started without it",
    }
    assert texts("triggered") == []
    await hub.unsubscribe(client, "high")
    got.clear()
    low = ScopeConfig(2, 200, 2.0, trigger=0.0, trigger_channel="CH2")
    await hub.instrument.run("u", "set_sine2(1000)")
    await hub.subscribe(client, Subscribe("low", "oscilloscope", low))
    await frames_after(5)
    assert texts("waiting_for_trigger") == [] and texts("triggered") == []
    sender.cancel()
    await hub.disconnect(client)


def test_trigger_seen_is_a_crossing_of_the_level_on_the_trigger_channel() -> None:
    import numpy as np

    sine = np.sin(np.linspace(0, 6, 100)) * 3.3
    config = ScopeConfig(2, 100, 1.0, trigger=1.0, trigger_channel="CH2")
    assert config.trigger_seen([np.zeros(100), sine]) is True
    assert config.trigger_seen([sine, np.zeros(100)]) is False  # CH2 stays at 0 V
    assert config.trigger_seen([sine, np.full(100, 2.0)]) is False  # always above: no edge
    assert config.trigger_seen([sine, np.linspace(1.02, 3, 100)]) is True  # starts at it
    assert ScopeConfig(1, 100, 1.0, trigger=1.0).trigger_seen([sine]) is True  # channel one
    assert ScopeConfig(1, 100, 1.0, trigger=1.0, trigger_channel="CH2").trigger_seen([sine]) is None
    assert ScopeConfig("MIC", 100, 1.0, trigger=4.0).trigger_seen([sine]) is False
    assert ScopeConfig(1, 100, 1.0).trigger_seen([sine]) is None  # no trigger
