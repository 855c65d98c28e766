"""Contexts on the emulator through the real pslab library: every user has their own
instrument; the device owner switches between them sending only the differences."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest

from remotelab.config import DeviceSettings, EmulatorSettings, FunctionSettings
from remotelab.device import switch
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.outputs import DEFAULT_BENCH, Wave
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from remotelab.errors import DeviceUnavailable


def make(emulator: Emulator | None = None, **limits: Any) -> Instrument:
    settings = DeviceSettings(reconnect_initial=0.02, reconnect_max=0.1, **limits)
    owner = DeviceOwner(EmulatorBackend(emulator or Emulator(seed=5)), settings)
    return Instrument(owner, default_registry(), FunctionSettings())


@pytest.fixture
async def lab() -> AsyncIterator[Instrument]:
    instrument = make()
    await instrument.owner.start()
    yield instrument
    await instrument.owner.close()


def frequency(trace: list[list[float]]) -> float:
    """The strongest frequency of a capture ``[x, y]`` (x in µs)."""
    x, y = np.asarray(trace[0]), np.asarray(trace[1])
    spectrum = np.abs(np.fft.rfft(y - y.mean()))
    return float(np.fft.rfftfreq(len(y), (x[1] - x[0]) * 1e-6)[np.argmax(spectrum)])


async def run(lab: Instrument, user: str, source: str) -> Any:
    return (await lab.run(user, source)).result


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What context switches send, binding by binding."""
    calls: list[tuple[Any, ...]] = []

    def spy(name: str) -> Callable[..., Any]:
        real = getattr(switch.b, name)

        def wrapper(sl: Any, *args: Any) -> Any:
            calls.append((name, *args))
            return real(sl, *args)

        return wrapper

    for name in ("select_range", "set_source", "load_table", "start_waves", "restore_pwm"):
        monkeypatch.setattr(switch.b, name, spy(name))
    return calls


async def test_each_user_measures_their_own_outputs(lab: Instrument) -> None:
    assert (await lab.run("a", "set_sine1(2000)")).changed == ("SI1",)
    assert (await lab.run("b", "set_sine1(5000)")).changed == ("SI1",)
    for _ in range(3):
        assert frequency(await run(lab, "a", "capture1('CH1', 1000, 2)")) == 2000
        assert frequency(await run(lab, "b", "capture1('CH1', 1000, 2)")) == 5000
        assert frequency(await run(lab, "c", "capture1('CH1', 1000, 2)")) == 1000  # the bench


async def test_a_switch_sends_only_the_differences(
    lab: Instrument, sent: list[tuple[Any, ...]]
) -> None:
    await lab.run("a", "set_pv1(1.5)")
    await lab.run("a", "set_sine1(2000)")
    sent.clear()
    assert await run(lab, "b", "get_voltage('CH3')") == pytest.approx(0, abs=0.05)
    assert sent == [("set_source", "PV1", 0.0), ("start_waves", "SI1", 1000.0)]
    sent.clear()
    await run(lab, "c", "get_voltage('CH3')")  # the same context as b: nothing to send
    assert sent == []
    assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(1.5, abs=0.05)
    assert sent == [("set_source", "PV1", 1.5), ("start_waves", "SI1", 2000.0)]
    switches = lab.owner.switches
    await run(lab, "a", "get_voltage('CH3')")
    assert lab.owner.switches == switches  # no-op: already a's


async def test_shapes_are_loaded_only_when_they_differ(
    lab: Instrument, sent: list[tuple[Any, ...]]
) -> None:
    await lab.run("a", "set_w1(500, 'tria')")
    sent.clear()
    await run(lab, "b", "get_voltage('CH3')")
    assert sent == [("load_table", "SI1", "sine"), ("start_waves", "SI1", 1000.0)]
    sent.clear()
    trace = await run(lab, "a", "capture1('CH1', 1000, 4)")
    assert sent == [("load_table", "SI1", "tria"), ("start_waves", "SI1", 500.0)]
    y = np.asarray(trace[1])
    # A triangle: its samples spread evenly (a sine's crowd at its peaks).
    assert np.mean(np.abs(y) > 0.7 * np.abs(y).max()) < 0.4


async def test_a_capture_after_another_users_select_range_reads_the_right_volts(
    lab: Instrument,
) -> None:
    await lab.run("a", "select_range('CH1', 1)")  # gain 16: ±1 V
    clipped = await run(lab, "a", "capture1('CH1', 1000, 2)")
    full = await run(lab, "b", "capture1('CH1', 1000, 2)")
    assert np.ptp(full[1]) == pytest.approx(6.6, abs=0.3)  # the 3.3 V sine, in volts
    assert np.ptp(clipped[1]) == pytest.approx(2.06, abs=0.1)  # clipped at ±1.03 V
    # pslab's own record of the gain (which scales the samples) follows the context.
    assert lab.owner._lab.oscilloscope._channels["CH1"].gain == 1
    await run(lab, "a", "get_voltage('CH3')")
    assert lab.owner._lab.oscilloscope._channels["CH1"].gain == 16


