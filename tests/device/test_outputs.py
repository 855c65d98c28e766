"""The output model, what each function sets, and users' contexts (pure: no device)."""

from __future__ import annotations

from typing import Any

import pytest

from remotelab.device.contexts import Contexts
from remotelab.device.functions import bind_call, default_registry, parse_call
from remotelab.device.functions import effects as fx
from remotelab.device.outputs import (
    DEFAULT_BENCH,
    HIGH,
    LOW,
    NAMES,
    Outputs,
    Square,
    Wave,
    changes_from_json,
    check_invariants,
    kinds_of,
    value_from_json,
)
from remotelab.errors import InputError

BENCH = DEFAULT_BENCH


def after(source: str, before: Outputs = BENCH) -> Outputs:
    """The outputs after the function string ``source`` ran in ``before``."""
    call = parse_call(source, default_registry())
    assert call.function.effects is not None, source
    return before.replace(call.function.effects(call.args, before))


# --- the model -------------------------------------------------------------------------


def test_the_default_bench() -> None:
    assert list(BENCH) == list(NAMES)
    assert BENCH["SI1"] == Wave("sine", 1000.0)
    assert BENCH["SI2"] == Wave("off", 1000.0)
    assert [BENCH[n] for n in ("PV1", "PV2", "PV3", "PCS")] == [0.0] * 4
    assert all(BENCH[f"SQ{i}"] == LOW for i in range(1, 5))
    assert BENCH["CH1_RANGE"] == BENCH["CH2_RANGE"] == 16.0
    check_invariants(BENCH)


def test_equality_fingerprint_and_diff() -> None:
    same = Outputs(dict(BENCH))
    assert same == BENCH and same is not BENCH
    assert same.fingerprint == BENCH.fingerprint and hash(same) == hash(BENCH)
    other = BENCH.replace({"PV1": 1.5, "SI1": Wave("sine", 2000.0)})
    assert other != BENCH and other.fingerprint != BENCH.fingerprint
    assert other.diff(BENCH) == ("SI1", "PV1")  # in NAMES order
    assert BENCH.diff(other) == ("SI1", "PV1")
    assert BENCH.diff(same) == ()
    assert BENCH.diff(None) == NAMES  # an unknown device differs everywhere


def test_replace_returns_the_same_object_when_nothing_changes() -> None:
    assert BENCH.replace({}) is BENCH
    assert BENCH.replace({"PV1": 0.0, "SQ1": LOW}) is BENCH
    with pytest.raises(ValueError, match="unknown"):
        BENCH.replace({"PV9": 1.0})


def test_outputs_are_complete() -> None:
    with pytest.raises(ValueError, match="missing"):
        Outputs({"PV1": 1.0})


def test_kinds() -> None:
    assert kinds_of(["SI1", "PV2", "PCS"]) == {"wave", "power"}
    assert kinds_of(["SQ3", "CH2_RANGE"]) == {"pwm", "range"}


def test_json_round_trip() -> None:
    outputs = BENCH.replace(
        {
            "SI2": Wave("tria", 250.0, 90.0),
            "PV1": -1.25,
            "SQ1": Square.pwm(1000, 0.25, 0.5),
            "SQ2": Square.pwm(1000, 0.75),
            "SQ3": HIGH,
            "SQ4": Square.clock(3),
            "CH1_RANGE": 4.0,
        }
    )
    data = outputs.to_json()
    assert data["SQ1"] == {"mode": "pwm", "frequency": 1000.0, "duty": 0.25, "phase": 0.5}
    assert data["SQ3"] == {"mode": "high"}
    assert data["SQ4"] == {"mode": "clock", "prescaler": 3}
    assert BENCH.replace(changes_from_json(data)) == outputs


