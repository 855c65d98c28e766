"""The whitelist: every function a function string may call, bound onto pslab 4.x.

``default_registry()`` is what the server uses; ``build_registry(limits)`` builds
one with other policy bounds (the ``max_wait_seconds`` and
``max_capture_seconds`` limits become parameter ranges).

Two tables here complete the catalogs' declarations: which functions are shared
readings, and how long each function holds the device (its expected device time, from
its arguments; the rules and their figures are in :mod:`.timing`).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any, Final

from remotelab.config import FunctionSettings
from remotelab.device.functions import catalog_legacy, catalog_legacy_digital, catalog_modern
from remotelab.device.functions import timing as t
from remotelab.device.functions.parse import parse_call
from remotelab.device.functions.registry import Registry

#: Readings: they measure and change nothing the next call could notice (no output, no
#: gain, no counter is left set differently). Identical calls of these that wait at the
#: same moment are answered by one measurement, as a class reading one meter would be.
SHARED_READINGS = frozenset(
    {
        # pslab 4.x style
        "measure_voltage",
        "measure_resistance",
        "measure_capacitance",
        "oscilloscope_capture",
        "power_supply_get",
        "logic_analyzer_measure_frequency",
        "logic_analyzer_measure_duty_cycle",
        "logic_analyzer_measure_interval",
        "logic_analyzer_get_states",
        "temperature",
        # pslab-remote legacy
        "get_voltage",
        "get_average_voltage",
        "get_resistance",
        "get_capacitance",
        "capture1",
        "capture2",
        "capture4",
        "get_pv1",
        "get_pv2",
        "get_pv3",
        "get_pcs",
        "get_temperature",
        "get_version",
        "get_states",
        "get_state",
        "get_freq",
        "DutyCycle",
        "MeasureInterval",
    }
)


def _logic_channels(args: dict[str, Any]) -> int:
    """Channels a logic capture records: a count, one input's name, or a list of two."""
    channels = args["channels"]
    return 1 if isinstance(channels, str) else 2 if isinstance(channels, list) else channels


def _same(first: str, second: str) -> t.Count:
    """34 events on one channel when both inputs are the same, else one on each of two."""
    return lambda args: 34 if args[first] == args[second] else 1


def _pair(first: str, second: str) -> t.Count:
    return lambda args: 1 if args[first] == args[second] else 2


_SETTING = t.fixed(t.QUICK, "a setting")
_STATE = t.fixed(t.QUICK, "reading a state")
_VOLTAGE = t.fixed(t.READING, "a voltage reading")
_RESISTANCE = t.fixed(t.READING, "a resistance reading")
# Uses the capture engine: large capacitors are timed with an oscilloscope capture.
_CAPACITANCE = t.fixed(t.CAPACITANCE, "a capacitance reading", engine=True)
_TABLE = t.fixed(t.TABLE, "loading a waveform table")
_SINE = t.fixed(t.TABLE, "a waveform (with its table, when another one is loaded)")
_EDGE_PERIOD = t.edge_wait(events=lambda args: args["skip_cycle"] + 2)

