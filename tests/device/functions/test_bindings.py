"""Every whitelisted function runs on pslab 4.x driving the emulator, and returns what it promises.

Each case builds ``pslab.ScienceLab(device=Emulator(seed=1))`` on the default bench
(SI1->CH1, SI2->CH2, PV1->CH3, PV2->MIC, PV3->VOL, 10 kΩ on RES, 1 nF on CAP,
SQ1..SQ4->LA1..LA4), runs some set-up function strings, then the one under test,
and checks the JSON-safe result against the function's promised shape and, where
the bench makes it predictable, against physics.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from pslab import ScienceLab

from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry, parse_call, to_json_safe
from remotelab.device.functions.bindings import finish

Check = Callable[[Any], bool]


def near(expected: float, rel: float = 0.02, abs_: float = 0.0) -> Check:
    return lambda value: math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


def traces(series: int, samples: int, step: float) -> Check:
    def check(value: Any) -> bool:
        x = value[0]
        return (
            len(value) == series
            and all(len(s) == samples for s in value)
            and x[0] == 0
            and math.isclose(x[1] - x[0], step)
        )

    return check


# (set-up strings, function string, extra check of the converted result)
CASES: list[tuple[list[str], str, Check | None]] = [
    # multimeter
    (["power_supply_set(pv3=1.5)"], "measure_voltage()", near(1.5, abs_=0.02)),
    (["set_pv1(2)"], "measure_voltage('CH3')", near(2.0, abs_=0.05)),
    ([], "measure_resistance()", near(10e3, rel=0.05)),
    ([], "measure_capacitance()", near(1e-9, rel=0.1)),
    (["set_pv1(-2)"], "get_voltage('CH3')", near(-2.0, abs_=0.05)),
    (["set_pv3(1.2)"], "get_average_voltage('AN8', 5)", near(1.2, abs_=0.02)),
    ([], "get_resistance()", near(10e3, rel=0.05)),
    ([], "get_capacitance()", near(1e-9, rel=0.1)),
    # oscilloscope
    ([], "oscilloscope_capture(2, 500, 2)", traces(3, 500, 2)),
    (
        ["set_pv3(2)"],
        "oscilloscope_capture('VOL', 100, 1)",
        lambda v: traces(2, 100, 1)(v) and abs(sum(v[1]) / 100 - 2) < 0.05,
    ),
    (["set_sine1(1000)"], "oscilloscope_capture(1, 200, 1, trigger=0.5)", traces(2, 200, 1)),
    ([], "oscilloscope_capture(3, 50, 2)", traces(4, 50, 2)),
    ([], "oscilloscope_select_range('CH1', 4)", None),
    (
        ["set_sine1(1000)"],
        "capture1('CH1', 100, 10)",
        lambda v: traces(2, 100, 10)(v) and max(v[1]) > 2.5 and min(v[1]) < -2.5,
    ),
    ([], "capture2(50, 10)", traces(3, 50, 10)),
    ([], "capture4(50, 10)", traces(5, 50, 10)),
    (["set_pv2(2)"], "capture2(20, 1, 'MIC')", lambda v: abs(sum(v[1]) / 20 - 2) < 0.1),
    (
        ["set_pv3(1.5)", "set_pv1(-1)"],
        "capture4(20, 2, 'VOL')",
        lambda v: abs(sum(v[1]) / 20 - 1.5) < 0.05 and abs(sum(v[3]) / 20 + 1) < 0.05,
    ),
    (["set_pv3(1.5)"], "oscilloscope_capture(3, 20, 2)", traces(4, 20, 2)),
    (["set_sine2(1000)"], "capture2(20, 1, 'CH2')", lambda v: v[1] == v[2]),
    ([], "select_range('CH1', 8)", None),
    # waveform generator
    ([], "waveform_generate('SI1', 1000)", lambda v: len(v) == 1 and near(1000)(v[0])),
    (
        [],
        "waveform_generate(['SI1', 'SI2'], [500, 2000], 90)",
        lambda v: near(500)(v[0]) and near(2000)(v[1]),
    ),
    ([], "waveform_load_function('SI1', 'tria')", None),
    ([], "set_sine1(1000)", near(1000)),
    ([], "set_sine2(440)", near(440)),
    ([], "set_w1(500, 'tria')", near(500)),
    ([], "set_w2(500)", near(500)),
    ([], "set_wave('W1', 1000)", near(1000)),
    ([], "set_waves(1000, 90)", near(1000)),
    ([], "load_equation('W2', 'tria')", None),
    # PWM generator
    ([], "pwm_generate('SQ1', 1000, 0.5)", near(1000)),
    ([], "pwm_generate(['SQ1', 'SQ2'], 2000, [0.25, 0.75], [0, 0.5])", near(2000)),
    ([], "pwm_set_state(sq1=True, sq2='LOW')", None),
    (
        ["pwm_set_state(sq1=True, sq2='LOW')"],
        "logic_analyzer_get_states()",
        lambda v: v["LA1"] is True and v["LA2"] is False,
    ),
    ([], "pwm_map_reference_clock('SQ4', 3)", near(16e6)),
    ([], "sqr1(1000, 25)", near(1000)),
    ([], "sqr2(2000, 50)", near(2000)),
    ([], "sqrPWM(1000, 0.5, 0.25, 0.5, 0.5, 0.5, 0.75, 0.5)", near(1000)),
    ([], "set_state(SQR1=1, SQR2=0)", None),
    (
        ["set_state(SQR1=1, SQR2=0)"],
        "get_states()",
        lambda v: set(v) == {"ID1", "ID2", "ID3", "ID4"} and v["ID1"] and not v["ID2"],
    ),
    (["set_state(SQR1=1)"], "get_state('ID1')", lambda v: v is True),
    # power supply
    (
        [],
        "power_supply_set(pv1=1.5, pcs=0.001)",
        lambda v: v == {"pv1": 1.5, "pv2": None, "pv3": None, "pcs": 0.001},
    ),
    (
        ["set_pv2(1)"],
        "power_supply_get()",
        lambda v: v == {"pv1": None, "pv2": 1.0, "pv3": None, "pcs": None},
    ),
    ([], "set_pv1(2.5)", near(2.5)),
    ([], "set_pv2(-1)", near(-1)),
    ([], "set_pv3(3.3)", near(3.3)),
    ([], "set_pcs(0.001)", near(0.001)),
    (["set_pv1(1)"], "get_pv1()", near(1)),
    ([], "get_pv2()", lambda v: v is None),
    (["set_pv3(0.5)"], "get_pv3()", near(0.5)),
    (["set_pcs(0.002)"], "get_pcs()", near(0.002)),
    # logic analyzer (SQ1..SQ4 drive LA1..LA4)
    (
        ["sqr1(1000, 25)"],
        "logic_analyzer_capture('LA1', 10)",
        lambda v: len(v) == 1 and len(v[0]) == 10,
    ),
    (
        ["sqr1(1000, 25)", "sqr2(1000, 50)"],
        "logic_analyzer_capture(2, 5)",
        lambda v: [len(s) for s in v] == [5, 5],
    ),
    (["sqr1(1000)"], "logic_analyzer_measure_frequency('LA1')", near(1000)),
    (
        ["sqr1(1000, 25)"],
        "logic_analyzer_measure_duty_cycle('LA1')",
        lambda v: near(1000)(v[0]) and near(0.25, abs_=0.01)(v[1]),
    ),
    ([], "logic_analyzer_measure_duty_cycle('LA3', 0.01)", lambda v: v is None),
    (
        ["sqr1(1000, 25)", "sqr2(1000, 50)"],
        "logic_analyzer_measure_interval(['LA1', 'LA2'], ['rising', 'rising'])",
        lambda v: abs(v) < 1000,
    ),
    (
        [],
        "logic_analyzer_measure_interval(['LA3', 'LA3'], ['rising', 'falling'], 0.01)",
        lambda v: v is None,
    ),
    ([], "logic_analyzer_get_states()", lambda v: set(v) == {"LA1", "LA2", "LA3", "LA4"}),
    # pslab sleeps for the interval in real time: at least 50 pulses, more on a busy machine.
    (["sqr1(1000)"], "logic_analyzer_count_pulses('LA1', 0.05)", lambda v: 45 <= v < 5000),
    (["sqr1(1000)"], "get_freq('ID1')", near(1000)),
    (
        ["sqr1(1000, 25)"],
        "DutyCycle('ID1')",
        lambda v: near(1e-3)(v[0]) and near(0.25, abs_=0.01)(v[1]),
    ),
    ([], "DutyCycle('ID3', 0.01)", lambda v: v == [-1, -1]),
    (
        ["sqr1(1000, 25)"],
        "MeasureInterval('ID1', 'ID1', 'rising', 'falling')",
        # The first edges after the capture starts: rising then falling (250 µs later), or,
        # when the capture starts while SQ1 is high, falling 750 µs before rising (pslab's
        # measure_interval does the same; which one depends on the host's timing).
        lambda v: near(2.5e-4, rel=0.05)(v) or near(-7.5e-4, rel=0.05)(v),
    ),
    (["sqr1(1000)"], "r2r_time('ID1')", lambda v: len(v) == 1 and near(1e-3)(v[0])),
    (["sqr1(1000)"], "f2f_time('ID1', 1)", lambda v: len(v) == 1 and near(2e-3)(v[0])),
    ([], "r2r_time('ID3', 0, 0.01)", lambda v: v == []),
    ([], "countPulses('ID1')", None),
    (["countPulses('ID1')"], "readPulseCount()", lambda v: v >= 0),
    # device
    ([], "temperature()", lambda v: -40 < v < 125),
    ([], "get_temperature()", lambda v: -40 < v < 125),
    ([], "get_version()", lambda v: v.startswith("PSLab")),
]


def run(sl: Any, source: str) -> tuple[Any, list[str]]:
    call = parse_call(source, default_registry())
    return to_json_safe(finish(call.invoke(sl)))  # waits for edges come as steps


@pytest.fixture
def sl() -> Any:
    return ScienceLab(device=Emulator(seed=1))


def test_every_function_is_exercised() -> None:
    tested = {parse_call(source, default_registry()).function.name for _, source, _ in CASES}
    assert tested == set(default_registry().names())


@pytest.mark.parametrize(("setup", "source", "check"), CASES, ids=[c[1] for c in CASES])
def test_function_runs_on_the_emulator(
    sl: Any, setup: list[str], source: str, check: Check | None
) -> None:
    for line in setup:
        run(sl, line)
    function = parse_call(source, default_registry()).function
    data, notes = run(sl, source)
    json.dumps(data, allow_nan=False)
    assert function.returns.accepts(data), f"{source} -> {data!r} is not {function.returns.kind}"
    assert notes == []
    if check is not None:
        assert check(data), f"{source} -> {data!r}"


@pytest.mark.parametrize("function", list(default_registry()), ids=lambda f: f.name)
def test_every_example_runs(sl: Any, function: Any) -> None:
    if function.category == "logic analyzer":
        run(sl, "pwm_generate(['SQ1', 'SQ2', 'SQ3', 'SQ4'], 1000, 0.5, 0.1)")
    if function.name == "readPulseCount":  # it reads the count countPulses() started
        run(sl, "countPulses('ID1')")
    data, _notes = run(sl, function.example)
    assert function.returns.accepts(data), f"{function.example} -> {data!r}"


def test_a_timed_out_interval_is_null_with_a_note(sl: Any) -> None:
    data, notes = run(sl, "MeasureInterval('ID3', 'ID3', 'rising', 'falling', 0.01)")
    assert data is None
    assert notes == ["result was nan"]


def test_captures_do_not_inherit_a_trigger(sl: Any) -> None:
    run(sl, "oscilloscope_capture(1, 100, 1, trigger=0.5)")
    assert sl.oscilloscope.trigger_enabled
    run(sl, "capture1('CH1', 100, 1)")
    assert not sl.oscilloscope.trigger_enabled


def test_channel_one_is_set_by_every_capture(sl: Any) -> None:
    run(sl, "set_pv2(2)")  # PV2 -> MIC
    remapped, _ = run(sl, "capture2(20, 1, 'MIC')")
    default, _ = run(sl, "capture2(20, 1)")  # channel one is CH1 again: SI1, idle
    assert abs(sum(remapped[1]) / 20 - 2) < 0.1
    assert abs(sum(default[1]) / 20) < 0.5


def test_logic_analyzer_state_is_restored_after_a_timeout(sl: Any) -> None:
    la = sl.logic_analyzer
    before = (la.trigger_channel, la.trigger_mode)
    run(sl, "DutyCycle('ID3', 0.01)")  # pslab leaves its trigger changed when this fails
    run(sl, "r2r_time('ID2', 0, 0.01)")
    assert (la.trigger_channel, la.trigger_mode) == before
    assert (la._channel_one_map, la._channel_two_map) == ("LA1", "LA2")


def test_invoke_does_not_let_pslab_change_the_parsed_arguments(sl: Any) -> None:
    call = parse_call("waveform_generate(['SI1', 'SI2'], [333, 444])", default_registry())
    call.invoke(sl)  # pslab writes the actual frequencies into the list it is given
    assert call.args["frequency"] == [333.0, 444.0]


def _crossings(trace: list[float]) -> int:
    return sum(1 for a, b in itertools.pairwise(trace) if (a < 0) != (b < 0))


@pytest.mark.parametrize(
    "source",
    [
        "waveform_generate(['SI1', 'SI2'], [2000, 500])",
        "waveform_generate(['SI2', 'SI1'], [500, 2000])",
    ],
)
def test_each_sine_output_gets_its_own_frequency(sl: Any, source: str) -> None:
    run(sl, source)
    _x, ch1, ch2 = run(sl, "capture2(1000, 10)")[0]  # 10 ms; SI1 -> CH1, SI2 -> CH2
    assert abs(_crossings(ch1) - 40) <= 2  # 2 kHz: 20 periods
    assert abs(_crossings(ch2) - 10) <= 2  # 500 Hz: 5 periods
