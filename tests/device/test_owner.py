"""The device owner on the real pslab library and the emulator: one thread, fairness, faults.

Fairness by device time with long calls: the light user's latency while another user loops
waits for edges (sliced), engine reservations, abandoned waits, charging actual time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from remotelab.config import DeviceSettings, FunctionSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner, describe_fault
from remotelab.device.scheduler import Cost
from remotelab.device.service import Instrument
from remotelab.errors import DeviceBusy, DeviceTimeout, DeviceUnavailable, InputError

FAST = DeviceSettings(
    queue_max=64,
    queue_per_user=16,
    call_timeout=5.0,
    run_timeout=2.0,
    reconnect_initial=0.02,
    reconnect_max=0.1,
)


@pytest.fixture
async def emulator() -> Emulator:
    return Emulator(seed=1)


@pytest.fixture
async def owner(emulator: Emulator) -> AsyncIterator[DeviceOwner]:
    device = DeviceOwner(EmulatorBackend(emulator), FAST)
    await device.start()
    yield device
    await device.close()


def voltage(lab: Any) -> float:
    return float(lab.multimeter.measure_voltage("CH3"))


async def wait_connected(owner: DeviceOwner, seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if owner.state == "connected":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still {owner.state}: {owner.fault}")


async def test_calls_run_on_one_dedicated_thread(owner: DeviceOwner) -> None:
    names = await asyncio.gather(
        *(owner.call(f"u{i % 3}", lambda lab: threading.current_thread().name) for i in range(12))
    )
    assert len(set(names)) == 1
    assert names[0].startswith("pslab")
    assert names[0] != threading.current_thread().name
    status = owner.status("u0")
    assert status["backend"] == "emulator"
    assert status["connected"] is True
    assert status["firmware"]
    assert status["queue"]["length"] == 0


async def test_a_light_user_is_not_stuck_behind_a_hog(owner: DeviceOwner) -> None:
    order: list[str] = []

    def record(name: str, seconds: float = 0.0) -> Any:
        def run(lab: Any) -> None:
            order.append(name)
            time.sleep(seconds)
            voltage(lab)

        return run

    # Ten calls of 5 ms each: the hog's turn holds two of them (a 10 ms quantum).
    hog = [owner.call("hog", record(f"hog{i}", 0.005), cost=Cost(0.005)) for i in range(10)]
    light = owner.call("light", record("light"))
    await asyncio.gather(*hog, light)
    assert order.index("light") <= 2


async def test_queue_bounds_answer_busy(owner: DeviceOwner) -> None:
    gate = threading.Event()
    blocker = asyncio.create_task(owner.call("a", lambda lab: gate.wait(5)))
    await asyncio.sleep(0.05)
    waiting = [asyncio.create_task(owner.call("a", voltage)) for _ in range(16)]
    await asyncio.sleep(0.01)
    with pytest.raises(DeviceBusy):
        await owner.call("a", voltage)
    assert owner.status("a")["queue"]["your_position"] == 1
    gate.set()
    await blocker
    await asyncio.gather(*waiting)


async def test_calls_whose_caller_left_never_reach_the_device(owner: DeviceOwner) -> None:
    gate = threading.Event()
    ran: list[int] = []
    blocker = asyncio.create_task(owner.call("a", lambda lab: gate.wait(5)))
    await asyncio.sleep(0.05)
    abandoned = asyncio.create_task(owner.call("b", lambda lab: ran.append(1)))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    gate.set()
    await blocker
    assert await owner.call("c", lambda lab: "after") == "after"
    assert ran == []


async def test_call_timeout(emulator: Emulator) -> None:
    limits = DeviceSettings(call_timeout=0.05, run_timeout=2.0)
    device = DeviceOwner(EmulatorBackend(emulator), limits)
    await device.start()
    try:
        gate = threading.Event()
        blocker = asyncio.create_task(device.call("a", lambda lab: gate.wait(1), label="slow"))
        await asyncio.sleep(0.01)
        with pytest.raises(DeviceTimeout, match=r"get_voltage did not finish within 0\.05 s"):
            await device.call("b", voltage, label="get_voltage")
        with pytest.raises(DeviceTimeout, match="slow did not finish"):
            await blocker
        gate.set()
        # The running call's late result is dropped; the device keeps serving.
        assert await device.call("c", lambda lab: 7, timeout=2) == 7
    finally:
        await device.close()


async def test_argument_errors_from_pslab_are_input_errors(owner: DeviceOwner) -> None:
    def bad(lab: Any) -> Any:
        return lab.oscilloscope.capture("CH9", 100, 1)

    with pytest.raises(InputError):
        await owner.call("a", bad, label="capture")
    assert owner.state == "connected"


@pytest.mark.parametrize("kind", ["disconnect", "silent", "garbage"])
async def test_each_fault_fails_the_queued_calls_and_the_device_comes_back(
    owner: DeviceOwner, emulator: Emulator, kind: str
) -> None:
    emulator.timeout = 0.02
    gate = threading.Event()
    blocker = asyncio.create_task(owner.call("a", lambda lab: gate.wait(5)))
    await asyncio.sleep(0.05)
    first = asyncio.create_task(owner.call("b", voltage))
    queued = [asyncio.create_task(owner.call(f"u{i}", voltage)) for i in range(3)]
    await asyncio.sleep(0.01)
    emulator.inject_fault(kind)  # type: ignore[arg-type]
    gate.set()
    await blocker
    results = await asyncio.gather(first, *queued, return_exceptions=True)
    assert all(isinstance(r, DeviceUnavailable) for r in results), results
    assert owner.state in ("faulted", "connecting")
    with pytest.raises(DeviceUnavailable, match="reconnecting"):
        await owner.call("c", voltage)
    status = owner.status()
    assert status["faulted"] or status["state"] == "connecting"
    emulator.clear_fault()
    await wait_connected(owner)
    value = await owner.call("c", voltage)
    assert isinstance(value, float)


async def test_close_fails_waiting_calls(emulator: Emulator) -> None:
    device = DeviceOwner(EmulatorBackend(emulator), FAST)
    await device.start()
    await device.close()
    with pytest.raises(DeviceUnavailable, match="shutting down"):
        await device.call("a", voltage)


def test_permission_error_says_how_to_fix_it() -> None:
    message = describe_fault(PermissionError(13, "Permission denied: '/dev/ttyACM0'"))
    assert "dialout" in message
    assert "99-pslab.rules" in message


async def test_identical_shared_readings_waiting_together_run_once(owner: DeviceOwner) -> None:
    runs: list[str] = []
    gate = threading.Event()

    def blocker(lab: Any) -> None:
        gate.wait(2)  # holds the device while the readings queue up

    def reading(name: str) -> Any:
        def run(lab: Any) -> float:
            runs.append(name)
            return voltage(lab)

        return run

    first = asyncio.create_task(owner.call("other", blocker))
    await asyncio.sleep(0.05)
    shared = [
        asyncio.create_task(owner.call(f"s{i}", reading("v"), share_key="get_voltage(CH3)"))
        for i in range(6)
    ]
    gone = asyncio.create_task(owner.call("s9", reading("v"), share_key="get_voltage(CH3)"))
    unshared = [asyncio.create_task(owner.call(f"u{i}", reading("u"))) for i in range(3)]
    other_key = asyncio.create_task(owner.call("s0", reading("w"), share_key="get_voltage(CH1)"))
    await asyncio.sleep(0.01)
    gone.cancel()
    gate.set()
    await first
    values = await asyncio.gather(*shared)
    await asyncio.gather(*unshared, other_key)
    assert runs.count("v") == 1  # one measurement answered six callers
    assert len(set(values)) == 1
    assert runs.count("u") == 3  # calls without a key are never merged
    assert runs.count("w") == 1
    assert gone.cancelled()
    assert owner.calls_served >= 1 + 6 + 3 + 1
    assert owner.status()["queue"]["length"] == 0


async def test_shared_readings_all_fail_with_their_run(owner: DeviceOwner) -> None:
    gate = threading.Event()

    def broken(lab: Any) -> None:
        gate.wait(2)
        raise ValueError("no such range")

    blocker = asyncio.create_task(owner.call("other", lambda lab: gate.wait(2)))
    await asyncio.sleep(0.05)
    calls = [
        asyncio.create_task(owner.call(f"s{i}", broken, share_key="k", label="get_voltage"))
        for i in range(3)
    ]
    await asyncio.sleep(0.01)
    gate.set()
    await blocker
    for call in calls:
        with pytest.raises(InputError, match="get_voltage: no such range"):
            await call


async def test_a_batch_that_outlives_the_run_timeout_faults_and_a_fresh_thread_serves(
    emulator: Emulator,
) -> None:
    limits = DeviceSettings(run_timeout=0.2, reconnect_initial=0.02, reconnect_max=0.1)
    device = DeviceOwner(EmulatorBackend(emulator), limits)
    await device.start()
    try:
        gate = threading.Event()
        hung = asyncio.create_task(device.call("a", lambda lab: gate.wait(3), label="hung"))
        await asyncio.sleep(0.02)
        queued = asyncio.create_task(device.call("b", voltage))
        with pytest.raises(DeviceUnavailable, match="stopped answering"):
            await hung
        with pytest.raises(DeviceUnavailable):
            await queued
        await wait_connected(device)
        assert isinstance(await device.call("c", voltage), float)
        gate.set()  # the stuck thread's late answer changes nothing
        await asyncio.sleep(0.05)
        assert device.state == "connected"
    finally:
        gate.set()
        await device.close()


# ---------------------------------------------------------------- fairness by device time

SLICED = dataclasses.replace(
    FAST, call_timeout=10.0, run_timeout=5.0, quantum_ms=10.0, slice_ms=50.0
)


@pytest.fixture
async def instrument(emulator: Emulator) -> AsyncIterator[Instrument]:
    device = DeviceOwner(EmulatorBackend(emulator), SLICED)
    await device.start()
    yield Instrument(device, default_registry(), FunctionSettings())
    await device.close()


async def light_latencies(instrument: Instrument, seconds: float) -> list[float]:
    """``get_voltage('CH1')`` over and over for ``seconds``: each call's latency in ms."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.perf_counter()
        await instrument.run("light", "get_voltage('CH1')")
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.002)  # a pause, so that calls land at every phase of a slice
    return out


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def test_a_user_looping_long_waits_for_edges_does_not_hold_up_a_light_user(
    instrument: Instrument,
) -> None:
    """get_freq('FRQ', 1) with no signal on FRQ (default bench) waits 1 s each time.

    Round robin by call count let each of those calls hold the device for its whole
    second; by device time, in slices, the light user waits one slice at most.
    """
    idle = await light_latencies(instrument, 0.8)
    answers: list[tuple[float, float]] = []
    stop = asyncio.Event()

    async def heavy() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            outcome = await instrument.run("heavy", "get_freq('FRQ', 1)")
            answers.append((outcome.result, time.perf_counter() - start))

    task = asyncio.create_task(heavy())
    await asyncio.sleep(0.05)
    loaded = await light_latencies(instrument, 2.3)
    stop.set()
    await task
    # pslab's "no signal" answer after its timeout, as before.
    assert len(answers) >= 2
    assert all(result == 0.0 and 1.0 <= took < 1.6 for result, took in answers), answers
    quantum, slice_ = SLICED.quantum_ms, SLICED.slice_ms
    assert p99(loaded) <= p99(idle) + quantum + slice_, (p99(idle), p99(loaded), max(loaded))
    assert max(loaded) < 1000


