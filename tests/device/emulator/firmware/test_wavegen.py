"""Waveform generator (SI1/SI2) and PWM generator (SQ1-SQ4)."""

from __future__ import annotations

import numpy as np
import pytest
from pslab import ScienceLab

from remotelab.device.emulator import Emulator
from remotelab.device.emulator.firmware.base import si_gain

from ..fitting import fit_sine


def test_outputs_are_off_at_power_on(psl: ScienceLab) -> None:
    _x, ch1, ch2 = psl.oscilloscope.capture(2, 500, 2)
    assert np.abs(ch1).max() < 0.1 and np.abs(ch2).max() < 0.1


def test_generate_returns_the_frequency_the_firmware_makes(psl: ScienceLab) -> None:
    (frequency,) = psl.waveform_generator.generate("SI1", 1234)
    assert frequency == pytest.approx(1234, rel=1e-3)
    x, y = psl.oscilloscope.capture("CH1", 4000, 1)
    assert fit_sine(x, y)[1] == pytest.approx(frequency, rel=1e-3)


def test_frequency_limits(psl: ScienceLab) -> None:
    with pytest.raises(ValueError, match=r"greater than 0\.1 Hz"):
        psl.waveform_generator.generate("SI1", 0.05)
    with pytest.raises(ValueError, match="Prescaler out of range"):
        psl.waveform_generator.generate("SI1", 5e6)


def test_low_frequencies_are_attenuated_by_ac_coupling(psl: ScienceLab) -> None:
    psl.waveform_generator.generate("SI1", 1)
    # 2 s of signal; non-blocking, because a blocking capture makes pslab sleep 2 s
    (x,) = psl.oscilloscope.capture("CH1", 10000, 200, block=False)
    (y,) = psl.oscilloscope.fetch_data()
    amplitude = fit_sine(x, y)[0]
    assert amplitude == pytest.approx(3.3 * si_gain(1.0), rel=0.05)
    assert amplitude < 2.0


def test_high_frequencies_use_the_32_point_table_and_roll_off(psl: ScienceLab) -> None:
    psl.waveform_generator.generate("SI1", 20e3)
    x, y = psl.oscilloscope.capture("CH1", 5000, 0.5)  # 10-bit, 2 µs per table step
    amplitude, frequency, _, _ = fit_sine(x, y)
    assert frequency == pytest.approx(20e3, rel=0.01)
    assert amplitude == pytest.approx(3.3 * si_gain(20e3), rel=0.05)
    assert amplitude < 3.3 * 0.8


def test_phase_between_si1_and_si2(psl: ScienceLab) -> None:
    for phase in (0, 90, 200):
        psl.waveform_generator.generate(["SI1", "SI2"], 500, phase)
        x, ch1, ch2 = psl.oscilloscope.capture(2, 2000, 4)
        lead = (fit_sine(x, ch2)[2] - fit_sine(x, ch1)[2]) % 360
        assert min(abs(lead - phase), 360 - abs(lead - phase)) < 3, phase


def test_two_outputs_at_different_frequencies(psl: ScienceLab) -> None:
    f1, f2 = psl.waveform_generator.generate(["SI1", "SI2"], [300, 700])
    x, ch1, ch2 = psl.oscilloscope.capture(2, 4000, 4)
    assert fit_sine(x, ch1)[1] == pytest.approx(f1, rel=0.01)
    assert fit_sine(x, ch2)[1] == pytest.approx(f2, rel=0.01)


def test_load_function_triangle(psl: ScienceLab) -> None:
    wg = psl.waveform_generator
    wg.load_function("SI1", "tria")
    wg.generate("SI1", 500)
    x, y = psl.oscilloscope.capture("CH1", 4000, 1)
    assert y.max() == pytest.approx(3.3, abs=0.05)
    assert y.min() == pytest.approx(-3.3, abs=0.05)
    # a triangle spends equal time at every level: half of it within ±1.65 V
    # (a sine of the same amplitude spends only a third there)
    assert np.mean(np.abs(y) < 1.65) == pytest.approx(0.5, abs=0.02)
    wg.load_function("SI1", "sine")
    x, y = psl.oscilloscope.capture("CH1", 4000, 1)
    assert fit_sine(x, y)[0] == pytest.approx(3.3, rel=0.05)
    assert np.mean(np.abs(y) < 1.65) == pytest.approx(1 / 3, abs=0.02)