def test_a_pwm_duty_of_zero_or_one_is_a_level() -> None:
    assert Square.pwm(1000, 0) == LOW
    assert Square.pwm(1000, 1) == HIGH
    assert value_from_json("SQ1", {"mode": "pwm", "frequency": 50, "duty": 1}) == HIGH


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PV9", 1.0, "unknown output 'PV9'"),
        ("PV1", "1.5", "PV1: must be a number"),
        ("PV1", True, "PV1: must be a number"),
        ("SI1", {"shape": "square", "frequency": 10}, "SI1.shape: must be one of sine, tria, off"),
        ("SI1", {"shape": "sine"}, "SI1.frequency: must be a number"),
        ("SI1", {"shape": "sine", "frequency": 1, "amplitude": 2}, "unknown fields"),
        ("SI1", 1000, "SI1: must be an object"),
        ("SQ1", {"mode": "pwm", "frequency": 100}, "a pwm output needs duty"),
        ("SQ1", {"mode": "low", "duty": 0.5}, "a low output has no duty"),
        ("SQ1", {"mode": "clock", "prescaler": 1.5}, "SQ1.prescaler: must be a whole number"),
        ("SQ1", {"mode": "blink"}, "SQ1.mode: must be one of low, high, pwm, clock"),
    ],
)
def test_json_errors_name_the_output(name: str, value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        value_from_json(name, value)


def test_invariants_of_the_shared_timer_and_divider() -> None:
    with pytest.raises(InputError, match="share one timer"):
        check_invariants(
            BENCH.replace({"SQ1": Square.pwm(1000, 0.5), "SQ2": Square.pwm(2000, 0.5)})
        )
    with pytest.raises(InputError, match="share one clock divider"):
        check_invariants(BENCH.replace({"SQ1": Square.clock(1), "SQ2": Square.clock(2)}))
    with pytest.raises(InputError, match="SI1 has no phase"):
        check_invariants(BENCH.replace({"SI1": Wave("sine", 10.0, 90.0)}))


# --- range checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"PV1": 5.5}, "PV1 must be between -5 and 5 V, got 5.5"),
        ({"PV3": -0.1}, "PV3 must be between 0 and 3.3 V"),
        ({"PCS": 0.004}, "PCS must be between 0 and 0.0033 A"),
        ({"SI1": {"shape": "sine", "frequency": 0.01}}, "SI1.frequency must be between 0.1"),
        ({"SI2": {"shape": "sine", "frequency": 10, "phase": 360}}, "SI2.phase must be at least"),
        ({"SQ1": {"mode": "pwm", "frequency": 1, "duty": 0.5}}, "SQ1.frequency must be"),
        ({"SQ1": {"mode": "clock", "prescaler": 16}}, "SQ1.prescaler must be between 0 and 15"),
        ({"CH1_RANGE": 5}, "CH1_RANGE must be one of 16, 8, 4, 3, 2, 1.5, 1, 0.5"),
        (
            {
                "SQ1": {"mode": "pwm", "frequency": 100, "duty": 0.5},
                "SQ2": {"mode": "pwm", "frequency": 200, "duty": 0.5},
            },
            "share one timer",
        ),
    ],
)
def test_bench_values_are_checked_like_function_arguments(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        fx.check_outputs(BENCH, changes_from_json(changes))


def test_good_bench_values_pass() -> None:
    changed = fx.check_outputs(BENCH, changes_from_json({"PV1": -5, "CH2_RANGE": 0.5}))
    assert changed["PV1"] == -5.0 and changed["CH2_RANGE"] == 0.5


# --- what each function sets -------------------------------------------------------------


def test_every_function_that_changes_the_device_declares_its_effects() -> None:
    """The rest only read (or drive something that is not an output: the pulse counter)."""
    registry = default_registry()
    setters = {f.name for f in registry if f.effects is not None}
    readers = {f.name for f in registry if f.effects is None}
    assert {f.name for f in registry if f.shared} <= readers
    assert readers - {f.name for f in registry if f.shared} == {
        "logic_analyzer_capture",
        "logic_analyzer_count_pulses",
        "r2r_time",
        "f2f_time",
        "countPulses",
        "readPulseCount",
    }
    assert "select_range" in setters and "set_pcs" in setters and "set_state" in setters
    for function in registry:
        assert set(function.effects.outputs if function.effects else ()) <= set(NAMES)
        assert function.describe()["sets"] == list(
            function.effects.outputs if function.effects else []
        )


def test_sine_functions() -> None:
    assert after("set_sine1(2000)").diff(BENCH) == ("SI1",)
    assert after("set_sine1(2000)")["SI1"] == Wave("sine", 2000.0)
    # SI2 is off on the bench: generating it without a shape plays a sine.
    assert after("set_wave('W2', 300)")["SI2"] == Wave("sine", 300.0)
    assert after("waveform_generate('SI2', 300)")["SI2"] == Wave("sine", 300.0)
    assert after("set_w2(300, 'tria')")["SI2"] == Wave("tria", 300.0)
    # A loaded triangle stays loaded for the next generate without a shape.
    tria = after("load_equation('W1', 'tria')")
    assert tria["SI1"] == Wave("tria", 1000.0)
    assert after("set_w1(50)", tria)["SI1"] == Wave("tria", 50.0)
    assert after("set_sine1(50)", tria)["SI1"] == Wave("sine", 50.0)


def test_both_sines_keep_their_phase_until_one_restarts_alone() -> None:
    both = after("set_waves(1000, 90, 2000)")
    assert both["SI1"] == Wave("sine", 1000.0)
    assert both["SI2"] == Wave("sine", 2000.0, 90.0)
    swapped = after("waveform_generate(['SI2', 'SI1'], [300, 100], 45)")
    assert swapped["SI1"] == Wave("sine", 100.0) and swapped["SI2"] == Wave("sine", 300.0, 45.0)
    assert after("set_sine1(500)", both)["SI2"] == Wave("sine", 2000.0)  # phase lost
    assert after("set_sine2(500)", both)["SI2"] == Wave("sine", 500.0)
    assert after("waveform_load_function('SI2', 'tria')", both)["SI2"] == Wave("tria", 2000.0, 90.0)


def test_sources_and_ranges() -> None:
    assert after("set_pv1(1.5)")["PV1"] == 1.5
    set_both = after("power_supply_set(pv2=-1, pcs=0.001)")
    assert set_both.diff(BENCH) == ("PV2", "PCS")
    assert after("select_range('CH2', 0.5)")["CH2_RANGE"] == 0.5
    assert after("oscilloscope_select_range('CH1', 4)").diff(BENCH) == ("CH1_RANGE",)


def test_pwm_pins_share_one_timer() -> None:
    one = after("sqr1(1000, 25)")
    assert one["SQ1"] == Square.pwm(1000, 0.25)
    two = after("sqr2(5000, 50)", one)
    assert two["SQ1"] == Square.pwm(5000, 0.25)  # follows the new frequency
    assert two["SQ2"] == Square.pwm(5000, 0.5)
    check_invariants(two)
    stepped = after("pwm_generate(['SQ1', 'SQ2', 'SQ3'], 100, 0.5, 0.25)")
    assert [stepped.square(f"SQ{i}").phase for i in (1, 2, 3)] == [0.0, 0.25, 0.5]
    levels = after("set_state(SQR1=1, SQR3=0)", two)
    assert levels["SQ1"] == HIGH and levels["SQ3"] == LOW and levels["SQ2"] == two["SQ2"]
    kept = after("pwm_set_state(sq2='PWM')", two)
    assert kept == two
    every = after("sqrPWM(2000, 0.5, 0.25, 0.5, 0.5, 0.5, 0.75, 0.5)")
    assert every["SQ4"] == Square.pwm(2000, 0.5, 0.75)


def test_reference_clock_pins_share_one_divider() -> None:
    one = after("pwm_map_reference_clock('SQ4', 3)")
    assert one["SQ4"] == Square.clock(3)
    both = after("pwm_map_reference_clock(['SQ1'], 5)", one)
    assert both["SQ1"] == both["SQ4"] == Square.clock(5)
    check_invariants(both)
    assert after("sqr1(1000, 50)", both)["SQ4"] == Square.clock(5)  # a clock pin stays


def test_pwm_effects_record_the_whole_group() -> None:
    call = bind_call(default_registry(), "sqr1", [1000, 25], {})
    assert call.function.effects is not None
    changes = call.function.effects(call.args, BENCH)
    assert set(changes) == {"SQ1", "SQ2", "SQ3", "SQ4"}


# --- contexts ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_user_who_set_nothing_sees_the_bench_itself() -> None:
    contexts = Contexts(BENCH)
    assert contexts.outputs("a") is BENCH
    assert len(contexts) == 0 and contexts.own("a") == {}
    assert contexts.expires_in("a") is None


def test_changes_stay_with_their_user() -> None:
    contexts = Contexts(BENCH)
    before, now = contexts.record("a", {"SI1": Wave("sine", 2000.0)})
    assert before is BENCH and now["SI1"] == Wave("sine", 2000.0)
    assert contexts.outputs("a") is now  # cached
    assert contexts.outputs("b") is BENCH
    contexts.record("a", {"PV1": 1.0})
    assert contexts.outputs("a").diff(BENCH) == ("SI1", "PV1")
    assert contexts.own("a") == {"SI1": Wave("sine", 2000.0), "PV1": 1.0}


def test_recording_nothing_creates_no_context() -> None:
    contexts = Contexts(BENCH)
    assert contexts.record("a", {}) == (BENCH, BENCH)
    assert "a" not in contexts


def test_reset_returns_a_user_to_the_bench() -> None:
    contexts = Contexts(BENCH)
    contexts.record("a", {"PV1": 1.0})
    assert contexts.reset("a") is BENCH
    assert contexts.outputs("a") is BENCH and "a" not in contexts


def test_a_new_bench_reaches_everyone_but_not_what_they_set() -> None:
    contexts = Contexts(BENCH)
    contexts.record("a", {"PV1": 1.0})
    contexts.record("b", {"SI1": Wave("sine", 3000.0)})
    contexts.set_bench(BENCH.replace({"PV1": 2.0, "PV2": -1.0}))
    assert contexts.outputs("a")["PV1"] == 1.0  # a set PV1 themselves
    assert contexts.outputs("a")["PV2"] == -1.0
    assert contexts.outputs("b")["PV1"] == 2.0
    assert contexts.outputs("c") is contexts.bench


def test_idle_contexts_expire() -> None:
    clock = FakeClock()
    contexts = Contexts(BENCH, idle_seconds=60, clock=clock)
    contexts.record("a", {"PV1": 1.0})
    contexts.record("b", {"PV1": 2.0})
    clock.now = 50
    contexts.touch("b")
    assert contexts.expires_in("a") == pytest.approx(10)
    assert contexts.expire() == []
    clock.now = 61
    assert contexts.expire() == ["a"]
    assert contexts.outputs("a") is BENCH
    assert contexts.outputs("b")["PV1"] == 2.0
    clock.now = 111
    assert contexts.expire() == ["b"]