async def test_pwm_outputs_follow_their_users(lab: Instrument) -> None:
    await lab.run("a", "sqr1(1000, 25)")
    await lab.run("b", "pwm_map_reference_clock('SQ1', 15)")
    await lab.run("c", "set_state(SQR1=1)")
    for _ in range(2):
        period, duty = await run(lab, "a", "DutyCycle('LA1')")
        assert period == pytest.approx(1e-3, rel=1e-3) and duty == pytest.approx(0.25, abs=0.01)
        assert await run(lab, "b", "get_freq('LA1')") == pytest.approx(128e6 / 2**15, rel=1e-3)
        assert await run(lab, "c", "get_state('ID1')") is True
        assert await run(lab, "d", "get_state('ID1')") is False


async def test_both_sines_with_a_phase_are_restored_together(lab: Instrument) -> None:
    await lab.run("a", "set_waves(1000, 90)")
    await lab.run("b", "set_sine2(1000)")
    await run(lab, "b", "capture2(1000, 2)")
    x, ch1, ch2 = (np.asarray(t) for t in await run(lab, "a", "capture2(1000, 2)"))
    # SI2 leads SI1 by 90°: the phase of the cross spectrum at 1 kHz.
    k = round(1000 * (x[1] - x[0]) * 1e-6 * len(x))
    lead = np.angle(np.fft.rfft(ch2)[k] / np.fft.rfft(ch1)[k], deg=True)
    assert lead == pytest.approx(90, abs=5)


async def test_reset_returns_a_user_to_the_bench(lab: Instrument) -> None:
    await lab.run("a", "set_pv1(2)")
    assert lab.owner.context_status("a")["differs_from_bench"] == ["PV1"]
    lab.owner.reset_context("a")
    assert lab.owner.context_status("a")["differs_from_bench"] == []
    assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(0, abs=0.05)


async def test_idle_contexts_expire() -> None:
    lab = make(context_idle_seconds=0.2)
    await lab.owner.start()
    try:
        await lab.run("a", "set_pv1(2)")
        assert lab.owner.context_status("a")["expires_in"] == pytest.approx(0.2, abs=0.05)
        await asyncio.sleep(0.3)
        await run(lab, "b", "get_voltage('CH3')")  # any call lets the owner tidy up
        assert "a" not in lab.owner.contexts
        assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(0, abs=0.05)
    finally:
        await lab.owner.close()


async def test_the_bench_is_applied_at_start_and_after_a_reconnect() -> None:
    emulator = Emulator(seed=2)
    bench = DEFAULT_BENCH.replace({"PV1": 1.0, "SI1": Wave("sine", 500.0)})
    owner = DeviceOwner(
        EmulatorBackend(emulator),
        DeviceSettings(reconnect_initial=0.02, reconnect_max=0.1),
        bench=bench,
    )
    lab = Instrument(owner, default_registry(), FunctionSettings())
    await owner.start()
    try:
        assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(1.0, abs=0.05)
        assert frequency(await run(lab, "a", "capture1('CH1', 1000, 4)")) == 500
        emulator.inject_fault("disconnect")  # unplugged: powers up with every output off
        with pytest.raises(DeviceUnavailable):
            await lab.run("a", "get_voltage('CH3')")
        emulator.clear_fault()
        for _ in range(300):
            if owner.state == "connected":
                break
            await asyncio.sleep(0.01)
        assert owner.state == "connected"
        assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(1.0, abs=0.05)
        assert frequency(await run(lab, "a", "capture1('CH1', 1000, 4)")) == 500
    finally:
        await owner.close()


async def test_a_new_bench_reaches_users_who_did_not_set_that_output(lab: Instrument) -> None:
    await lab.run("a", "set_pv1(2)")
    lab.owner.set_bench(DEFAULT_BENCH.replace({"PV1": -1.0, "PV2": 1.0}))
    assert await run(lab, "a", "get_voltage('CH3')") == pytest.approx(2, abs=0.05)
    assert await run(lab, "a", "get_voltage('MIC')") == pytest.approx(1, abs=0.05)
    assert await run(lab, "b", "get_voltage('CH3')") == pytest.approx(-1, abs=0.05)


async def busy_while(lab: Instrument, calls: list[tuple[str, str]]) -> list[Any]:
    """Queue ``calls`` while the device is busy with something else; their results."""
    gate = threading.Event()
    busy = asyncio.create_task(lab.owner.call("other", lambda sl: gate.wait(2)))
    await asyncio.sleep(0.05)
    tasks = [asyncio.create_task(lab.run(user, source)) for user, source in calls]
    await asyncio.sleep(0.02)
    gate.set()
    await busy
    return [(await task).result for task in tasks]


