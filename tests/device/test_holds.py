"""Holds (ADR 0012): one user has the device for a bounded time, the others wait.

Ordering (others' calls wait and run after), expiry, one hold at a time, no context switch
between the holder's calls, the limits by role, the status, the charge.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from remotelab.config import DeviceSettings, FunctionSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.errors import DeviceTimeout, InputError

LIMITS = DeviceSettings(
    call_timeout=5.0, run_timeout=2.0, hold_max_seconds=0.5, hold_max_seconds_teacher=2.0
)


@pytest.fixture
async def owner() -> AsyncIterator[DeviceOwner]:
    device = DeviceOwner(EmulatorBackend(Emulator(seed=1)), LIMITS)
    await device.start()
    yield device
    await device.close()


@pytest.fixture
def instrument(owner: DeviceOwner) -> Instrument:
    return Instrument(owner, default_registry(), FunctionSettings())


def mark(order: list[str], name: str) -> Any:
    def run(lab: Any) -> None:
        order.append(name)

    return run


async def test_others_calls_wait_while_held_and_run_after(owner: DeviceOwner) -> None:
    order: list[str] = []
    hold = await owner.hold("alice", 5.0)
    assert owner.holder() == "alice"
    others = [asyncio.create_task(owner.call("bob", mark(order, f"bob{i}"))) for i in range(3)]
    await asyncio.sleep(0.05)
    for i in range(3):
        await owner.call("alice", mark(order, f"alice{i}"))
    assert order == ["alice0", "alice1", "alice2"]  # bob's calls are queued, not refused
    assert not any(task.done() for task in others)
    owner.release(hold)
    await asyncio.gather(*others)
    assert order == ["alice0", "alice1", "alice2", "bob0", "bob1", "bob2"]
    assert owner.holder() is None


async def test_a_hold_that_expires_releases_the_device(owner: DeviceOwner) -> None:
    order: list[str] = []
    await owner.hold("alice", 0.1)
    start = time.monotonic()
    await owner.call("bob", mark(order, "bob"))
    assert 0.05 < time.monotonic() - start < 1.0
    assert owner.holder() is None
    await owner.call("alice", mark(order, "alice"))  # the holder's next calls queue normally
    assert order == ["bob", "alice"]


async def test_one_hold_at_a_time_the_next_waits_its_turn(owner: DeviceOwner) -> None:
    first = await owner.hold("alice", 5.0)
    second = asyncio.create_task(owner.hold("bob", 5.0))
    third = asyncio.create_task(owner.hold("carol", 5.0))
    await asyncio.sleep(0.05)
    assert not second.done() and not third.done()
    assert owner.hold_status("dave") == {
        "by": "another user",
        "seconds_left": pytest.approx(5, abs=0.2),
        "waiting": 2,
    }
    owner.release(first)
    bobs = await asyncio.wait_for(second, 1)
    assert owner.holder() == "bob" and not third.done()
    owner.release(bobs)
    owner.release(await asyncio.wait_for(third, 1))
    assert owner.holder() is None


async def test_a_hold_request_given_up_passes_the_turn_on(owner: DeviceOwner) -> None:
    first = await owner.hold("alice", 5.0)
    second = asyncio.create_task(owner.hold("bob", 5.0))
    third = asyncio.create_task(owner.hold("carol", 5.0))
    await asyncio.sleep(0.02)
    second.cancel()  # bob's run ended while he waited for his turn
    owner.release(first)
    carols = await asyncio.wait_for(third, 1)
    assert owner.holder() == "carol"
    owner.release(carols)


async def test_no_context_switch_between_the_holders_calls(instrument: Instrument) -> None:
    owner = instrument.owner
    await instrument.run("bob", "set_pv1(1.0)")
    hold = await owner.hold("alice", 5.0)
    switches = owner.switches
    await instrument.run("alice", "set_pv1(2.5)")
    bobs = [asyncio.create_task(instrument.run("bob", "get_voltage('CH1')")) for _ in range(3)]
    readings = []
    for _ in range(5):
        readings.append((await instrument.run("alice", "get_voltage('CH1')")).result)
        await asyncio.sleep(0.005)
    # alice's calls were never interleaved with bob's (which would switch PV1 to 1.0)
    assert owner.switches - switches <= 1
    assert not any(task.done() for task in bobs)
    owner.release(hold)
    await asyncio.gather(*bobs)
    assert owner.switches - switches >= 2  # bob's context came back after the hold


async def test_status_shows_the_hold_without_naming_the_holder(owner: DeviceOwner) -> None:
    assert owner.status("bob")["hold"] is None
    hold = await owner.hold("alice", 3.0)
    mine, theirs = owner.status("alice")["hold"], owner.status("bob")["hold"]
    assert mine["by"] == "you"
    assert theirs["by"] == "another user"
    assert "alice" not in str(theirs)
    assert 2.5 < theirs["seconds_left"] <= 3.0
    owner.release(hold)
    assert owner.status("bob")["hold"] is None


async def test_a_hold_is_charged_to_the_holder_as_device_time(owner: DeviceOwner) -> None:
    hold = await owner.hold("alice", 5.0)
    await asyncio.sleep(0.2)
    owner.release(hold)
    assert owner.queue.balance("alice") == pytest.approx(-0.2, abs=0.05)
    assert owner.queue.balance("bob") == 0.0


async def test_hold_changes_are_announced(owner: DeviceOwner) -> None:
    change = owner.hold_changed()
    hold = await owner.hold("alice", 5.0)
    assert change.done()
    change = owner.hold_changed()
    owner.release(hold)
    assert change.done()


async def test_the_limit_depends_on_the_role(instrument: Instrument) -> None:
    owner = instrument.owner
    with pytest.raises(InputError, match="REMOTELAB_DEVICE_HOLD_MAX_SECONDS"):
        await instrument.hold("alice", 1.0)
    owner.release(await instrument.hold("alice", 0.5))
    owner.release(await instrument.hold("teacher", 1.0, teacher=True))
    with pytest.raises(InputError, match="REMOTELAB_DEVICE_HOLD_MAX_SECONDS_TEACHER"):
        await instrument.hold("teacher", 3.0, teacher=True)
    for bad in (0, -1, float("nan"), True, "2"):
        with pytest.raises(InputError, match="positive number"):
            await instrument.hold("alice", bad)
    assert owner.holder() is None


async def test_close_releases_the_hold() -> None:
    device = DeviceOwner(EmulatorBackend(Emulator(seed=1)), LIMITS)
    await device.start()
    await device.hold("alice", 5.0)
    await device.close()
    assert device.holder() is None


async def test_a_hold_waits_for_another_users_wait_for_edges_to_end(owner: DeviceOwner) -> None:
    instrument = Instrument(owner, default_registry(), FunctionSettings())
    bob = asyncio.create_task(instrument.run("bob", "get_freq('FRQ', 0.3)"))
    await asyncio.sleep(0.05)  # armed, between or inside its slices
    hold = await asyncio.wait_for(owner.hold("alice", 2.0), 2)
    assert bob.done()  # the capture engine was bob's until his wait ended
    # so the holder's captures are not stuck behind a reservation they cannot outwait
    await asyncio.wait_for(instrument.run("alice", "capture1('CH1', 100, 1)"), 1)
    owner.release(hold)


async def test_a_call_that_times_out_behind_a_hold_says_why() -> None:
    device = DeviceOwner(
        EmulatorBackend(Emulator(seed=1)), DeviceSettings(call_timeout=0.1, hold_max_seconds=5)
    )
    await device.start()
    instrument = Instrument(device, default_registry(), FunctionSettings())
    try:
        hold = await device.hold("alice", 2.0)
        with pytest.raises(DeviceTimeout, match="held by another user") as caught:
            await instrument.run("bob", "get_voltage('CH1')")
        assert caught.value.details["hold"]["by"] == "another user"
        device.release(hold)
    finally:
        await device.close()


async def test_a_turn_given_up_while_waiting_for_the_engine_passes_on(
    owner: DeviceOwner, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await owner.hold("alice", 5.0)
    second = asyncio.create_task(owner.hold("bob", 5.0))
    third = asyncio.create_task(owner.hold("carol", 5.0))
    await asyncio.sleep(0.02)
    monkeypatch.setattr(owner, "_engine_busy_for", lambda user: True)
    owner.release(first)
    await asyncio.sleep(0.05)  # bob has his turn and waits for the engine
    second.cancel()  # his run ended meanwhile
    await asyncio.sleep(0.02)
    monkeypatch.undo()
    owner.release(await asyncio.wait_for(third, 1))
    assert owner.holder() is None