async def test_calls_that_need_the_engine_wait_for_a_sliced_wait_to_end(
    instrument: Instrument,
) -> None:
    done: dict[str, float] = {}

    async def timed(user: str, source: str) -> None:
        await instrument.run(user, source)
        done[user] = time.monotonic()

    start = time.monotonic()
    wait = asyncio.create_task(timed("heavy", "get_freq('FRQ', 0.3)"))
    await asyncio.sleep(0.05)
    # A capture would overwrite the buffer the logic analyzer is filling: it waits.
    capture = asyncio.create_task(timed("scope", "capture1('CH1', 100, 1)"))
    voltage = asyncio.create_task(timed("light", "get_voltage('CH1')"))
    await asyncio.gather(wait, capture, voltage)
    assert done["light"] - start < 0.2  # served between two slices
    assert done["scope"] >= done["heavy"]  # the engine was the wait's until it ended


async def test_a_wait_whose_caller_left_is_stopped_and_frees_the_engine(
    instrument: Instrument, emulator: Emulator
) -> None:
    owner = instrument.owner
    call = instrument.parse("get_freq('FRQ', 1)")
    with pytest.raises(DeviceTimeout):
        await owner.call(
            "heavy", call.invoke, label="get_freq", timeout=0.1, cost=instrument.cost(call)
        )
    for _ in range(50):  # closed at its next turn: the logic analyzer stops capturing
        await asyncio.sleep(0.01)
        if emulator.firmware.acquisition is None:
            break
    assert emulator.firmware.acquisition is None
    start = time.monotonic()
    await instrument.run("scope", "capture1('CH1', 100, 1)")
    assert time.monotonic() - start < 0.3  # not the rest of the 1 s wait


