"""What each function sets on the instrument, computed from its checked arguments (pure).

A function that changes an output (:mod:`remotelab.device.outputs`) declares an
:class:`Effect` beside it in the catalog: the outputs it may set (for the docs) and a
function from its arguments and the caller's outputs before the call to the new values.
The device owner records them in the caller's context after the call ran, so a later
call of the same user finds them again, and nobody else does. Functions that only read
declare none.

The rules mirror pslab 4.x (and the bindings): a waveform generated without a shape keeps
the loaded table (a flat ``off`` table counts as none: the sine is loaded); starting SI1
or SI2 alone forgets their common phase; SQ1-SQ4 share one timer, so a new PWM frequency
reaches every pin in PWM, and they share one clock divider.

:func:`check_outputs` checks output values against the same ranges as the function
arguments that set them (the bench file, ``PUT /v1/device/bench``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from remotelab.device.functions.hardware import (
    MAX_REFERENCE_PRESCALER,
    PCS_RANGE,
    PV1_RANGE,
    PV2_RANGE,
    PV3_RANGE,
    PWM_MAX_FREQUENCY,
    PWM_MIN_FREQUENCY,
    SINE_MAX_FREQUENCY,
    SINE_MIN_FREQUENCY,
    VOLTAGE_RANGES,
)
from remotelab.device.functions.params import format_number
from remotelab.device.outputs import (
    SQ_OUTPUTS,
    Outputs,
    Shape,
    Square,
    Value,
    Wave,
    check_invariants,
    with_phase,
)
from remotelab.errors import InputError

Changes = dict[str, Value]


@dataclass(frozen=True)
class Effect:
    """The outputs a function may set, and how: ``compute(args, before) -> new values``.

    ``args`` are the checked arguments by the *modern* function's parameter names;
    ``before`` the caller's outputs before the call. The result holds only outputs the
    call sets (their values may equal the old ones).
    """

    outputs: tuple[str, ...]
    compute: Callable[[dict[str, Any], Outputs], Changes]

    def __call__(self, args: dict[str, Any], before: Outputs) -> Changes:
        return self.compute(args, before)


# --- waveform generator ---------------------------------------------------------------


def _playing(before: Outputs, channel: str) -> Shape:
    """The shape a generate without a shape plays: the loaded one, or a sine after ``off``."""
    shape = before.wave(channel).shape
    return "sine" if shape == "off" else shape


def wave(before: Outputs, channel: str, frequency: float, shape: Shape | None = None) -> Changes:
    """SI1 or SI2 started alone at ``frequency`` (with ``shape`` loaded, if given)."""
    changes: Changes = {channel: Wave(shape or _playing(before, channel), float(frequency))}
    if channel == "SI1":  # SI1 restarted alone: SI2's phase to it is lost
        changes["SI2"] = with_phase(before.wave("SI2"), None)
    return changes


def waves(
    before: Outputs, channels: str | list[str], frequency: float | list[float], phase: float
) -> Changes:
    """``waveform_generate``: one channel, or both started together with a phase."""
    if isinstance(channels, str):
        channels = [channels]
    frequencies = frequency if isinstance(frequency, list) else [frequency] * len(channels)
    if len(channels) == 1:
        return wave(before, channels[0], frequencies[0])
    by_pin = dict(zip(channels, frequencies, strict=True))
    return {
        "SI1": Wave(_playing(before, "SI1"), float(by_pin["SI1"])),
        "SI2": Wave(_playing(before, "SI2"), float(by_pin["SI2"]), float(phase)),
    }


def load_shape(before: Outputs, channel: str, shape: Shape) -> Changes:
    """A table loaded: the output plays it at the rate it had (its phase is kept)."""
    old = before.wave(channel)
    return {channel: Wave(shape, old.frequency, old.phase)}


# --- PWM generator ---------------------------------------------------------------------


def _group(before: Outputs, pins: Mapping[str, Square]) -> Changes:
    """All four SQ pins after ``pins`` changed (the group is recorded whole: one timer)."""
    return {name: pins.get(name, before.square(name)) for name in SQ_OUTPUTS}


def pwm(
    before: Outputs,
    channels: str | list[str],
    frequency: float,
    duty_cycles: float | list[float],
    phases: float | list[float] = 0,
) -> Changes:
    """pslab's ``PWMGenerator.generate``: the named pins start; other PWM pins follow the
    new frequency; levels and clock pins stay."""
    if isinstance(channels, str):
        channels = [channels]
    duties = duty_cycles if isinstance(duty_cycles, list) else [duty_cycles] * len(channels)
    steps = phases if isinstance(phases, list) else [i * phases for i in range(len(channels))]
    pins = {
        name: Square.pwm(frequency, duty, phase)
        for name, duty, phase in zip(channels, duties, steps, strict=True)
    }
    for name in SQ_OUTPUTS:
        old = before.square(name)
        if name not in pins and old.mode == "pwm":
            pins[name] = Square.pwm(frequency, old.duty or 0.0, old.phase or 0.0)
    return _group(before, pins)


def pwm_states(before: Outputs, states: Mapping[str, Any]) -> Changes:
    """pslab's ``set_state``: True/'HIGH' or False/'LOW' sets a level; None/'PWM' keeps."""
    pins = {
        name: Square.level(state in (True, "HIGH"))
        for name, state in states.items()
        if state in (True, False, "HIGH", "LOW")
    }
    return _group(before, pins)