async def test_shared_readings_only_between_equal_contexts(lab: Instrument) -> None:
    await lab.run("u2", "set_sine1(5000)")
    await lab.run("u3", "set_sine1(5000)")
    served = lab.owner.calls_served
    capture = "capture1('CH1', 1000, 2)"
    results = await busy_while(lab, [(f"u{i}", capture) for i in range(4)])
    assert results[0] == results[1]  # one measurement for the two bench users
    assert results[2] == results[3]  # one for the two 5 kHz users
    assert results[0] != results[2]
    assert [frequency(r) for r in results] == [1000, 1000, 5000, 5000]
    assert lab.owner.calls_served - served == 5  # "other", then 4 answers of 2 runs
    assert lab.owner.switches >= 1


async def test_a_users_reading_never_jumps_ahead_of_their_own_setting(lab: Instrument) -> None:
    """v's capture waits behind v's set_sine1: it is not answered by u's identical capture."""
    capture = "capture1('CH1', 1000, 2)"
    results = await busy_while(
        lab, [("u", capture), ("v", "set_sine1(5000)"), ("v", capture), ("w", capture)]
    )
    assert frequency(results[0]) == 1000
    assert frequency(results[2]) == 5000
    assert frequency(results[3]) == 1000


async def test_grouped_calls_run_once_per_distinct_context(lab: Instrument) -> None:
    await lab.run("b", "set_sine1(3000)")
    results = await lab.owner.call_in_contexts(
        "stream:1",
        ["a", "b", "c"],
        lambda sl: frequency(list(sl.oscilloscope.capture("CH1", 1000, 2))),
    )
    assert sorted(results) == [(("a", "c"), 1000.0), (("b",), 3000.0)]


async def test_a_call_that_fails_half_way_makes_the_next_switch_send_everything(
    lab: Instrument, sent: list[tuple[Any, ...]]
) -> None:
    await lab.owner.call("a", lambda sl: lab.owner.forget_device_outputs())
    sent.clear()
    await run(lab, "a", "get_voltage('CH3')")
    names = {entry[0] for entry in sent}
    assert names == {"select_range", "set_source", "load_table", "start_waves", "restore_pwm"}


def settled_reading(owner_settle_ms: float) -> float:
    """User b reads CH3 right after user a left PV1 at 2 V, on a real-time emulator whose
    PV outputs take 50 ms to settle; the owner waits ``owner_settle_ms`` after a switch."""

    async def main() -> float:
        emulator = Emulator(seed=1, realtime=True, limits=EmulatorSettings(settle_ms_power=50))
        lab = make(emulator, settle_ms_power=owner_settle_ms)
        await lab.owner.start()
        try:
            await asyncio.sleep(0.06)
            await lab.run("a", "set_pv1(2)")
            await asyncio.sleep(0.06)  # a's PV1 has settled
            start = time.perf_counter()
            value: float = await run(lab, "b", "get_voltage('CH3')")
            assert time.perf_counter() - start >= owner_settle_ms / 1000
            return value
        finally:
            await lab.owner.close()

    return asyncio.run(main())


def test_settle_waits_matter_in_real_time() -> None:
    assert settled_reading(0) == pytest.approx(2, abs=0.05)  # read before PV1 settled: wrong
    assert settled_reading(80) == pytest.approx(0, abs=0.05)  # waited: right


async def test_a_wait_in_slices_is_not_interleaved_with_another_users_outputs() -> None:
    """Between the slices of a user's wait for edges, only callers with the same outputs
    run: another user's SQ1 never reaches the input the wait is timing (real time, so that
    the wait spans several slices)."""
    lab = make(Emulator(seed=5, realtime=True), slice_ms=5)
    await lab.owner.start()
    try:
        await _not_interleaved(lab)
    finally:
        await lab.owner.close()


async def _not_interleaved(lab: Instrument) -> None:
    await run(lab, "a", "pwm_generate('SQ1', 200, 0.5)")  # SQ1 -> LA1 on the default bench
    await run(lab, "b", "pwm_generate('SQ1', 4000, 0.5)")
    stop = asyncio.Event()

    async def other_user() -> int:
        calls = 0
        while not stop.is_set():
            await run(lab, "b", "get_voltage('CH1')")  # each one switches to b's SQ1
            calls += 1
        return calls

    other = asyncio.create_task(other_user())
    try:
        readings = [await run(lab, "a", "get_freq('LA1', 0.5)") for _ in range(4)]
    finally:
        stop.set()
    assert await other > 0  # b was served meanwhile
    assert all(abs(f - 200) < 4 for f in readings), readings
    assert abs(await run(lab, "b", "get_freq('LA1', 0.2)") - 4000) < 80