async def test_each_call_is_charged_what_it_really_took(owner: DeviceOwner) -> None:
    await owner.call("a", lambda lab: time.sleep(0.05), cost=Cost(0.001))
    # Estimated 1 ms, took 50: "a" owes the rest (fading as time passes).
    assert owner.queue.balance("a") < -0.04


async def test_a_batch_holds_one_quantum_of_device_time_at_the_pace_calls_really_take(
    owner: DeviceOwner,
) -> None:
    """Expected 6 ms each (a 10 ms quantum holds two); the emulator answers in far less."""
    quick = Cost(0.006)

    async def three_at_once(fn: Any) -> int:
        """Batches that three calls queued together took. They queue while another user's
        call holds the device, so none starts alone however the machine schedules."""
        running, release = threading.Event(), threading.Event()

        def hold(lab: Any) -> None:
            running.set()
            release.wait(10)

        holder = asyncio.create_task(owner.call("b", hold, label="hold", cost=Cost(0.001)))
        assert await asyncio.to_thread(running.wait, 10)
        before = owner.batches
        calls = [
            asyncio.create_task(owner.call("a", fn, label="quick", cost=quick)) for _ in range(3)
        ]
        await asyncio.sleep(0.05)  # all three are queued (the device thread is held)
        release.set()
        await asyncio.gather(holder, *calls)
        return owner.batches - before

    # Nothing known of "quick" yet: cut at its estimate, two calls and one.
    assert await three_at_once(voltage) == 2
    for _ in range(20):  # its calls take well under a tenth of their estimate
        await owner.call("a", lambda lab: None, label="quick", cost=quick)
    assert await three_at_once(lambda lab: None) == 1
    # Calls as slow as estimated (or slower) are cut at the estimate again.
    for _ in range(20):
        await owner.call("a", lambda lab: time.sleep(0.008), label="quick", cost=quick)
    assert await three_at_once(lambda lab: time.sleep(0.008)) == 2
