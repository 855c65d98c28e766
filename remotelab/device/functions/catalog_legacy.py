"""The pslab-remote (2017) function names, mapped onto pslab 4.x: the analog side.

pslab-remote evaluated strings against every method of a pslab 1.x
``ScienceLab``; these are the ones that measure or drive the instrument and
have a pslab 4.x counterpart (the digital ones are in ``catalog_legacy_digital``).
Parameter names are the old ones, so old strings with keywords
(``capture2(100, 2, TraceOneRemap='MIC')``) still work. Captures are never
triggered, as pslab 1.x's were not, and return ``[x, y1, ...]`` with x in µs, as
pslab 4.x does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remotelab.config import FunctionSettings
from remotelab.device.functions import bindings as b
from remotelab.device.functions import effects as fx
from remotelab.device.functions.checks import check_capture
from remotelab.device.functions.effects import Effect
from remotelab.device.functions.hardware import (
    ANALOG_INPUTS,
    PCS_RANGE,
    PV1_RANGE,
    PV2_RANGE,
    PV3_RANGE,
    SINE_MAX_FREQUENCY,
    SINE_MIN_FREQUENCY,
    SINE_OUTPUTS,
    WAVE_SHAPES,
    number,
    pin,
    samples_param,
    timegap_param,
    trace_names,
)
from remotelab.device.functions.params import REQUIRED, Param
from remotelab.device.functions.registry import Check, Function, Returns, legacy


def _capture_check(
    channels: int, samples: str, timegap: str, one: str | None, limits: FunctionSettings
) -> Check:
    def check(function: str, args: dict[str, Any]) -> None:
        check_capture(
            function,
            channels=channels,
            channel_one=args[one] if one else "CH1",
            samples=(samples, args[samples]),
            timegap=(timegap, args[timegap]),
            trigger=None,
            trigger_channel=None,
            max_seconds=limits.max_capture_seconds,
        )

    return check


def _capture_remapped(channels: int, what: str, limits: FunctionSettings) -> Function:
    """``capture2`` or ``capture4``: channel one is TraceOneRemap, then CH2, CH3, MIC."""
    ys = ", ".join(f"y{i}" for i in range(1, channels + 1))
    return Function(
        name=f"capture{channels}",
        doc=f"Capture {what}.",
        params=(
            samples_param("ns"),
            timegap_param("tg"),
            pin(
                "TraceOneRemap",
                ANALOG_INPUTS,
                "Analog input sampled as channel one (channel two is always CH2).",
                "CH1",
            ),
        ),
        returns=Returns("traces", f"[x, {ys}]: x in µs, y in volts.", "V"),
        trace_names=lambda a: trace_names(channels, a["TraceOneRemap"]),
        binding=lambda sl, a: b.capture(sl, channels, a["TraceOneRemap"], a["ns"], a["tg"]),
        example=f"capture{channels}(50, 10)",
        category="oscilloscope",
        legacy=True,
        see_also=("oscilloscope_capture",),
        check=_capture_check(channels, "ns", "tg", "TraceOneRemap", limits),
    )


def _freq(name: str = "freq") -> Param:
    return number(
        name,
        "Frequency (amplitude drops below 20 Hz and above 5 kHz).",
        low=SINE_MIN_FREQUENCY,
        high=SINE_MAX_FREQUENCY,
        unit="Hz",
    )


def _set_source(pv: str, rng: tuple[float, float], unit: str, binding: Any) -> Function:
    what = "current on PCS" if pv == "pcs" else f"voltage on {pv.upper()}"
    return Function(
        name=f"set_{pv}",
        doc=f"Set the {what}.",
        params=(number("val", f"The {what}.", low=rng[0], high=rng[1], unit=unit),),
        returns=Returns("float", f"The {what} now set.", unit),
        binding=lambda sl, a: binding(sl, a["val"]),
        example=f"set_{pv}({0.001 if pv == 'pcs' else 2.5})",
        effects=fx.sets_source(pv.upper(), "val"),
        category="power supply",
        legacy=True,
        see_also=("power_supply_set",),
    )


def _get_source(pv: str, unit: str) -> Function:
    what = "current on PCS" if pv == "pcs" else f"voltage on {pv.upper()}"
    return Function(
        name=f"get_{pv}",
        doc=f"The {what} for you (the bench's unless you set it).",
        params=(),
        returns=Returns("float | null", f"The {what}.", unit),
        binding=lambda sl, a: b.power(sl)[pv],
        example=f"get_{pv}()",
        category="power supply",
        legacy=True,
        see_also=("power_supply_get",),
    )


def _sine(n: int) -> Function:
    pin_name = f"SI{n}"
    return Function(
        name=f"set_sine{n}",
        doc=f"Output a ±3.3 V sine wave on {pin_name} (W{n}).",
        params=(_freq(),),
        returns=Returns("float", "The actual frequency.", "Hz"),
        binding=lambda sl, a: b.sine(sl, pin_name, a["freq"], "sine"),
        example=f"set_sine{n}(1000)",
        effects=fx.sets_wave(pin_name, "freq", "sine"),
        category="waveform generator",
        legacy=True,
        see_also=("waveform_generate",),
    )


def _wave(n: int) -> Function:
    pin_name = f"SI{n}"
    return Function(
        name=f"set_w{n}",
        doc=f"Output a waveform on {pin_name} (W{n}), optionally loading a sine or triangle.",
        params=(
            _freq(),
            Param(
                "waveType",
                "str",
                "Shape to load; None keeps the loaded table.",
                None,
                choices=WAVE_SHAPES,
            ),
        ),
        returns=Returns("float", "The actual frequency.", "Hz"),
        binding=lambda sl, a: b.sine(sl, pin_name, a["freq"], a["waveType"]),
        example=f"set_w{n}(500, 'tria')",
        effects=fx.sets_wave(pin_name, "freq", shape_arg="waveType"),
        category="waveform generator",
        legacy=True,
        see_also=("waveform_generate", "waveform_load_function"),
    )


def functions(limits: FunctionSettings, modern: Mapping[str, Function]) -> list[Function]:
    """The legacy multimeter, oscilloscope, waveform, power and device functions.

    ``modern`` holds the pslab 4.x style functions by name: the legacy names that
    only spell one of them the old way are derived from it (see :func:`legacy`).
    """
    analog = "Analog input: CH1, CH2, CH3, MIC, CAP, RES (SEN), VOL (AN8) or AN4."
    functions = [
        legacy(
            modern["measure_voltage"],
            "get_voltage",
            "get_voltage('CH1')",
            rename={"channel": "channel_name"},
            param_changes={"channel_name": {"doc": analog, "default": REQUIRED}},
        ),
        Function(
            name="get_average_voltage",
            doc="Average several voltage readings on an analog input.",
            params=(
                pin("channel_name", ANALOG_INPUTS, analog),
                number(
                    "samples",
                    "Readings to average (each is itself the mean of 16 ADC samples).",
                    low=1,
                    high=limits.max_average_samples,
                    integer=True,
                    default=1,
                ),
            ),
            returns=Returns("float", "The mean voltage.", "V"),
            binding=lambda sl, a: b.average_voltage(sl, a["channel_name"], a["samples"]),
            example="get_average_voltage('AN8', 5)",
            category="multimeter",
            legacy=True,
            see_also=("measure_voltage",),
        ),
        legacy(
            modern["measure_resistance"],
            "get_resistance",
            "get_resistance()",
            doc="Measure a resistor connected between SEN (RES) and GND.",
            returns=Returns(
                "float | null", "Resistance; null (with a note) when SEN is open.", "Ω"
            ),
        ),
        legacy(modern["measure_capacitance"], "get_capacitance", "get_capacitance()"),
        Function(
            name="capture1",
            doc="Capture one analog input (untriggered).",
            params=(pin("ch", ANALOG_INPUTS, analog), samples_param("ns"), timegap_param("tg")),
            returns=Returns("traces", "[x, y]: x in µs, y in volts.", "V"),
            trace_names=lambda a: [a["ch"]],
            binding=lambda sl, a: b.capture(sl, 1, a["ch"], a["ns"], a["tg"]),
            example="capture1('CH1', 100, 10)",
            category="oscilloscope",
            legacy=True,
            see_also=("oscilloscope_capture",),
            check=_capture_check(1, "ns", "tg", "ch", limits),
        ),
        _capture_remapped(2, "two channels: TraceOneRemap (CH1 by default) and CH2", limits),
        _capture_remapped(
            4, "four channels: TraceOneRemap (CH1 by default), CH2, CH3 and MIC", limits
        ),
        legacy(modern["oscilloscope_select_range"], "select_range", "select_range('CH1', 8)"),
        _sine(1),
        _sine(2),
        _wave(1),
        _wave(2),
        Function(
            name="set_wave",
            doc="Output the loaded waveform on W1 (SI1) or W2 (SI2).",
            params=(pin("chan", SINE_OUTPUTS, "Output: W1 or W2 (SI1, SI2)."), _freq()),
            returns=Returns("float", "The actual frequency.", "Hz"),
            binding=lambda sl, a: b.sine(sl, a["chan"], a["freq"]),
            example="set_wave('W1', 1000)",
            effects=fx.sets_wave_at("chan", "freq"),
            category="waveform generator",
            legacy=True,
            see_also=("waveform_generate",),
        ),
        Function(
            name="set_waves",
            doc="Output waveforms on both W1 and W2 with a phase difference.",
            params=(
                _freq(),
                number(
                    "phase",
                    "Phase of W2 relative to W1.",
                    low=0,
                    high=360,
                    high_exclusive=True,
                    unit="degrees",
                ),
                Param(
                    "f2",
                    "float",
                    "Frequency of W2; None uses freq.",
                    None,
                    minimum=SINE_MIN_FREQUENCY,
                    maximum=SINE_MAX_FREQUENCY,
                    unit="Hz",
                ),
            ),
            returns=Returns("float", "The actual frequency of W1.", "Hz"),
            binding=lambda sl, a: b.waves(
                sl, ["SI1", "SI2"], [a["freq"], a["f2"] or a["freq"]], a["phase"]
            )[0],
            example="set_waves(1000, 90)",
            effects=Effect(
                ("SI1", "SI2"),
                lambda a, s: fx.waves(
                    s, ["SI1", "SI2"], [a["freq"], a["f2"] or a["freq"]], a["phase"]
                ),
            ),
            category="waveform generator",
            legacy=True,
            see_also=("waveform_generate",),
        ),
        legacy(
            modern["waveform_load_function"],
            "load_equation",
            "load_equation('W1', 'tria')",
            doc="Load a sine or triangle table on W1 or W2 (no custom equations).",
            rename={"channel": "chan"},
            param_changes={"chan": {"doc": "Output: W1 or W2 (SI1, SI2)."}},
        ),
        _set_source("pv1", PV1_RANGE, "V", b.set_pv1),
        _set_source("pv2", PV2_RANGE, "V", b.set_pv2),
        _set_source("pv3", PV3_RANGE, "V", b.set_pv3),
        _set_source("pcs", PCS_RANGE, "A", b.set_pcs),
        _get_source("pv1", "V"),
        _get_source("pv2", "V"),
        _get_source("pv3", "V"),
        _get_source("pcs", "A"),
        legacy(modern["temperature"], "get_temperature", "get_temperature()"),
        Function(
            name="get_version",
            doc="The PSLab's hardware version string.",
            params=(),
            returns=Returns("str", "Version, e.g. 'PSLab V6'."),
            binding=lambda sl, a: b.version(sl),
            example="get_version()",
            category="device",
            legacy=True,
        ),
    ]
    return functions