def reference_clock(before: Outputs, channels: str | list[str], prescaler: int) -> Changes:
    """The named pins output the reference clock; every clock pin shares the divider."""
    if isinstance(channels, str):
        channels = [channels]
    pins = {name: Square.clock(prescaler) for name in channels}
    for name in SQ_OUTPUTS:
        if name not in pins and before.square(name).mode == "clock":
            pins[name] = Square.clock(prescaler)
    return _group(before, pins)


# --- declarations used by the catalogs --------------------------------------------------


def sets_wave(channel: str, freq: str, shape: Shape | None = None, shape_arg: str = "") -> Effect:
    """SI ``channel`` started at ``args[freq]`` with ``shape`` (or ``args[shape_arg]``)."""
    outputs = ("SI1", "SI2") if channel == "SI1" else (channel,)

    def compute(a: dict[str, Any], s: Outputs) -> Changes:
        return wave(s, channel, a[freq], shape or (a[shape_arg] if shape_arg else None))

    return Effect(outputs, compute)


def sets_wave_at(channel_arg: str, freq: str) -> Effect:
    """The SI output named by ``args[channel_arg]`` started at ``args[freq]``."""
    return Effect(("SI1", "SI2"), lambda a, s: wave(s, a[channel_arg], a[freq]))


def sets_power(*names: str) -> Effect:
    """Sources by argument name (``pv1``... ``pcs``): each given (not None) is set."""

    def compute(a: dict[str, Any], s: Outputs) -> Changes:
        return {n.upper(): float(a[n]) for n in names if a[n] is not None}

    return Effect(tuple(n.upper() for n in names), compute)


def sets_source(output: str, arg: str) -> Effect:
    return Effect((output,), lambda a, s: {output: float(a[arg])})


def sets_range(channel: str = "channel", voltage_range: str = "voltage_range") -> Effect:
    return Effect(
        ("CH1_RANGE", "CH2_RANGE"),
        lambda a, s: {f"{a[channel]}_RANGE": float(a[voltage_range])},
    )


SETS_SQ: tuple[str, ...] = SQ_OUTPUTS


# --- range checks -----------------------------------------------------------------------

_SOURCES = {"PV1": PV1_RANGE, "PV2": PV2_RANGE, "PV3": PV3_RANGE, "PCS": PCS_RANGE}
_UNITS = {"PV1": "V", "PV2": "V", "PV3": "V", "PCS": "A"}


def _within(where: str, value: float, low: float, high: float, unit: str = "", **kw: Any) -> None:
    exclusive_high = kw.get("exclusive_high", False)
    if value < low or (value >= high if exclusive_high else value > high):
        span = (
            f"at least {format_number(low)} and less than {format_number(high)}"
            if exclusive_high
            else f"between {format_number(low)} and {format_number(high)}"
        )
        unit = f" {unit}" if unit else ""
        raise InputError(
            f"{where} must be {span}{unit}, got {format_number(value)}",
            details={"output": where.split(".")[0], "minimum": low, "maximum": high},
        )


def check_value(name: str, value: Value) -> None:
    """Check one output value against the ranges its functions accept. Raises InputError."""
    if isinstance(value, Wave):
        _within(f"{name}.frequency", value.frequency, SINE_MIN_FREQUENCY, SINE_MAX_FREQUENCY, "Hz")
        if value.phase is not None:
            _within(f"{name}.phase", value.phase, 0, 360, "degrees", exclusive_high=True)
    elif isinstance(value, Square):
        if value.mode == "pwm":
            assert value.frequency is not None and value.duty is not None
            _within(f"{name}.frequency", value.frequency, PWM_MIN_FREQUENCY, PWM_MAX_FREQUENCY)
            _within(f"{name}.duty", value.duty, 0, 1)
            _within(f"{name}.phase", value.phase or 0.0, 0, 1)
        elif value.mode == "clock":
            assert value.prescaler is not None
            _within(f"{name}.prescaler", value.prescaler, 0, MAX_REFERENCE_PRESCALER)
    elif name in _SOURCES:
        low, high = _SOURCES[name]
        _within(name, value, low, high, _UNITS[name])
    elif value not in VOLTAGE_RANGES:
        allowed = ", ".join(format_number(v) for v in VOLTAGE_RANGES)
        raise InputError(
            f"{name} must be one of {allowed} (volts), got {format_number(value)}",
            details={"output": name, "allowed": list(VOLTAGE_RANGES)},
        )


def check_outputs(base: Outputs, changes: Mapping[str, Value]) -> Outputs:
    """``base`` with ``changes``, each checked like the function arguments that set it,
    and the whole checked for consistency (one PWM frequency, one clock divider)."""
    for name, value in changes.items():
        check_value(name, value)
    outputs = base.replace(changes)
    check_invariants(outputs)
    return outputs