def test_load_function_callable_and_table(psl: ScienceLab) -> None:
    wg = psl.waveform_generator
    wg.load_function("SI2", lambda v: 1.5 * np.sin(v), [0, 2 * np.pi])
    wg.generate("SI2", 1000)
    x, y = psl.oscilloscope.capture("CH2", 2000, 2)
    assert fit_sine(x, y)[0] == pytest.approx(1.5, rel=0.05)
    square = np.where(np.arange(512) < 256, 2.0, -2.0)
    wg.load_table("SI2", square)
    x, y = psl.oscilloscope.capture("CH2", 2000, 2)
    assert np.mean(np.abs(np.abs(y) - 2.0) < 0.1) > 0.9


def test_pwm_seen_by_the_logic_analyzer(psl: ScienceLab) -> None:
    psl.pwm_generator.generate("SQ1", 1000, 0.3)
    la = psl.logic_analyzer
    assert la.measure_frequency("LA1") == pytest.approx(1000, rel=1e-3)
    period, duty = la.measure_duty_cycle("LA1")
    assert period == pytest.approx(1000, rel=1e-3)  # µs
    assert duty == pytest.approx(0.3, abs=0.005)


@pytest.mark.parametrize(("frequency", "duty"), [(4, 0.5), (440, 0.1), (25e3, 0.75), (1e6, 0.5)])
def test_pwm_frequencies_and_duty_cycles(frequency: float, duty: float) -> None:
    psl = ScienceLab(device=Emulator(seed=3))
    psl.pwm_generator.generate("SQ2", frequency, duty)
    la = psl.logic_analyzer
    assert la.measure_frequency("LA2") == pytest.approx(frequency, rel=1e-3)
    assert la.measure_duty_cycle("LA2")[1] == pytest.approx(duty, abs=0.02)


def test_pwm_phases(psl: ScienceLab) -> None:
    psl.pwm_generator.generate(["SQ1", "SQ2"], 1000, 0.5, 0.25)
    assert psl.logic_analyzer.measure_interval(["LA1", "LA2"], ["rising", "rising"]) == (
        pytest.approx(250, abs=1)
    )


def test_pwm_on_the_oscilloscope() -> None:
    psl = ScienceLab(device=Emulator(["SQ1 -> CH1"], seed=3))
    psl.pwm_generator.generate("SQ1", 2000, 0.25)
    _x, y = psl.oscilloscope.capture("CH1", 5000, 1)
    high = y > 1.65
    assert np.mean(high) == pytest.approx(0.25, abs=0.01)
    assert y[high].mean() == pytest.approx(3.3, abs=0.02)
    assert y[~high].mean() == pytest.approx(0.0, abs=0.02)


def test_set_state(psl: ScienceLab) -> None:
    pwm, la = psl.pwm_generator, psl.logic_analyzer
    pwm.set_state(sq1=True, sq3="HIGH")
    assert la.get_states() == {"LA1": True, "LA2": False, "LA3": True, "LA4": False}
    pwm.set_state(sq1=False)
    assert la.get_states()["LA1"] is False
    assert la.get_states()["LA3"] is True


def test_generate_leaves_unlisted_outputs_low(psl: ScienceLab) -> None:
    psl.pwm_generator.generate("SQ1", 1000, 0.5)
    la = psl.logic_analyzer
    assert la.count_pulses("LA2", 0.01) == 0
    assert la.count_pulses("LA1", 0.01) > 5


def test_map_reference_clock(psl: ScienceLab) -> None:
    psl.pwm_generator.map_reference_clock(["SQ1"], 3)  # 128 MHz / 8
    assert psl.logic_analyzer.measure_frequency("LA1") == pytest.approx(16e6, rel=1e-3)
    psl.pwm_generator.map_reference_clock(["SQ1"], 10)  # 125 kHz: the ordinary path
    assert psl.logic_analyzer.measure_frequency("LA1") == pytest.approx(125e3, rel=1e-3)
