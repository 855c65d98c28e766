"""The emulator as a connection handler: transport, numpy integers, faults, timing."""

from __future__ import annotations

import threading
import time

import numpy as np
import pslab.protocol as CP
import pytest
import serial
from pslab import Multimeter, Oscilloscope, ScienceLab

from remotelab.device.emulator import FAULTS, Clock, Emulator
from remotelab.errors import InputError


def test_is_a_pslab_connection_handler(emu: Emulator) -> None:
    from pslab.connection import ConnectionHandler

    assert isinstance(emu, ConnectionHandler)
    assert emu.connected
    assert repr(emu) == "Emulator[emulator, 1000000 baud]"
    assert emu.interface is emu


def test_readline(emu: Emulator) -> None:
    emu.write(CP.COMMON + CP.GET_VERSION)
    assert emu.readline() == b"PSLab V6\n"
    assert emu.readline() == b""


def test_reading_nothing_returns_at_once_in_fast_mode(emu: Emulator) -> None:
    start = time.perf_counter()
    assert emu.read(4) == b""
    assert time.perf_counter() - start < 0.01


def test_short_read_waits_the_timeout_in_real_time_mode() -> None:
    emu = Emulator(realtime=True)
    emu.timeout = 0.02
    start = time.perf_counter()
    assert emu.read(2) == b""
    assert 0.02 <= time.perf_counter() - start < 0.2


def test_numpy_integers_are_sent_at_the_intended_width(emu: Emulator) -> None:
    emu.send_byte(np.uint8(11))
    emu.send_byte(np.int64(5))
    assert emu.read(9) == b"PSLab V6\n"
    scope = Oscilloscope(device=emu)
    scope.fill_buffer([7], 0)
    emu.send_byte(CP.COMMON)
    emu.send_byte(CP.RETRIEVE_BUFFER)
    emu.send_int(np.int16(0))
    emu.send_int(np.int16(1))
    assert emu.get_int() == 7
    assert emu.get_ack() == 1


def test_disconnect_and_reconnect_keep_the_device_state(psl: ScienceLab, emu: Emulator) -> None:
    psl.power_supply.pv3 = 1.5
    emu.disconnect()
    assert not emu.connected
    with pytest.raises(serial.PortNotOpenError):
        psl.multimeter.measure_voltage("VOL")
    emu.connect()
    assert emu.connected
    assert psl.multimeter.measure_voltage("VOL") == pytest.approx(1.5, abs=0.01)


def test_connect_flushes_a_half_sent_command(emu: Emulator) -> None:
    emu.write(CP.ADC + CP.GET_VOLTAGE_SUMMED)  # channel byte never sent
    emu.connect()
    assert Multimeter(device=emu).measure_voltage("VOL") == pytest.approx(0.0, abs=0.01)


def test_unknown_fault_kind(emu: Emulator) -> None:
    assert FAULTS == ("disconnect", "silent", "garbage")
    with pytest.raises(InputError, match="unknown fault 'melt'"):
        emu.inject_fault("melt")  # type: ignore[arg-type]


def test_disconnect_fault_behaves_like_an_unplugged_port(psl: ScienceLab, emu: Emulator) -> None:
    psl.power_supply.pv3 = 1.5
    emu.inject_fault("disconnect")
    assert emu.fault == "disconnect" and not emu.connected
    with pytest.raises(serial.SerialException, match="write failed"):
        psl.multimeter.measure_voltage("VOL")
    with pytest.raises(serial.SerialException, match="device disconnected"):
        emu.read(1)
    with pytest.raises(serial.SerialException, match="could not open port") as info:
        emu.connect()
    assert isinstance(info.value, OSError)
    emu.clear_fault()  # plugged back in: a fresh device, the old handle is dead
    with pytest.raises(serial.SerialException):
        emu.read(1)
    emu.disconnect()
    emu.connect()
    assert emu.connected
    psl = ScienceLab(device=emu)
    assert psl.multimeter.measure_voltage("VOL") == pytest.approx(0.0, abs=0.01)


