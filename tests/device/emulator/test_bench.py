"""The bench over time: outputs, the CAP node's RC dynamics, PCS compliance, logic levels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from remotelab.device.emulator.bench import (
    CAP_DRIVE_RESISTANCE,
    Bench,
    Charging,
    Driven,
    Floating,
    Timeline,
)
from remotelab.device.emulator.digital import ConstantLevel, PeriodicEdges, SampledEdges
from remotelab.device.emulator.network import HARDWARE
from remotelab.device.emulator.signals import Constant, Square, TableWave
from remotelab.device.emulator.wiring import parse_wiring


def bench(*wiring: str) -> Bench:
    return Bench(parse_wiring(wiring))


def test_timeline_piecewise() -> None:
    line = Timeline(0.0)
    line.set(1.0, 10.0)
    line.set(2.0, 20.0)
    t = np.array([0.5, 1.0, 1.5, 2.5])
    assert line.piecewise(t, lambda v, tt: np.full(tt.shape, v)).tolist() == [0, 10, 10, 20]
    assert line.at(1.99) == 10.0
    line.set(0.5, 99.0)  # time never goes backwards: replaces the last value
    assert line.at(3.0) == 99.0


def test_output_history_is_kept_for_late_readers() -> None:
    b = bench("PV3 -> VOL")
    b.set_output("PV3", Constant(1.0), 1.0)
    b.set_output("PV3", Constant(2.0), 2.0)
    v = b.voltage("VOL", np.array([0.5, 1.5, 2.5]))
    assert v == pytest.approx([0.0, 1.0, 2.0], abs=1e-5)


def test_cap_charges_and_discharges_through_10k() -> None:
    b = bench("CAP -> 1uF -> GND")
    c = 1e-6 + HARDWARE.cap_stray
    tau = CAP_DRIVE_RESISTANCE * c
    b.set_cap_driver(Driven(3.3), 0.0)
    b.set_cap_driver(Floating(), 0.05)
    b.set_cap_driver(Driven(0.0), 0.06)
    b.set_cap_driver(Floating(), 0.1)
    t = np.array([tau, 0.05, 0.055, 0.06 + tau, 0.2])
    v = b.voltage("CAP", t)
    assert v[0] == pytest.approx(3.3 * (1 - math.exp(-1)), rel=1e-6)
    charged = 3.3 * (1 - math.exp(-0.05 / tau))
    assert v[1] == pytest.approx(charged, rel=1e-6)
    assert v[2] == pytest.approx(charged, rel=1e-6)  # floating: holds its charge
    assert v[3] == pytest.approx(charged * math.exp(-1), rel=1e-4)
    assert v[4] == pytest.approx(charged * math.exp(-0.04 / tau), rel=1e-4)


def test_ctmu_current_ramps_the_cap_and_saturates() -> None:
    b = bench("CAP -> 1nF -> GND")
    c = 1e-9 + HARDWARE.cap_stray
    b.set_cap_driver(Charging(5.5e-6), 0.0)
    assert b.voltage_at("CAP", 100e-6) == pytest.approx(5.5e-6 * 100e-6 / c, rel=1e-6)
    assert b.voltage_at("CAP", 10e-3) == pytest.approx(3.3)  # compliance


def test_ctmu_current_into_a_resistor_follows_ohms_law() -> None:
    b = bench("CAP -> 10k -> GND")
    b.set_cap_driver(Charging(55e-6), 0.0)
    assert b.voltage_at("CAP", 1e-3) == pytest.approx(0.55, rel=1e-3)


def test_pcs_drives_i_times_r_within_its_compliance() -> None:
    b = bench("PCS -> 1k -> GND", "PCS -> AN4")
    b.set_output("PCS", Constant(1e-3), 0.0)
    assert b.voltage_at("AN4", 1.0) == pytest.approx(1.0, rel=1e-3)
    b.set_output("PCS", Constant(3e-3), 2.0)
    # at most 3.3 V / (1 kΩ + R_load)
    assert b.voltage_at("AN4", 3.0) == pytest.approx(3.3 / 2e3 * 1e3, rel=1e-3)
    assert b.output("PCS").mean == pytest.approx(3.3 / 2e3, rel=1e-3)


def test_rc_node_filters_a_sine() -> None:
    r, c = 10e3, 10e-9
    b = bench("SI1 -> 10k -> CH1", "CH1 -> 10nF -> GND")
    f = 1 / (2 * math.pi * r * c)
    table = np.sin(2 * np.pi * np.arange(512) / 512)
    b.set_output("SI1", TableWave(table, f), 0.0)
    t = np.linspace(1.0, 1.0 + 1 / f, 2000)
    amplitude = np.ptp(b.voltage("CH1", t)) / 2
    assert amplitude == pytest.approx(1 / math.sqrt(2), rel=0.01)


def test_logic_of_a_pwm_pin_is_exact() -> None:
    b = bench("SQ1 -> LA1")
    b.set_output("SQ1", Square(1e-3, 0.0, 0.25, t_ref=0.0), 0.0)
    sig = b.logic("LA1", 0.0, 1.0)
    assert isinstance(sig, PeriodicEdges)
    assert sig.edges("rising", 0.0, 3e-3, 10).tolist() == pytest.approx([1e-3, 2e-3, 3e-3])
    assert sig.edges("falling", 0.0, 2e-3, 10).tolist() == pytest.approx([0.25e-3, 1.25e-3])


def test_logic_of_a_sine_crosses_the_threshold() -> None:
    b = bench("SI1 -> LA2")
    table = 3.3 * np.sin(2 * np.pi * np.arange(512) / 512)
    b.set_output("SI1", TableWave(table, 1000.0), 0.0)
    sig = b.logic("LA2", 0.0, 1.0)
    assert isinstance(sig, PeriodicEdges)
    rising = sig.edges("rising", 0.0, 1e-3, 1)[0]
    assert rising == pytest.approx(math.asin(1.65 / 3.3) / (2 * math.pi) * 1e-3, rel=1e-2)


def test_logic_of_static_levels() -> None:
    b = bench("PV3 -> LA3", "PV1 -> 10k -> LA4")
    b.set_output("PV3", Constant(3.0), 0.0)
    assert b.logic("LA3", 1.0, 2.0) == ConstantLevel(True)
    assert b.logic("LA4", 1.0, 2.0) == ConstantLevel(False)
    assert b.logic("LA1", 1.0, 2.0) == ConstantLevel(False)


def test_logic_of_mixed_signals_is_sampled() -> None:
    b = bench("SI1 -> 10k -> LA1", "SI2 -> 10k -> LA1")
    table = 3.3 * np.sin(2 * np.pi * np.arange(512) / 512) + 1.65
    b.set_output("SI1", TableWave(table, 1000.0), 0.0)
    b.set_output("SI2", TableWave(table, 1500.0), 0.0)
    sig = b.logic("LA1", 0.0, 0.01)
    assert isinstance(sig, SampledEdges)
    assert sig.count_rising(0.0, 0.01) > 5
