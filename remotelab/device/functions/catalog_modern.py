"""Functions named after the pslab 4.x API, for new scripts.

``instrument.method`` becomes ``instrument_method`` (function strings allow no
attributes): ``multimeter.measure_voltage`` is ``measure_voltage``,
``oscilloscope.capture`` is ``oscilloscope_capture``, and so on. Differences
from pslab are stated in each doc: chiefly, nothing persists between calls
(a capture without ``trigger`` is untriggered, whatever came before).
"""

from __future__ import annotations

from typing import Any

from remotelab.config import FunctionSettings
from remotelab.device.functions import bindings as b
from remotelab.device.functions import effects as fx
from remotelab.device.functions.checks import (
    check_capture,
    check_distinct,
    check_modes,
    check_per_channel,
)
from remotelab.device.functions.effects import Effect
from remotelab.device.functions.hardware import (
    ANALOG_INPUTS,
    FREQUENCY_INPUTS,
    GAIN_INPUTS,
    LOGIC_INPUTS,
    LOGIC_MODES,
    MAX_E2E_TIME,
    MAX_EVENTS,
    MAX_REFERENCE_PRESCALER,
    PCS_RANGE,
    PV1_RANGE,
    PV2_RANGE,
    PV3_RANGE,
    PWM_MAX_FREQUENCY,
    PWM_MIN_FREQUENCY,
    PWM_OUTPUTS,
    PWM_STATES,
    SINE_MAX_FREQUENCY,
    SINE_MIN_FREQUENCY,
    SINE_OUTPUTS,
    TRIGGER_RANGE,
    VOLTAGE_RANGES,
    WAVE_SHAPES,
    aliases_for,
    number,
    pin,
    samples_param,
    timegap_param,
    trace_names,
    wait,
)
from remotelab.device.functions.params import Param
from remotelab.device.functions.registry import NOTHING, Check, Function, Returns


def _scope_check(limits: FunctionSettings) -> Check:
    def check(function: str, args: dict[str, Any]) -> None:
        channels = args["channels"]
        check_capture(
            function,
            channels=1 if isinstance(channels, str) else channels,
            channel_one=channels if isinstance(channels, str) else "CH1",
            samples=("samples", args["samples"]),
            timegap=("timegap", args["timegap"]),
            trigger=args["trigger"],
            trigger_channel=args["trigger_channel"],
            max_seconds=limits.max_capture_seconds,
        )

    return check


def _scope_capture(sl: Any, a: dict[str, Any]) -> Any:
    channels = a["channels"]
    return b.capture(
        sl,
        1 if isinstance(channels, str) else channels,
        channels if isinstance(channels, str) else "CH1",
        a["samples"],
        a["timegap"],
        a["trigger"],
        a["trigger_channel"],
    )


def _waveform_check(function: str, args: dict[str, Any]) -> None:
    check_distinct(function, args, "channels")
    check_per_channel(function, args, "channels", "frequency")


def _pwm_check(function: str, args: dict[str, Any]) -> None:
    check_per_channel(function, args, "channels", "duty_cycles", "phases")


def _source(name: str, rng: tuple[float, float], unit: str, doc: str) -> Param:
    return number(name, doc, low=rng[0], high=rng[1], unit=unit, default=None)


