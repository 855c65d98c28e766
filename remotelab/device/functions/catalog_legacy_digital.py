"""The pslab-remote (2017) function names, mapped onto pslab 4.x: the digital side.

Square waves on SQR1-SQR4 (SQ1-SQ4) and timing on ID1-ID4 (LA1-LA4), with the
old parameter names and units: ``sqr1`` takes a duty cycle in percent,
``DutyCycle`` and ``MeasureInterval`` answer in seconds, and a timeout gives the
values pslab 1.x gave (``[-1, -1]``, ``nan``, ``[]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remotelab.config import FunctionSettings
from remotelab.device.functions import bindings as b
from remotelab.device.functions import effects as fx
from remotelab.device.functions.effects import Effect
from remotelab.device.functions.hardware import (
    COUNTER_INPUTS,
    LOGIC_INPUTS,
    MAX_EVENTS,
    PWM_MAX_FREQUENCY,
    PWM_MIN_FREQUENCY,
    number,
    pin,
    wait,
)
from remotelab.device.functions.params import Param
from remotelab.device.functions.registry import NOTHING, Function, Returns, legacy

# pslab 1.x names for the events of MeasureInterval, and their pslab 4.x modes.
EDGES = {"rising": "rising", "falling": "falling", "four rising edges": "four rising"}


def _sqr_freq() -> Param:
    return number(
        "freq",
        "Frequency, shared by all four SQ outputs.",
        low=PWM_MIN_FREQUENCY,
        high=PWM_MAX_FREQUENCY,
        unit="Hz",
    )


def _fraction(name: str, doc: str) -> Param:
    return number(name, doc, low=0, high=1)


def _edge_period(name: str, mode: str, limits: FunctionSettings) -> Function:
    word = "rising" if mode == "rising" else "falling"
    return Function(
        name=name,
        doc=f"Time between {word} edges on a digital input.",
        params=(
            pin("channel", LOGIC_INPUTS, "Digital input."),
            number(
                "skip_cycle",
                "Edges to skip (1 for a pendulum passing a light barrier twice a period).",
                low=0,
                high=MAX_EVENTS - 2,
                integer=True,
                default=0,
            ),
            # pslab 1.x waited 5 s; a call may hold the device 1 s by default
            # (REMOTELAB_DEVICE_MAX_CALL_SECONDS): a pendulum needs that raised.
            wait("timeout", "Give up (and return []) after this long.", 1, limits.max_wait_seconds),
        ),
        returns=Returns(
            "list[float]", "[seconds from one edge to the next counted one], or [].", "s"
        ),
        binding=lambda sl, a: b.edge_period(sl, a["channel"], mode, a["skip_cycle"], a["timeout"]),
        example=f"{name}('ID1')",
        category="logic analyzer",
        legacy=True,
        see_also=("logic_analyzer_capture",),
    )


def _duty_cycle(sl: Any, a: dict[str, Any]) -> b.Steps[list[float]]:
    measured = yield from b.duty_cycle(sl, a["channel"], a["timeout"])
    if measured is None:
        return [-1.0, -1.0]  # what pslab 1.x returned when it timed out
    period_us, duty = measured
    return [period_us * 1e-6, duty]


def _interval(sl: Any, a: dict[str, Any]) -> b.Steps[float]:
    modes = [EDGES[a["edge1"]], EDGES[a["edge2"]]]
    measured = yield from b.interval(sl, [a["channel1"], a["channel2"]], modes, a["timeout"])
    return float("nan") if measured is None else measured * 1e-6  # pslab 1.x: NaN on timeout


def functions(limits: FunctionSettings, modern: Mapping[str, Function]) -> list[Function]:
    """The legacy PWM and logic-analyzer functions, with the policy bounds of ``limits``.

    ``modern`` holds the pslab 4.x style functions by name, for :func:`legacy`.
    """
    mw = limits.max_wait_seconds
    functions = [
        Function(
            name="sqr1",
            doc="Output a square wave on SQR1 (SQ1).",
            params=(
                _sqr_freq(),
                number(
                    "duty_cycle",
                    "Percentage of the period spent high.",
                    low=0,
                    high=100,
                    unit="%",
                    default=50,
                ),
            ),
            returns=Returns("float", "The actual frequency.", "Hz"),
            binding=lambda sl, a: b.pwm(sl, "SQ1", a["freq"], a["duty_cycle"] / 100),
            example="sqr1(1000, 25)",
            effects=Effect(
                fx.SETS_SQ, lambda a, s: fx.pwm(s, "SQ1", a["freq"], a["duty_cycle"] / 100)
            ),
            category="PWM generator",
            legacy=True,
            see_also=("pwm_generate",),
        ),
        Function(
            name="sqr2",
            doc="Output a square wave on SQR2 (SQ2).",
            params=(
                _sqr_freq(),
                number(
                    "duty_cycle", "Percentage of the period spent high.", low=0, high=100, unit="%"
                ),
            ),
            returns=Returns("float", "The actual frequency.", "Hz"),
            binding=lambda sl, a: b.pwm(sl, "SQ2", a["freq"], a["duty_cycle"] / 100),
            example="sqr2(2000, 50)",
            effects=Effect(
                fx.SETS_SQ, lambda a, s: fx.pwm(s, "SQ2", a["freq"], a["duty_cycle"] / 100)
            ),
            category="PWM generator",
            legacy=True,
            see_also=("pwm_generate",),
        ),
        Function(
            name="sqrPWM",
            doc="Phase-locked square waves on SQR1-SQR4 (duty cycles and phases 0-1).",
            params=(
                _sqr_freq(),
                _fraction("h0", "Duty cycle of SQR1."),
                _fraction("p1", "Phase of SQR2."),
                _fraction("h1", "Duty cycle of SQR2."),
                _fraction("p2", "Phase of SQR3."),
                _fraction("h2", "Duty cycle of SQR3."),
                _fraction("p3", "Phase of SQR4."),
                _fraction("h3", "Duty cycle of SQR4."),
            ),
            returns=Returns("float", "The actual frequency.", "Hz"),
            binding=lambda sl, a: b.pwm(
                sl,
                ["SQ1", "SQ2", "SQ3", "SQ4"],
                a["freq"],
                [a["h0"], a["h1"], a["h2"], a["h3"]],
                [0, a["p1"], a["p2"], a["p3"]],
            ),
            example="sqrPWM(1000, 0.5, 0.25, 0.5, 0.5, 0.5, 0.75, 0.5)",
            effects=Effect(
                fx.SETS_SQ,
                lambda a, s: fx.pwm(
                    s,
                    ["SQ1", "SQ2", "SQ3", "SQ4"],
                    a["freq"],
                    [a["h0"], a["h1"], a["h2"], a["h3"]],
                    [0, a["p1"], a["p2"], a["p3"]],
                ),
            ),
            category="PWM generator",
            legacy=True,
            see_also=("pwm_generate",),
        ),
        Function(
            name="set_state",
            doc="Set SQR1-SQR4 high (1) or low (0); outputs not named stay as they are.",
            params=tuple(
                Param(f"SQR{i}", "bool", f"State of SQR{i} (SQ{i}).", None) for i in range(1, 5)
            ),
            returns=NOTHING,
            binding=lambda sl, a: b.pwm_states(sl, a["SQR1"], a["SQR2"], a["SQR3"], a["SQR4"]),
            example="set_state(SQR1=1, SQR2=0)",
            effects=Effect(
                fx.SETS_SQ,
                lambda a, s: fx.pwm_states(s, {f"SQ{i}": a[f"SQR{i}"] for i in range(1, 5)}),
            ),
            category="PWM generator",
            legacy=True,
            see_also=("pwm_set_state",),
        ),
        Function(
            name="get_states",
            doc="Read the logic level of ID1-ID4 (LA1-LA4).",
            params=(),
            returns=Returns("dict[str, bool]", "ID1..ID4: true when high."),
            binding=lambda sl, a: {"ID" + name[2:]: state for name, state in b.states(sl).items()},
            example="get_states()",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_get_states",),
        ),
        Function(
            name="get_state",
            doc="Read the logic level of one digital input.",
            params=(pin("input_id", LOGIC_INPUTS, "Input: ID1-ID4 (LA1-LA4)."),),
            returns=Returns("bool", "True when high."),
            binding=lambda sl, a: b.states(sl)[a["input_id"]],
            example="get_state('ID1')",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_get_states",),
        ),
        legacy(
            modern["logic_analyzer_measure_frequency"],
            "get_freq",
            "get_freq('ID1')",
            fixed={"simultaneous_oscilloscope": False},
            param_changes={
                "channel": {"doc": "Input: ID1-ID4 (LA1-LA4) or CNTR (FRQ).", "default": "FRQ"},
                # pslab 1.x waited 2 s; a call may hold the device 1 s by default.
                "timeout": {"default": min(1, mw)},
            },
        ),
        Function(
            name="DutyCycle",
            doc="Measure the period and duty cycle of a digital signal.",
            params=(
                pin("channel", LOGIC_INPUTS, "Input: ID1-ID4 (LA1-LA4).", "LA1"),
                wait("timeout", "Give up after this long.", 1, mw),
            ),
            returns=Returns("list[float]", "[period in s, duty cycle 0-1]; [-1, -1] on timeout."),
            binding=_duty_cycle,
            example="DutyCycle('ID1')",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_measure_duty_cycle",),
        ),
        Function(
            name="MeasureInterval",
            doc="Measure the time between an edge on one input and an edge on another.",
            params=(
                pin("channel1", LOGIC_INPUTS, "Input of the first edge."),
                pin("channel2", LOGIC_INPUTS, "Input of the second edge (may be the same)."),
                Param("edge1", "str", "First edge.", choices=tuple(EDGES)),
                Param("edge2", "str", "Second edge.", choices=tuple(EDGES)),
                wait("timeout", "Give up after this long.", 0.1, mw),
            ),
            returns=Returns(
                "float | null", "Seconds between the edges; null (nan) on timeout.", "s"
            ),
            binding=_interval,
            example="MeasureInterval('ID1', 'ID1', 'rising', 'falling')",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_measure_interval",),
        ),
        _edge_period("r2r_time", "rising", limits),
        _edge_period("f2f_time", "falling", limits),
        Function(
            name="countPulses",
            doc=(
                "Start your count of rising edges on a digital input; read it with "
                "readPulseCount(). Users counting one input each have their own count; the "
                "PSLab has one counter, so a count on another input (or a logic capture of "
                "3-4 channels) stops the others, whose next readPulseCount() says so (409)."
            ),
            params=(
                pin("channel", COUNTER_INPUTS, "Input: ID1-ID4, SEN (RES) or CNTR (FRQ).", "RES"),
            ),
            returns=NOTHING,
            binding=lambda sl, a: b.start_counting(sl, a["channel"]),
            example="countPulses('ID1')",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_count_pulses",),
        ),
        Function(
            name="readPulseCount",
            doc=(
                "Pulses counted since your countPulses() (400 without one; 409 when another "
                "count stopped it)."
            ),
            params=(),
            returns=Returns("int", "Pulses counted (the counter wraps at 65535)."),
            binding=lambda sl, a: b.pulse_count(sl),
            example="readPulseCount()",
            category="logic analyzer",
            legacy=True,
            see_also=("logic_analyzer_count_pulses",),
        ),
    ]
    return functions
