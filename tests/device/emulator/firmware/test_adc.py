"""Oscilloscope and voltmeter, driven by the unmodified pslab instruments."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pslab import Multimeter, Oscilloscope, PowerSupply, ScienceLab

from remotelab.device.emulator import Emulator

from ..fitting import fit_sine


def test_sine_on_si1_is_captured_on_ch1(psl: ScienceLab) -> None:
    (frequency,) = psl.waveform_generator.generate("SI1", 1000)
    x, y = psl.oscilloscope.capture("CH1", 2000, 2)
    amplitude, fitted, _, offset = fit_sine(x, y)
    assert fitted == pytest.approx(frequency, rel=0.05)
    assert fitted == pytest.approx(1000, rel=0.01)
    assert amplitude == pytest.approx(3.3, rel=0.05)
    assert abs(offset) < 0.1


@pytest.mark.parametrize("frequency", [50, 400, 2500])
def test_captured_frequency_follows_the_generator(psl: ScienceLab, frequency: float) -> None:
    (actual,) = psl.waveform_generator.generate("SI2", frequency)
    timegap = max(1.0, round(1e6 / frequency / 200))
    x, y = psl.oscilloscope.capture("CH2", 2000, timegap)
    assert fit_sine(x, y)[1] == pytest.approx(actual, rel=0.01)


def test_four_channel_capture(psl: ScienceLab) -> None:
    psl.waveform_generator.generate(["SI1", "SI2"], 1000)
    psl.power_supply.pv1 = 1.5
    psl.power_supply.pv2 = -2.0
    x, ch1, ch2, ch3, mic = psl.oscilloscope.capture(4, 2500, 2)
    assert x.size == ch1.size == ch2.size == ch3.size == mic.size == 2500
    assert x[1] - x[0] == 2
    assert fit_sine(x, ch1)[0] == pytest.approx(3.3, rel=0.05)
    assert fit_sine(x, ch2)[0] == pytest.approx(3.3, rel=0.05)
    assert ch3.mean() == pytest.approx(1.5, abs=0.05)
    assert mic.mean() == pytest.approx(-2.0, abs=0.05)


def test_two_and_three_channel_captures(psl: ScienceLab) -> None:
    psl.power_supply.pv1 = 2.5
    _, ch1, ch2 = psl.oscilloscope.capture(2, 1000, 1)
    assert ch1.size == ch2.size == 1000
    _x, ch1, ch2, ch3 = psl.oscilloscope.capture(3, 1000, 2)
    assert ch3.mean() == pytest.approx(2.5, abs=0.05)


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("VOL", 1.2), ("RES", 3.3 * 10 / 15.1), ("AN4", 1.0), ("CAP", 0.0), ("CH3", -1.0)],
)
def test_named_single_channels(psl: ScienceLab, channel: str, expected: float) -> None:
    psl.power_supply.pv3 = 1.2
    psl.power_supply.pcs = 1e-3  # into 1 kΩ, read on AN4
    psl.power_supply.pv1 = -1.0
    _x, y = psl.oscilloscope.capture(channel, 500, 4)
    assert y.mean() == pytest.approx(expected, abs=0.03)


def test_pslab_sample_and_timegap_limits_work(psl: ScienceLab) -> None:
    psl.waveform_generator.generate(["SI1", "SI2"], 2000)
    _, y = psl.oscilloscope.capture(1, 10000, 0.5)
    assert y.size == 10000 and np.ptp(y) > 6
    _x, *ys = psl.oscilloscope.capture(4, 2500, 1.75)
    assert all(v.size == 2500 for v in ys)
    with pytest.raises(ValueError):
        psl.oscilloscope.capture(2, 5001, 1)
    with pytest.raises(ValueError):
        psl.oscilloscope.capture(1, 100, 0.25)


def steps(y: np.ndarray) -> np.ndarray:
    return np.diff(np.unique(y))


def test_12_bit_resolution_when_sampling_one_channel_slowly(psl: ScienceLab) -> None:
    psl.waveform_generator.generate("SI1", 500)
    _x, y = psl.oscilloscope.capture("CH1", 4000, 1)  # no trigger, timegap >= 1: 12 bits
    lsb = 33 / 4095
    assert steps(y).min() == pytest.approx(lsb, rel=1e-6)
    assert np.allclose(np.round(steps(y) / lsb), steps(y) / lsb)
    assert np.unique(y).size > 700


def test_10_bit_resolution_when_sampling_fast(psl: ScienceLab) -> None:
    psl.waveform_generator.generate("SI1", 500)
    _x, y = psl.oscilloscope.capture("CH1", 4000, 0.5)
    lsb = 33 / 1023
    assert steps(y).min() == pytest.approx(lsb, rel=1e-6)
    assert np.unique(y).size <= 1024


def test_gain_gives_finer_steps(psl: ScienceLab) -> None:
    psl.oscilloscope.select_range("CH1", 4)  # gain 4: ±4.125 V
    psl.waveform_generator.load_function("SI1", lambda v: 1.0 * np.sin(v), [0, 2 * np.pi])
    psl.waveform_generator.generate("SI1", 500)
    x, y = psl.oscilloscope.capture("CH1", 4000, 1)
    assert steps(y).min() == pytest.approx(33 / 4 / 4095, rel=1e-6)
    assert fit_sine(x, y)[0] == pytest.approx(1.0, rel=0.05)


def test_signal_clips_outside_the_selected_range(psl: ScienceLab) -> None:
    psl.waveform_generator.generate("SI1", 1000)
    psl.oscilloscope.select_range("CH1", 1)  # gain 16: ±1.03 V
    _x, y = psl.oscilloscope.capture("CH1", 2000, 1)
    limit = 16.5 / 16
    assert y.max() == pytest.approx(limit, abs=0.01)
    assert y.min() == pytest.approx(-limit, abs=0.01)
    assert np.mean(np.abs(y) > limit - 0.01) > 0.5  # flat tops


def test_clipping_at_the_input_span(psl: ScienceLab) -> None:
    psl.power_supply.pv1 = 4.5  # CH3 spans ±3.3 V
    _x, y = psl.oscilloscope.capture("CH3", 200, 2)
    assert y.max() == pytest.approx(3.3, abs=0.01)


@pytest.mark.parametrize("level", [-2.0, 0.0, 1.5])
def test_trigger_starts_the_capture_on_a_rising_edge_at_the_level(
    psl: ScienceLab, level: float
) -> None:
    psl.waveform_generator.generate("SI1", 1000)
    for _ in range(3):
        _x, y = psl.oscilloscope.capture("CH1", 200, 1, trigger=level)
        assert y[0] == pytest.approx(level, abs=0.08)  # 10-bit: 32 mV per count on CH1
        assert y[5] > y[0]
        # and without the trigger, the start is anywhere in the period
    starts = {
        round(psl.oscilloscope.capture("CH1", 50, 1, trigger=False)[1][0], 1) for _ in range(8)
    }
    assert len(starts) > 1


def test_trigger_on_another_channel(psl: ScienceLab) -> None:
    psl.waveform_generator.generate(["SI1", "SI2"], 1000, 90)
    _x, ch1, ch2 = psl.oscilloscope.capture(2, 500, 1, trigger=0.0, trigger_channel="CH2")
    assert ch2[0] == pytest.approx(0.0, abs=0.08)
    assert ch2[5] > ch2[0]
    # SI2 leads SI1 by 90°: when SI2 rises through 0, SI1 is at its minimum
    assert ch1[0] == pytest.approx(-3.3, abs=0.1)


def test_non_blocking_capture(psl: ScienceLab) -> None:
    psl.power_supply.pv1 = 1.25
    x = psl.oscilloscope.capture(3, 1000, 2, block=False)
    assert len(x) == 1 and x[0].size == 1000
    done, samples = psl.oscilloscope.progress()
    assert (done, samples) == (True, 1000)
    _ch1, _ch2, ch3, _mic = psl.oscilloscope.fetch_data()
    assert ch3.mean() == pytest.approx(1.25, abs=0.05)


def test_non_blocking_capture_in_real_time() -> None:
    psl = ScienceLab(device=Emulator(seed=1, realtime=True))
    psl.oscilloscope.capture(2, 2000, 10, block=False)  # 20 ms
    done, samples = psl.oscilloscope.progress()
    assert not done and samples < 2000
    time.sleep(0.03)
    assert psl.oscilloscope.progress() == (True, 2000)


def test_dma_capture_reports_done_at_once_like_the_firmware() -> None:
    psl = ScienceLab(device=Emulator(seed=1, realtime=True))
    psl.oscilloscope.capture("VOL", 2000, 10, block=False)  # 12-bit DMA mode
    assert psl.oscilloscope.progress() == (True, 2000)


def test_voltmeter_on_every_channel() -> None:
    emu = Emulator(
        ["PV1 -> CH1", "PV2 -> CH2", "PV3 -> CH3", "PV3 -> MIC", "PV3 -> VOL", "PV2 -> 1k -> AN4"],
        seed=4,
    )
    psl = ScienceLab(device=emu)
    psl.power_supply.pv1 = -4.0
    psl.power_supply.pv2 = 2.5
    psl.power_supply.pv3 = 1.7
    mm = psl.multimeter
    expected = {"CH1": -4.0, "CH2": 2.5, "CH3": 1.7, "MIC": 1.7, "VOL": 1.7, "AN4": 2.5}
    for channel, volts in expected.items():
        assert mm.measure_voltage(channel) == pytest.approx(volts, abs=0.01), channel
    assert mm.measure_voltage("RES") == pytest.approx(3.3, abs=0.002)  # pull-up, open
    assert mm.measure_voltage("CAP") == pytest.approx(0.0, abs=0.002)


def test_voltmeter_autoranges_small_voltages_on_ch1() -> None:
    psl = ScienceLab(device=Emulator(["PV1 -> CH1"], seed=4))
    psl.power_supply.pv1 = 0.2
    # gain 32: 1 mV steps on ±0.5 V instead of 8 mV
    assert psl.multimeter.measure_voltage("CH1") == pytest.approx(0.2, abs=0.002)


@pytest.mark.parametrize(
    ("output", "channel", "values"),
    [
        ("pv1", "CH3", np.linspace(-3.0, 3.0, 9)),
        ("pv2", "MIC", np.linspace(-3.0, 3.0, 9)),
        ("pv3", "VOL", np.linspace(0.1, 3.2, 9)),
    ],
)
def test_power_supply_sweeps_read_back(
    psl: ScienceLab, output: str, channel: str, values: np.ndarray
) -> None:
    for value in values:
        setattr(psl.power_supply, output, float(value))
        measured = psl.multimeter.measure_voltage(channel)
        assert measured == pytest.approx(value, rel=0.1, abs=0.01)


def test_pv1_full_range() -> None:
    psl = ScienceLab(device=Emulator(["PV1 -> CH1"], seed=5))
    for value in (-5.0, -2.5, 0.0, 2.5, 5.0):
        psl.power_supply.pv1 = value
        assert psl.multimeter.measure_voltage("CH1") == pytest.approx(value, abs=0.05)


def test_instruments_constructed_separately_share_the_device(emu: Emulator) -> None:
    scope = Oscilloscope(device=emu)
    mm = Multimeter(device=emu)
    PowerSupply(device=emu).pv3 = 2.2
    assert mm.measure_voltage("VOL") == pytest.approx(2.2, abs=0.01)
    assert scope.capture("VOL", 100, 1)[1].mean() == pytest.approx(2.2, abs=0.01)
