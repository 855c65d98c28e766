"""Expected device time: every function has one, examples fit the limit, rules follow arguments."""

from __future__ import annotations

import pytest

from remotelab.config import DeviceSettings
from remotelab.device.functions import default_registry, parse_call
from remotelab.device.functions.catalog import DEVICE_TIMES
from remotelab.device.functions.timing import MARGIN, Estimate, duration


def estimate(source: str) -> Estimate:
    return parse_call(source, default_registry()).estimate


def test_every_function_has_a_device_time_and_its_example_fits_the_default_limit() -> None:
    limit = DeviceSettings().max_call_seconds
    registry = default_registry()
    assert set(DEVICE_TIMES) == set(registry.names())
    for function in registry:
        assert function.device_time is DEVICE_TIMES[function.name]
        assert function.example_ms is not None
        assert function.example_ms / 1000 <= limit + MARGIN, function.name


@pytest.mark.parametrize(
    ("source", "seconds", "engine", "sliced"),
    [
        ("get_voltage('CH1')", 0.001, False, False),
        ("set_pv1(1)", 0.0005, False, False),
        ("get_average_voltage('CH1', 10)", 0.010, False, False),
        # window 1 ms + 2000 bytes (20 ms) + 8 fetches of 128 samples (3.2 ms) + 2 ms
        ("capture1('CH1', 1000, 1)", 0.0262, True, False),
        # three channels run the firmware's four-channel capture: four are transferred
        ("oscilloscope_capture(3, 100, 2)", 0.0002 + 0.008 + 0.0016 + 0.002, True, False),
        (
            "oscilloscope_capture('CH2', 100, 1, trigger=0)",
            0.0001 + 0.002 + 0.0004 + 0.01,
            True,
            False,
        ),
        ("get_freq('FRQ', 0.5)", 0.5 + 0.001 + 8 * 1e-5, True, True),
        ("logic_analyzer_measure_frequency('LA1', True, 0.25)", 0.501, True, False),
        (
            "MeasureInterval('ID1', 'ID1', 'rising', 'falling', 0.2)",
            0.2 + 0.001 + 136e-5,
            True,
            True,
        ),
        ("MeasureInterval('ID1', 'ID2', 'rising', 'falling', 0.2)", 0.2 + 0.001 + 8e-5, True, True),
        ("r2r_time('ID1', 8, 0.3)", 0.3 + 0.001 + 40e-5, True, True),
        ("logic_analyzer_capture('LA1', 2500, 0.5)", 0.5 + 0.001 + 0.1, True, True),
        # four channels: 16-bit timestamps, fetched 128 a command
        ("logic_analyzer_capture(4, 128, 0.1)", 0.1 + 0.001 + 1024e-5 + 4 * 0.0004, True, True),
        ("logic_analyzer_count_pulses('LA1', 0.2)", 0.201, True, True),
        ("countPulses('ID1')", 0.0005, True, False),
        ("get_capacitance()", 0.3, True, False),
    ],
)
def test_estimates_follow_the_arguments(
    source: str, seconds: float, engine: bool, sliced: bool
) -> None:
    got = estimate(source)
    assert got.seconds == pytest.approx(seconds)
    assert (got.engine, got.sliced) == (engine, sliced)


def test_what_and_advice_name_the_parameter() -> None:
    wait = estimate("get_freq('FRQ', 10)")
    assert wait.what == "waits up to 10 s for edges (timeout=10)"
    assert (wait.parameter, wait.advice) == ("timeout", "use a smaller timeout")
    capture = estimate("capture2(5000, 100)")
    assert capture.what.startswith("captures for 500 ms and transfers 20 kB (ns=5000, tg=100)")
    assert capture.parameter == "ns"
    logic = estimate("logic_analyzer_capture(2, 2500, 2)")
    assert logic.what == "waits up to 2 s for events (timeout=2), then transfers 20 kB"
    firmware = estimate("logic_analyzer_measure_frequency('LA1', True, 1)")
    assert "simultaneous_oscilloscope=False" in firmware.advice


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.0005, "0.5 ms"), (0.001, "1 ms"), (0.0262, "26 ms"), (1.43, "1.43 s")]
)
def test_durations_read_well(seconds: float, text: str) -> None:
    assert duration(seconds) == text