#: How long each function holds the device: its expected device time, from its arguments.
#: The fair queue orders calls by it, and a call above REMOTELAB_DEVICE_MAX_CALL_SECONDS is
#: refused before it queues; each call is then charged what it really took.
DEVICE_TIMES: Final[dict[str, t.DeviceTime]] = {
    # pslab 4.x style
    "measure_voltage": _VOLTAGE,
    "measure_resistance": _RESISTANCE,
    "measure_capacitance": _CAPACITANCE,
    "oscilloscope_capture": t.scope_capture(
        samples="samples", timegap="timegap", channels="channels", trigger="trigger"
    ),
    "oscilloscope_select_range": _SETTING,
    "waveform_generate": _SETTING,
    "waveform_load_function": _TABLE,
    "pwm_generate": _SETTING,
    "pwm_set_state": _SETTING,
    "pwm_map_reference_clock": _SETTING,
    "power_supply_set": _SETTING,
    "power_supply_get": _STATE,
    "logic_analyzer_capture": t.edge_wait(
        events=lambda args: args["events"],
        channels=_logic_channels,
        what="events",
        advice="use a smaller timeout or fewer events",
    ),
    "logic_analyzer_measure_frequency": t.frequency(),
    "logic_analyzer_measure_duty_cycle": t.edge_wait(events=3),
    "logic_analyzer_measure_interval": t.edge_wait(
        events=lambda args: 34 if args["channels"][0] == args["channels"][1] else 1,
        channels=lambda args: 1 if args["channels"][0] == args["channels"][1] else 2,
    ),
    "logic_analyzer_get_states": _STATE,
    "logic_analyzer_count_pulses": t.counting(),
    "temperature": _STATE,
    # pslab-remote legacy
    "get_voltage": _VOLTAGE,
    "get_average_voltage": t.repeated("samples", t.READING, "voltage readings"),
    "get_resistance": _RESISTANCE,
    "get_capacitance": _CAPACITANCE,
    "capture1": t.scope_capture(samples="ns", timegap="tg", channels=1),
    "capture2": t.scope_capture(samples="ns", timegap="tg", channels=2),
    "capture4": t.scope_capture(samples="ns", timegap="tg", channels=4),
    "select_range": _SETTING,
    "set_sine1": _SINE,
    "set_sine2": _SINE,
    "set_w1": _SINE,
    "set_w2": _SINE,
    "set_wave": _SETTING,
    "set_waves": _SETTING,
    "load_equation": _TABLE,
    "set_pv1": _SETTING,
    "set_pv2": _SETTING,
    "set_pv3": _SETTING,
    "set_pcs": _SETTING,
    "get_pv1": _STATE,
    "get_pv2": _STATE,
    "get_pv3": _STATE,
    "get_pcs": _STATE,
    "get_temperature": _STATE,
    "get_version": _STATE,
    "sqr1": _SETTING,
    "sqr2": _SETTING,
    "sqrPWM": _SETTING,
    "set_state": _SETTING,
    "get_states": _STATE,
    "get_state": _STATE,
    "get_freq": t.edge_wait(events=2),
    "DutyCycle": t.edge_wait(events=3),
    "MeasureInterval": t.edge_wait(
        events=_same("channel1", "channel2"), channels=_pair("channel1", "channel2")
    ),
    "r2r_time": _EDGE_PERIOD,
    "f2f_time": _EDGE_PERIOD,
    # Starting the counter stops a running logic capture (pslab resets the prescaler).
    "countPulses": t.fixed(t.QUICK, "starting the pulse counter", engine=True),
    "readPulseCount": _STATE,
}


def build_registry(limits: FunctionSettings) -> Registry:
    """A registry of the pslab 4.x style functions, then the pslab-remote legacy ones."""
    modern = catalog_modern.functions(limits)
    by_name = {f.name: f for f in modern}
    functions = [
        *modern,
        *catalog_legacy.functions(limits, by_name),
        *catalog_legacy_digital.functions(limits, by_name),
    ]
    names = {f.name for f in functions}
    unknown = SHARED_READINGS - names
    if unknown:
        raise ValueError(f"SHARED_READINGS names unknown functions: {sorted(unknown)}")
    if DEVICE_TIMES.keys() != names:
        raise ValueError(
            "DEVICE_TIMES must name every function once: unknown "
            f"{sorted(DEVICE_TIMES.keys() - names)}, missing {sorted(names - DEVICE_TIMES.keys())}"
        )
    registry = Registry(
        dataclasses.replace(f, shared=f.name in SHARED_READINGS, device_time=DEVICE_TIMES[f.name])
        for f in functions
    )
    # Each example's expected device time, for the docs and GET /v1/functions.
    return Registry(
        dataclasses.replace(
            f, example_ms=f.device_time.estimate(parse_call(f.example, registry).args).ms
        )
        for f in registry
    )


def default_registry(limits: FunctionSettings | None = None) -> Registry:
    """The registry for ``limits`` (default limits when ``None``); built once per limits."""
    return _cached(limits or FunctionSettings())


@lru_cache(maxsize=8)
def _cached(limits: FunctionSettings) -> Registry:
    return build_registry(limits)
