"""Function strings through the Instrument: one path from a string to the device."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from remotelab.config import FunctionSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner


@pytest.fixture
async def owner() -> AsyncIterator[DeviceOwner]:
    device = DeviceOwner(EmulatorBackend(Emulator(seed=3)))
    await device.start()
    yield device
    await device.close()


async def readings_while_busy(owner: DeviceOwner, *, share: bool) -> list[float]:
    """Four users ask for the same voltage while the device is busy with something else."""
    from remotelab.device.service import Instrument

    instrument = Instrument(owner, default_registry(), FunctionSettings(), share_readings=share)
    await instrument.run("setup", "set_sine1(1000)")  # CH1 changes from one moment to the next
    gate = threading.Event()
    busy = asyncio.create_task(owner.call("other", lambda lab: gate.wait(2)))
    await asyncio.sleep(0.05)
    calls = [asyncio.create_task(instrument.run(f"u{i}", "get_voltage('CH1')")) for i in range(4)]
    await asyncio.sleep(0.01)
    gate.set()
    await busy
    return [(await call).result for call in calls]


async def test_identical_readings_share_one_measurement(owner: DeviceOwner) -> None:
    values = await readings_while_busy(owner, share=True)
    assert len(set(values)) == 1  # the same measurement, noise and all


async def test_with_sharing_off_every_call_measures(owner: DeviceOwner) -> None:
    values = await readings_while_busy(owner, share=False)
    # A sine on CH1: each measurement sees another moment. Two moments a whole period
    # apart read the same, so not all four need differ; with sharing they are one reading.
    assert len(set(values)) >= 2
