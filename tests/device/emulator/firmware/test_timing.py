"""Logic analyzer, pulse counter and frequency meter."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pslab import LogicAnalyzer, ScienceLab

from remotelab.device.emulator import Emulator


@pytest.fixture
def la(psl: ScienceLab) -> LogicAnalyzer:
    # 1 kHz on all four outputs: duty 0.25, 0.5, 0.5, 0.75; each a quarter period later
    psl.pwm_generator.generate(["SQ1", "SQ2", "SQ3", "SQ4"], 1000, [0.25, 0.5, 0.5, 0.75], 0.25)
    return psl.logic_analyzer


def test_one_channel_modes(la: LogicAnalyzer) -> None:
    spacing = {
        "rising": [1000],
        "falling": [1000],
        "four rising": [4000],
        "sixteen rising": [16000],
    }
    for mode, expected in spacing.items():
        (t,) = la.capture("LA1", 20, modes=[mode], timeout=0.1)
        assert t.size == 20
        assert np.unique(np.round(np.diff(t), 3)).tolist() == expected, mode
    (t,) = la.capture("LA1", 20, modes=["any"], timeout=0.1)
    assert sorted(np.unique(np.round(np.diff(t), 3)).tolist()) == [250, 750]  # duty 0.25


def test_rising_and_falling_alternate_with_the_duty_cycle(la: LogicAnalyzer) -> None:
    (rising,) = la.capture("LA4", 10, modes=["rising"], timeout=0.1)
    (falling,) = la.capture("LA4", 10, modes=["falling"], timeout=0.1)
    # phases are arbitrary between captures; the high time is what is left of the period
    assert np.diff(rising) == pytest.approx(1000)
    assert np.diff(falling) == pytest.approx(1000)


def test_two_channels(la: LogicAnalyzer) -> None:
    t1, t2 = la.capture(2, 10, modes=["rising", "rising"], timeout=0.1)
    assert t1.size == t2.size == 10
    # SQ2 250 µs later, to the tick (1/64 µs): pslab adds back the firmware's channel delay
    assert (t2 - t1) % 1000 == pytest.approx(np.full(10, 250), abs=0.01)


def test_named_pair_of_channels(la: LogicAnalyzer) -> None:
    t3, t1 = la.capture(["LA3", "LA1"], 5, modes=["rising", "rising"], timeout=0.1)
    assert (t3 - t1) % 1000 == pytest.approx(np.full(5, 500), abs=0.01)


@pytest.mark.parametrize("channels", [3, 4])
def test_three_and_four_channels(la: LogicAnalyzer, channels: int) -> None:
    stamps = la.capture(channels, 50, timeout=0.1)
    assert len(stamps) == channels
    for t in stamps:
        assert t.size == 50
        # 16-bit timestamps; pslab's roll-over fix adds 2**16 - 1 ticks, so allow 1/64 µs
        assert set(np.round(np.diff(t), 1)) <= {250.0, 500.0, 750.0}


def test_four_channel_mode_needs_e2e_time_for_slow_signals(psl: ScienceLab) -> None:
    psl.pwm_generator.generate(["SQ1", "SQ2", "SQ3", "SQ4"], 100, 0.5)  # 5 ms between edges
    la = psl.logic_analyzer
    stamps = la.capture(4, 10, modes=4 * ["any"], timeout=0.1)
    # 16-bit timestamps at 64 MHz roll over every 1 ms: gaps come out wrong
    assert not np.allclose(np.diff(stamps[0]), 5000, rtol=0.01)
    stamps = la.capture(4, 10, modes=4 * ["any"], timeout=0.1, e2e_time=0.01)
    for t in stamps:
        assert np.diff(t) == pytest.approx(np.full(9, 5000), rel=0.001)


def test_trigger_on_a_falling_edge(la: LogicAnalyzer) -> None:
    la.configure_trigger("LA1", "falling")
    for _ in range(3):
        (t,) = la.capture("LA1", 4, modes=["any"], timeout=0.1)
        # the capture starts on a falling edge: the next events are rising, then falling
        assert t[0] == pytest.approx(750, abs=0.05)
        assert t[1] == pytest.approx(1000, abs=0.05)
    assert la.get_initial_states()["LA1"] is False


def test_measurements(la: LogicAnalyzer) -> None:
    assert la.measure_frequency("LA2") == pytest.approx(1000, rel=1e-4)
    assert la.measure_duty_cycle("LA4")[1] == pytest.approx(0.75, abs=1e-3)
    assert la.measure_interval(["LA1", "LA3"], ["rising", "rising"]) % 1000 == pytest.approx(
        500, abs=0.1
    )
    # on one channel: negative when the falling edge came first
    interval = la.measure_interval(["LA2", "LA2"], ["rising", "falling"])
    assert abs(interval) == pytest.approx(500, abs=0.1)


def test_frequency_measured_by_firmware(la: LogicAnalyzer) -> None:
    # it times 16 periods from the 16th rising edge: 32 ms at 1 kHz
    frequency = la.measure_frequency("LA1", simultaneous_oscilloscope=True, timeout=0.04)
    assert frequency == pytest.approx(1000, rel=1e-4)
    assert la.measure_frequency("LA1", simultaneous_oscilloscope=True, timeout=0.02) == 0


def test_frequency_of_a_silent_input_is_zero(psl: ScienceLab) -> None:
    la = psl.logic_analyzer
    assert la.measure_frequency("LA1", timeout=0.02) == 0
    assert la.measure_frequency("LA1", simultaneous_oscilloscope=True, timeout=0.01) == 0


def test_get_states_follow_the_signal(psl: ScienceLab) -> None:
    psl.pwm_generator.set_state(sq2=True, sq4=True)
    assert psl.logic_analyzer.get_states() == {
        "LA1": False,
        "LA2": True,
        "LA3": False,
        "LA4": True,
    }


def test_count_pulses(la: LogicAnalyzer) -> None:
    # pslab sleeps the interval in real time; emulated time follows the real clock
    start = time.perf_counter()
    count = la.count_pulses("LA1", interval=0.05)
    elapsed = time.perf_counter() - start
    assert 49 <= count <= 1000 * elapsed + 1  # 1 kHz


def test_count_pulses_non_blocking_then_fetch() -> None:
    emu = Emulator(["SI1 -> FRQ"], seed=3)
    psl = ScienceLab(device=emu)
    psl.waveform_generator.generate("SI1", 20e3)
    la = psl.logic_analyzer
    assert la.count_pulses(block=False) is None
    emu.clock.advance(0.01)  # let 10 ms of emulated time pass
    assert la.fetch_pulse_count() == pytest.approx(200, abs=3)


def test_a_four_channel_capture_takes_the_counters_timer() -> None:
    # The firmware's four-channel mode re-initialises timer 2, which START_COUNTING made
    # the pulse counter: the count is gone (reads 0); two channels leave it alone.
    emu = Emulator(["SI1 -> FRQ"], seed=3)
    psl = ScienceLab(device=emu)
    psl.waveform_generator.generate("SI1", 20e3)
    la = psl.logic_analyzer
    la.count_pulses(block=False)
    la.capture(2, 10, block=False)
    emu.clock.advance(0.01)
    assert la.fetch_pulse_count() >= 200  # the capture's own time counts too
    la.capture(4, 10, block=False)
    emu.clock.advance(0.01)
    assert la.fetch_pulse_count() == 0


def test_non_blocking_capture(la: LogicAnalyzer) -> None:
    assert la.capture(1, 10, modes=["rising"], block=False) is None
    (t,) = la.fetch_data()
    assert np.diff(t[:10]) == pytest.approx(1000)
    assert la.get_progress() == 2500


def test_sine_on_a_logic_input_crosses_at_the_threshold() -> None:
    psl = ScienceLab(device=Emulator(["SI1 -> LA1"], seed=3))
    psl.waveform_generator.generate("SI1", 1000)
    period, duty = psl.logic_analyzer.measure_duty_cycle("LA1")
    assert period == pytest.approx(1000, rel=1e-3)
    # above 1.65 V for 1/3 of a 3.3 V sine's period
    assert duty == pytest.approx(1 / 3, abs=0.01)


def test_quiet_input_times_out_with_no_events(psl: ScienceLab) -> None:
    (t,) = psl.logic_analyzer.capture("LA1", 5, timeout=0.02)
    assert t.size == 0