def test_silent_fault_times_out_quickly(psl: ScienceLab, emu: Emulator) -> None:
    emu.timeout = 0.01
    psl.power_supply.pv3 = 1.0
    emu.inject_fault("silent")
    start = time.perf_counter()
    with pytest.raises(TimeoutError):
        psl.power_supply.pv3 = 2.0
    assert time.perf_counter() - start < 0.1
    with pytest.raises(ConnectionError, match="device not found"):
        emu.connect()
    emu.clear_fault()
    emu.connect()
    # the write of 2.0 was swallowed while silent
    assert psl.multimeter.measure_voltage("VOL") == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("end", ["clear_fault", "disconnect"])
def test_a_silent_device_with_a_long_timeout_hangs_a_call_until_the_fault_ends(
    psl: ScienceLab, emu: Emulator, end: str
) -> None:
    emu.timeout = 60
    emu.inject_fault("silent")
    outcome: list[BaseException | None] = []

    def call() -> None:
        try:
            psl.power_supply.pv3 = 2.0
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(0.3)
    assert caller.is_alive(), "the call must hang while the device is silent"
    start = time.perf_counter()
    getattr(emu, end)()
    caller.join(5)
    assert not caller.is_alive()
    assert time.perf_counter() - start < 1
    assert isinstance(outcome[0], TimeoutError)  # the answer never came


def test_garbage_fault_gives_bad_acks(psl: ScienceLab, emu: Emulator) -> None:
    emu.inject_fault("garbage")
    with pytest.raises(RuntimeError, match="non ACK"):
        psl.power_supply.pv1 = 1.0
    with pytest.raises(ConnectionError, match="device not found"):
        emu.get_version()
    emu.clear_fault()
    assert emu.get_version() == "PSLab V6\n"
    psl.power_supply.pv1 = 1.0


def test_same_seed_and_clock_give_the_same_bytes() -> None:
    def capture(seed: int) -> np.ndarray:
        emu = Emulator(seed=seed, clock=Clock(time_source=lambda: 0.0))
        psl = ScienceLab(device=emu)
        psl.waveform_generator.generate("SI1", 1000)
        return psl.oscilloscope.capture("CH1", 500, 1)[1]

    assert np.array_equal(capture(5), capture(5))
    assert not np.array_equal(capture(5), capture(6))


def test_fast_mode_skips_waits_but_keeps_time_consistent() -> None:
    emu = Emulator(seed=1)
    mm = Multimeter(device=emu)
    before = emu.clock.now()
    start = time.perf_counter()
    mm._set_cap(1, 50000)  # the firmware holds CAP high for 50 ms
    assert time.perf_counter() - start < 0.01
    assert emu.clock.now() - before >= 0.05


def test_real_time_mode_takes_capture_and_link_time() -> None:
    psl = ScienceLab(device=Emulator(seed=1, realtime=True))
    scope = psl.oscilloscope
    start = time.perf_counter()
    scope.capture(2, 1000, 10, block=False)  # 10 ms of sampling
    while not scope.progress()[0]:
        pass
    assert time.perf_counter() - start >= 0.01
    scope.fetch_data()  # 2 x 1000 samples: over 4000 bytes at 1 Mbaud, 40 ms
    assert 0.05 <= time.perf_counter() - start < 0.5

    start = time.perf_counter()
    Multimeter(device=psl.device)._set_cap(1, 20000)
    assert time.perf_counter() - start >= 0.02


def test_default_bench_is_documented() -> None:
    from pathlib import Path

    from remotelab.device.emulator import DEFAULT_WIRING

    doc = (Path(__file__).parents[3] / "docs" / "reference" / "emulator.md").read_text()
    for wire in DEFAULT_WIRING:
        assert f"`{wire}`" in doc, wire
