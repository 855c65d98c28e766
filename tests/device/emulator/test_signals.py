"""Signal sources: tables, square waves, steady-state RC filtering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from remotelab.device.emulator.signals import Constant, Square, TableWave


def sine_table(points: int = 512) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(points) / points)


def test_constant() -> None:
    c = Constant(1.5)
    assert c.mean == 1.5 and c.period is None
    assert np.all(c.values(np.linspace(0, 1, 5)) == 1.5)


def test_table_wave_plays_its_table_at_its_frequency() -> None:
    wave = TableWave(sine_table(), 1000.0, t_ref=0.25)
    t = 0.25 + np.array([0, 0.25e-3, 0.5e-3, 0.75e-3, 1e-3])
    assert wave.values(t) == pytest.approx([0, 1, 0, -1, 0], abs=1e-9)
    assert wave.period == pytest.approx(1e-3)


def test_table_wave_phase_leads() -> None:
    wave = TableWave(sine_table(), 1000.0, phase=0.25)
    assert wave.values(np.array([0.0]))[0] == pytest.approx(1.0)


def test_table_wave_interpolates_between_points() -> None:
    wave = TableWave(np.array([0.0, 1.0]), 1.0)
    assert wave.values(np.array([0.25, 0.75]))[0] == pytest.approx(0.5)
    assert wave.values(np.array([0.75]))[0] == pytest.approx(0.5)  # from 1 back to 0


def test_ac_gain_scales_around_the_mean() -> None:
    wave = TableWave(1.0 + sine_table(), 1.0, ac_gain=0.5)
    values = wave.values(np.linspace(0, 1, 1000, endpoint=False))
    assert values.max() == pytest.approx(1.5, abs=1e-3)
    assert values.min() == pytest.approx(0.5, abs=1e-3)


def test_square_duty_and_wrap() -> None:
    sq = Square(1e-3, rise=0.0, fall=0.3)
    t = np.linspace(0, 1e-3, 1000, endpoint=False)
    assert sq.values(t).mean() == pytest.approx(3.3 * 0.3, rel=1e-2)
    assert sq.mean == pytest.approx(0.99)
    wrapped = Square(1e-3, rise=0.8, fall=0.1)
    assert wrapped.duty == pytest.approx(0.3)
    assert wrapped.is_high(np.array([0.05e-3, 0.5e-3, 0.9e-3])).tolist() == [True, False, True]


def test_lowpass_of_a_sine_follows_a_single_pole() -> None:
    f, tau = 1000.0, 1 / (2 * math.pi * 1000.0)  # corner frequency
    filtered = TableWave(sine_table(), f).lowpass(tau)
    amplitude = np.ptp(filtered.table()) / 2
    assert amplitude == pytest.approx(1 / math.sqrt(2), rel=1e-3)
    # and a 45° lag: the peak moves from a quarter to three eighths of the period
    peak = np.argmax(filtered.table()) / filtered.table().size
    assert peak == pytest.approx(0.375, abs=2e-3)


def test_lowpass_of_a_constant_or_a_fast_node_is_the_signal_itself() -> None:
    c = Constant(2.0)
    assert c.lowpass(1.0) is c
    wave = TableWave(sine_table(), 1000.0)
    assert wave.lowpass(1e-12) is wave


def test_lowpass_of_a_square_wave_is_smooth() -> None:
    filtered = Square(1e-3, 0.0, 0.5).lowpass(1e-3)
    table = filtered.table()
    assert table.mean() == pytest.approx(1.65, abs=1e-3)
    assert np.ptp(table) < 1.0  # heavily smoothed, still a ripple
