"""Resistance, capacitance (both pslab methods), CTMU and temperature."""

from __future__ import annotations

import math

import numpy as np
import pslab.protocol as CP
import pytest
from pslab import Multimeter, ScienceLab

from remotelab.device.emulator import Emulator


def meter(*wiring: str, seed: int = 7) -> Multimeter:
    return Multimeter(device=Emulator(list(wiring), seed=seed))


def test_default_bench_resistor_reads_10k(psl: ScienceLab) -> None:
    assert psl.multimeter.measure_resistance() == pytest.approx(10e3, rel=0.05)


@pytest.mark.parametrize("ohms", ["1k", "4k7", "47k", "100k"])
def test_resistances(ohms: str) -> None:
    value = float(ohms.replace("k", "e3")) if "k7" not in ohms else 4.7e3
    assert meter(f"RES -> {ohms} -> GND").measure_resistance() == pytest.approx(value, rel=0.05)


def test_open_circuit_reads_infinite_resistance() -> None:
    assert meter().measure_resistance() == math.inf
    # through CH1's 1 MΩ input: 1.01 MΩ, coarsely resolved so close to the 3.3 V rail
    assert meter("RES -> 10k -> CH1").measure_resistance() == pytest.approx(1.01e6, rel=0.1)


def test_default_bench_capacitor_reads_1nF(psl: ScienceLab) -> None:
    assert psl.multimeter.measure_capacitance() == pytest.approx(1e-9, rel=0.05)


@pytest.mark.parametrize(
    "farads", [("1nF", 1e-9), ("100nF", 100e-9), ("1uF", 1e-6), ("10uF", 10e-6)]
)
def test_capacitances(farads: tuple[str, float]) -> None:
    text, value = farads
    assert meter(f"CAP -> {text} -> GND").measure_capacitance() == pytest.approx(value, rel=0.05)


def test_large_capacitor_is_measured_by_rc_discharge() -> None:
    # pslab falls back to charging CAP through 10 kΩ while the scope records the
    # discharge, then fits the exponential; call that method directly.
    mm = meter("CAP -> 4.7uF -> GND")
    assert mm._measure_rc_capacitance() == pytest.approx(4.7e-6, rel=0.05)


def test_ctmu_charge_voltage_is_i_t_over_c() -> None:
    mm = meter("CAP -> 1nF -> GND")
    volts, _farads = mm._measure_capacitance(current_range=2, trim=0, charge_time=200)
    assert volts == pytest.approx(5.5e-6 * 200e-6 / (1e-9 + 50e-12), rel=0.01)


def test_calibrate_capacitance_learns_the_stray_capacitance() -> None:
    mm = meter()  # nothing on CAP
    before = mm.measure_capacitance()
    assert before == pytest.approx(4e-12, abs=1e-12)  # 50 pF stray vs pslab's 46 pF guess
    mm.calibrate_capacitance()
    assert abs(mm.measure_capacitance()) < 0.5e-12


def read_ctmu(emu: Emulator, channel: int, current_range: int) -> float:
    """ScienceLab._get_ctmu_voltage, over the protocol (pslab 4.0.1's version is broken)."""
    emu.send_byte(CP.COMMON)
    emu.send_byte(CP.GET_CTMU_VOLTAGE)
    emu.send_byte(channel | (current_range << 5))
    raw = emu.get_int() / 16
    emu.get_ack()
    return 3.3 * raw / 4095


def test_temperature_is_plausible(emu: Emulator) -> None:
    readings = [(760 - read_ctmu(emu, 30, 3) * 1000) / 1.56 for _ in range(20)]
    assert 20 < np.mean(readings) < 45
    assert np.std(readings) < 1.5


def test_pslab_4_0_1_temperature_property_is_broken(psl: ScienceLab) -> None:
    # ScienceLab.temperature calls self.get_int(), which ScienceLab lacks; the device
    # layer must read the temperature over the protocol (as read_ctmu does).
    with pytest.raises(AttributeError, match="get_int"):
        _ = psl.temperature


def test_ctmu_voltage_across_a_resistor_follows_ohms_law() -> None:
    emu = Emulator(["CAP -> 10k -> GND"], seed=2)
    assert read_ctmu(emu, 5, 3) == pytest.approx(55e-6 * 10e3, rel=0.02)
    assert read_ctmu(emu, 5, 2) == pytest.approx(5.5e-6 * 10e3, rel=0.05)


def test_constant_current_from_start_ctmu_charges_cap() -> None:
    emu = Emulator(["CAP -> 10k -> GND"], seed=2)
    psl = ScienceLab(device=emu)
    psl._start_ctmu(current_range=3, trim=0)
    assert psl.multimeter.measure_voltage("CAP") == pytest.approx(0.55, rel=0.02)
    psl._stop_ctmu()
    assert psl.multimeter.measure_voltage("CAP") == pytest.approx(0.0, abs=0.002)