def functions(limits: FunctionSettings) -> list[Function]:
    """The pslab 4.x style functions, with the policy bounds of ``limits``."""
    mw = limits.max_wait_seconds
    return [
        Function(
            name="measure_voltage",
            doc="Measure the voltage on an analog input (CH1 and CH2 autorange).",
            params=(pin("channel", ANALOG_INPUTS, "Analog input to measure.", "VOL"),),
            returns=Returns("float", "The voltage.", "V"),
            binding=lambda sl, a: b.voltage(sl, a["channel"]),
            example="measure_voltage('CH1')",
            category="multimeter",
        ),
        Function(
            name="measure_resistance",
            doc="Measure a resistor connected between RES and GND.",
            params=(),
            returns=Returns(
                "float | null", "Resistance; null (with a note) when RES is open.", "Ω"
            ),
            binding=lambda sl, a: b.resistance(sl),
            example="measure_resistance()",
            category="multimeter",
        ),
        Function(
            name="measure_capacitance",
            doc=(
                "Measure a capacitor connected between CAP and GND: charged by the CTMU's "
                "constant current up to about 9 µF (as pslab does), larger ones (to about "
                "220 µF) timed by their discharge through 10 kΩ (a fit that does not depend "
                "on when the discharge starts, unlike pslab's). Both subtract CAP's stray "
                "capacitance. Beyond about 300 µF the PSLab cannot measure: an out_of_range "
                "error (422)."
            ),
            params=(),
            returns=Returns("float", "Capacitance.", "F"),
            binding=lambda sl, a: b.capacitance(sl),
            example="measure_capacitance()",
            category="multimeter",
        ),
        Function(
            name="oscilloscope_capture",
            doc="Capture 1-4 channels (CH1, CH2, CH3, MIC) or one named analog input.",
            params=(
                Param(
                    "channels",
                    "int | str",
                    "How many channels to sample (1-4: CH1, CH2, CH3, MIC in that order), "
                    "or the name of one analog input.",
                    choices=ANALOG_INPUTS,
                    aliases=aliases_for(ANALOG_INPUTS),
                    minimum=1,
                    maximum=4,
                ),
                samples_param(),
                timegap_param(),
                number(
                    "trigger",
                    "Wait for a rising crossing of this voltage (times out after about 8 ms); "
                    "None captures at once.",
                    low=TRIGGER_RANGE[0],
                    high=TRIGGER_RANGE[1],
                    unit="V",
                    default=None,
                ),
                pin(
                    "trigger_channel",
                    ANALOG_INPUTS,
                    "Sampled channel to trigger on; the first one when None.",
                    None,
                ),
            ),
            returns=Returns("traces", "[x, y1, ...]: x in µs, then volts per channel.", "V"),
            trace_names=lambda a: (
                [a["channels"]] if isinstance(a["channels"], str) else trace_names(a["channels"])
            ),
            binding=_scope_capture,
            example="oscilloscope_capture(2, 500, 2)",
            category="oscilloscope",
            check=_scope_check(limits),
        ),
        Function(
            name="oscilloscope_select_range",
            doc="Set the input range (gain) of CH1 or CH2 for later captures.",
            params=(
                pin("channel", GAIN_INPUTS, "Channel whose gain to set."),
                Param(
                    "voltage_range",
                    "float",
                    "Full-scale range: ±16 V (gain 1) down to ±0.5 V (gain 32).",
                    choices=VOLTAGE_RANGES,
                    unit="V",
                ),
            ),
            returns=NOTHING,
            binding=lambda sl, a: b.select_range(sl, a["channel"], a["voltage_range"]),
            example="oscilloscope_select_range('CH1', 4)",
            effects=fx.sets_range(),
            category="oscilloscope",
        ),
        Function(
            name="waveform_generate",
            doc="Output the loaded waveform (a ±3.3 V sine by default) on SI1 and/or SI2.",
            params=(
                Param(
                    "channels",
                    "str | list[str]",
                    "SI1, SI2, or both as a list.",
                    choices=SINE_OUTPUTS,
                    aliases=aliases_for(SINE_OUTPUTS),
                    max_items=2,
                ),
                Param(
                    "frequency",
                    "float | list[float]",
                    "Frequency, or one per channel. Below 20 Hz the amplitude drops (AC "
                    "coupling); above 5 kHz as well.",
                    minimum=SINE_MIN_FREQUENCY,
                    maximum=SINE_MAX_FREQUENCY,
                    unit="Hz",
                    max_items=2,
                ),
                number(
                    "phase",
                    "Phase of SI2 relative to SI1 when both are given.",
                    low=0,
                    high=360,
                    high_exclusive=True,
                    unit="degrees",
                    default=0,
                ),
            ),
            returns=Returns("list[float]", "The actual frequency of each channel.", "Hz"),
            binding=lambda sl, a: b.waves(sl, a["channels"], a["frequency"], a["phase"]),
            example="waveform_generate('SI1', 1000)",
            effects=Effect(
                ("SI1", "SI2"),
                lambda a, s: fx.waves(s, a["channels"], a["frequency"], a["phase"]),
            ),
            category="waveform generator",
            check=_waveform_check,
        ),
        Function(
            name="waveform_load_function",
            doc="Load a sine or triangle table on SI1 or SI2 (used by the next generate).",
            params=(
                pin("channel", SINE_OUTPUTS, "Output whose table to load."),
                Param("function", "str", "Waveform shape.", choices=WAVE_SHAPES),
            ),
            returns=NOTHING,
            binding=lambda sl, a: b.load_shape(sl, a["channel"], a["function"]),
            example="waveform_load_function('SI1', 'tria')",
            effects=Effect(
                ("SI1", "SI2"), lambda a, s: fx.load_shape(s, a["channel"], a["function"])
            ),
            category="waveform generator",
        ),
        Function(
            name="pwm_generate",
            doc="Output square waves on SQ1-SQ4 (all outputs share one frequency).",
            params=(
                Param(
                    "channels",
                    "str | list[str]",
                    "One output or a list of outputs; the others keep their duty cycle.",
                    choices=PWM_OUTPUTS,
                    aliases=aliases_for(PWM_OUTPUTS),
                    max_items=4,
                ),
                number(
                    "frequency",
                    "Frequency shared by all outputs.",
                    low=PWM_MIN_FREQUENCY,
                    high=PWM_MAX_FREQUENCY,
                    unit="Hz",
                ),
                Param(
                    "duty_cycles",
                    "float | list[float]",
                    "High fraction, 0-1: one for all channels or one per channel.",
                    minimum=0,
                    maximum=1,
                    max_items=4,
                ),
                Param(
                    "phases",
                    "float | list[float]",
                    "Phase, 0-1 of a period: a step between successive channels, or one "
                    "per channel.",
                    default=0,
                    minimum=0,
                    maximum=1,
                    max_items=4,
                ),
            ),
            returns=Returns("float", "The actual frequency.", "Hz"),
            binding=lambda sl, a: b.pwm(
                sl, a["channels"], a["frequency"], a["duty_cycles"], a["phases"]
            ),
            example="pwm_generate('SQ1', 1000, 0.5)",
            effects=Effect(
                fx.SETS_SQ,
                lambda a, s: fx.pwm(
                    s, a["channels"], a["frequency"], a["duty_cycles"], a["phases"]
                ),
            ),
            category="PWM generator",
            check=_pwm_check,
        ),
        Function(
            name="pwm_set_state",
            doc="Set SQ1-SQ4 high or low; None (or 'PWM') leaves an output as it is.",
            params=tuple(
                Param(
                    f"sq{i}",
                    "bool | str",
                    f"State of SQ{i}: True/'HIGH', False/'LOW'.",
                    default=None,
                    choices=PWM_STATES,
                )
                for i in range(1, 5)
            ),
            returns=NOTHING,
            binding=lambda sl, a: b.pwm_states(sl, a["sq1"], a["sq2"], a["sq3"], a["sq4"]),
            example="pwm_set_state(sq1=True, sq2='LOW')",
            effects=Effect(
                fx.SETS_SQ,
                lambda a, s: fx.pwm_states(s, {f"SQ{i}": a[f"sq{i}"] for i in range(1, 5)}),
            ),
            category="PWM generator",
        ),
        Function(
            name="pwm_map_reference_clock",
            doc="Output the 128 MHz reference clock divided by 2**prescaler on SQ pins.",
            params=(
                Param(
                    "channels",
                    "str | list[str]",
                    "Output or outputs to drive.",
                    choices=PWM_OUTPUTS,
                    aliases=aliases_for(PWM_OUTPUTS),
                    max_items=4,
                ),
                number(
                    "prescaler",
                    "Frequency is 128 MHz / 2**prescaler.",
                    low=0,
                    high=MAX_REFERENCE_PRESCALER,
                    integer=True,
                ),
            ),
            returns=Returns("float", "The output frequency.", "Hz"),
            binding=lambda sl, a: b.reference_clock(sl, a["channels"], a["prescaler"]),
            example="pwm_map_reference_clock('SQ4', 3)",
            effects=Effect(
                fx.SETS_SQ,
                lambda a, s: fx.reference_clock(s, a["channels"], a["prescaler"]),
            ),
            category="PWM generator",
        ),
        Function(
            name="power_supply_set",
            doc="Set any of PV1, PV2, PV3 (volts) and PCS (amperes); None leaves one as is.",
            params=(
                _source("pv1", PV1_RANGE, "V", "Voltage on PV1."),
                _source("pv2", PV2_RANGE, "V", "Voltage on PV2."),
                _source("pv3", PV3_RANGE, "V", "Voltage on PV3."),
                _source(
                    "pcs",
                    PCS_RANGE,
                    "A",
                    "Current from PCS (0-3.3 mA; at most 3.3 V / (1 kΩ + load) flows).",
                ),
            ),
            returns=Returns(
                "dict[str, float | null]", "The values now set: pv1, pv2, pv3, pcs (null: unset)."
            ),
            binding=b.set_power,
            example="power_supply_set(pv1=1.5, pcs=0.001)",
            effects=fx.sets_power("pv1", "pv2", "pv3", "pcs"),
            category="power supply",
        ),
        Function(
            name="power_supply_get",
            doc="The values of PV1, PV2, PV3 and PCS for you (the bench's unless you set them).",
            params=(),
            returns=Returns("dict[str, float | null]", "pv1, pv2, pv3 (V) and pcs (A)."),
            binding=lambda sl, a: b.power(sl),
            example="power_supply_get()",
            category="power supply",
        ),
        Function(
            name="logic_analyzer_capture",
            doc="Capture timestamps of logic events on up to four digital inputs.",
            params=(
                Param(
                    "channels",
                    "int | str | list[str]",
                    "How many of LA1-LA4 to capture (1-4), one input's name, or a list of "
                    "two names.",
                    choices=FREQUENCY_INPUTS,
                    aliases=aliases_for(FREQUENCY_INPUTS),
                    minimum=1,
                    maximum=4,
                    min_items=2,
                    max_items=2,
                ),
                number(
                    "events",
                    "Events to capture per channel.",
                    low=1,
                    high=MAX_EVENTS,
                    integer=True,
                    default=MAX_EVENTS,
                ),
                # pslab waits 1 s; with 2500 events to fetch (0.1 s) that would pass the
                # 1 s a call may hold the device by default.
                wait("timeout", "Stop waiting for events after this long.", 0.5, mw),
                Param(
                    "modes",
                    "list[str]",
                    "Event to capture on each channel.",
                    default=("any", "any", "any", "any"),
                    choices=LOGIC_MODES,
                    max_items=4,
                ),
                number(
                    "e2e_time",
                    "Longest expected time between events (3-4 channel mode only).",
                    low=0,
                    high=MAX_E2E_TIME,
                    unit="s",
                    default=None,
                ),
            ),
            returns=Returns("list[list[float]]", "Event timestamps per channel.", "µs"),
            binding=lambda sl, a: b.capture_events(
                sl, a["channels"], a["events"], a["timeout"], a["modes"], a["e2e_time"]
            ),
            example="logic_analyzer_capture('LA1', 10)",
            category="logic analyzer",
            check=check_modes,
        ),
        Function(
            name="logic_analyzer_measure_frequency",
            doc="Measure the frequency of a digital signal.",
            params=(
                pin("channel", FREQUENCY_INPUTS, "Digital input."),
                Param(
                    "simultaneous_oscilloscope",
                    "bool",
                    "Measure in firmware so the oscilloscope can run too (may return 0).",
                    default=False,
                ),
                wait("timeout", "Give up (and return 0) after this long.", 1, mw),
            ),
            returns=Returns("float", "The frequency; 0 when no signal arrived.", "Hz"),
            binding=lambda sl, a: b.frequency(
                sl, a["channel"], a["timeout"], a["simultaneous_oscilloscope"]
            ),
            example="logic_analyzer_measure_frequency('LA1')",
            category="logic analyzer",
        ),
        Function(
            name="logic_analyzer_measure_duty_cycle",
            doc="Measure the period and duty cycle of a digital signal.",
            params=(
                pin("channel", LOGIC_INPUTS, "Digital input."),
                wait("timeout", "Give up after this long.", 1, mw),
            ),
            returns=Returns(
                "list[float] | null", "[period in µs, duty cycle 0-1]; null when no signal."
            ),
            binding=lambda sl, a: b.duty_cycle(sl, a["channel"], a["timeout"]),
            example="logic_analyzer_measure_duty_cycle('LA1')",
            category="logic analyzer",
        ),
        Function(
            name="logic_analyzer_measure_interval",
            doc="Measure the time between an event on one input and an event on another.",
            params=(
                Param(
                    "channels",
                    "list[str]",
                    "Two inputs (may be the same).",
                    choices=LOGIC_INPUTS,
                    aliases=aliases_for(LOGIC_INPUTS),
                    min_items=2,
                    max_items=2,
                ),
                Param(
                    "modes",
                    "list[str]",
                    "The event to wait for on each input.",
                    choices=LOGIC_MODES,
                    min_items=2,
                    max_items=2,
                ),
                wait("timeout", "Give up after this long.", 1, mw),
            ),
            returns=Returns(
                "float | null",
                "Time from the first event to the second (negative when the second came "
                "first); null when an event never came.",
                "µs",
            ),
            binding=lambda sl, a: b.interval(sl, a["channels"], a["modes"], a["timeout"]),
            example="logic_analyzer_measure_interval(['LA1', 'LA1'], ['rising', 'falling'])",
            category="logic analyzer",
        ),
        Function(
            name="logic_analyzer_get_states",
            doc="Read the current logic level of LA1-LA4.",
            params=(),
            returns=Returns("dict[str, bool]", "LA1..LA4: true when high."),
            binding=lambda sl, a: b.states(sl),
            example="logic_analyzer_get_states()",
            category="logic analyzer",
        ),
        Function(
            name="logic_analyzer_count_pulses",
            doc=(
                "Count rising edges on a digital input during an interval (on the device's "
                "one pulse counter: see countPulses)."
            ),
            params=(
                pin("channel", FREQUENCY_INPUTS, "Digital input.", "FRQ"),
                wait("interval", "How long to count.", 1, mw),
            ),
            returns=Returns("int", "Pulses counted (the counter wraps at 65535)."),
            binding=lambda sl, a: b.count_pulses(sl, a["channel"], a["interval"]),
            example="logic_analyzer_count_pulses('LA1', 0.1)",
            category="logic analyzer",
        ),
        Function(
            name="temperature",
            doc="The temperature of the PSLab's microcontroller.",
            params=(),
            returns=Returns("float", "Temperature.", "°C"),
            binding=lambda sl, a: b.mcu_temperature(sl),
            example="temperature()",
            category="device",
        ),
    ]
