"""The whitelist: every function a function string may call, bound onto pslab 4.x.

``default_registry()`` is what the server uses; ``build_registry(limits)`` builds
one with other policy bounds (the ``max_wait_seconds`` and
``max_capture_seconds`` limits become parameter ranges).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from remotelab.config import FunctionSettings
from remotelab.device.functions import catalog_legacy, catalog_legacy_digital, catalog_modern
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


def build_registry(limits: FunctionSettings) -> Registry:
    """A registry of the pslab 4.x style functions, then the pslab-remote legacy ones."""
    modern = catalog_modern.functions(limits)
    by_name = {f.name: f for f in modern}
    functions = [
        *modern,
        *catalog_legacy.functions(limits, by_name),
        *catalog_legacy_digital.functions(limits, by_name),
    ]
    unknown = SHARED_READINGS - {f.name for f in functions}
    if unknown:
        raise ValueError(f"SHARED_READINGS names unknown functions: {sorted(unknown)}")
    return Registry(
        dataclasses.replace(f, shared=True) if f.name in SHARED_READINGS else f for f in functions
    )


def default_registry(limits: FunctionSettings | None = None) -> Registry:
    """The registry for ``limits`` (default limits when ``None``); built once per limits."""
    return _cached(limits or FunctionSettings())


@lru_cache(maxsize=8)
def _cached(limits: FunctionSettings) -> Registry:
    return build_registry(limits)
