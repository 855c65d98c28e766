"""The catalog itself: the legacy names are there, every entry is complete and self-consistent."""

from __future__ import annotations

import json

import pytest

from remotelab.config import FunctionSettings
from remotelab.device.functions import (
    REQUIRED,
    Function,
    build_registry,
    default_registry,
    parse_call,
)

# The legacy names (docs/reference/functions.md), used by pslab-remote's scripts and docs.
LEGACY = [
    "get_voltage",
    "get_average_voltage",
    "get_resistance",
    "get_capacitance",
    "capture1",
    "capture2",
    "capture4",
    "set_sine1",
    "set_sine2",
    "set_pv1",
    "set_pv2",
    "set_pv3",
    "set_pcs",
    "get_freq",
    "sqr1",
    "sqr2",
    "set_state",
    "get_states",
]
FUNCTIONS = list(default_registry())


def test_the_legacy_names_are_there() -> None:
    registry = default_registry()
    for name in LEGACY:
        function = registry.get(name)
        assert function is not None, name
        assert function.legacy


def test_pslab_remote_examples_parse() -> None:
    # From pslab-remote's example scripts (multimeter.py, plot_test.py).
    registry = default_registry()
    for source in [
        "get_voltage('AN8')",
        "get_voltage('SEN')",
        "get_capacitance()",
        "get_resistance()",
        "capture1('CH1',100,10)",
        "capture2(50,10)",
        "capture4(50,10)",
    ]:
        parse_call(source, registry)


def test_default_registry_is_built_once_per_limits() -> None:
    assert default_registry() is default_registry()
    assert default_registry(FunctionSettings()) is default_registry()
    other = default_registry(FunctionSettings(max_wait_seconds=3))
    assert other is not default_registry()
    assert build_registry(FunctionSettings()).names() == default_registry().names()


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.name)
def test_entry_is_complete(function: Function) -> None:
    assert function.name.isidentifier() and "." not in function.name
    assert function.doc and "\n" not in function.doc and function.doc.endswith(".")
    assert function.returns.doc.endswith(".")
    assert function.category
    call = parse_call(function.example, default_registry())
    assert call.function is function
    registry = default_registry()
    for other in function.see_also:
        target = registry.get(other)
        assert target is not None and not target.legacy
    for param in function.params:
        assert param.doc.endswith("."), param.name
        if "str" in param.kinds or "list[str]" in param.kinds:
            assert param.choices is not None, f"{param.name}: free text is never needed"
        if param.default is not REQUIRED:
            # Every default is itself a valid argument, already in canonical form.
            coerced = param.coerce(param.default, function.name)
            expected = list(param.default) if isinstance(param.default, tuple) else param.default
            assert coerced == expected


def test_legacy_functions_point_to_their_successor() -> None:
    legacy = [f for f in FUNCTIONS if f.legacy and f.name != "get_version"]
    assert all(f.see_also for f in legacy)


def test_describe_lists_everything_as_json() -> None:
    described = default_registry().describe()
    assert [d["name"] for d in described] == default_registry().names()
    text = json.dumps(described, allow_nan=False)
    assert "capture1(ch, ns, tg)" in text
    capture2 = next(d for d in described if d["name"] == "capture2")
    remap = capture2["params"][2]
    assert remap["name"] == "TraceOneRemap"
    assert remap["default"] == "CH1"
    assert remap["aliases"] == {"SEN": "RES", "AN8": "VOL"}
    assert capture2["returns"]["type"] == "traces"
    assert capture2["legacy"] is True


def test_shared_readings_are_calls_that_return_a_reading() -> None:
    from remotelab.device.functions.catalog import SHARED_READINGS

    registry = default_registry()
    shared = {f.name for f in registry if f.shared}
    assert shared == SHARED_READINGS
    for function in registry:
        if function.shared:  # a reading answers something; setters answer null
            assert function.returns.kind != "null", function.name
    assert registry.get("get_voltage").shared  # type: ignore[union-attr]
    assert not registry.get("set_sine1").shared  # type: ignore[union-attr]
    assert not registry.get("countPulses").shared  # type: ignore[union-attr]


# Results that are measured quantities, by unit; everything else returns no unit (a count,
# a state, a string) or several quantities at once (DutyCycle's [period, duty]).
UNITS = {
    "V": {
        "measure_voltage",
        "get_voltage",
        "get_average_voltage",
        "set_pv1",
        "set_pv2",
        "set_pv3",
        "get_pv1",
        "get_pv2",
        "get_pv3",
        "oscilloscope_capture",
        "capture1",
        "capture2",
        "capture4",
    },
    "A": {"set_pcs", "get_pcs"},
    "Ω": {"measure_resistance", "get_resistance"},
    "F": {"measure_capacitance", "get_capacitance"},
    "°C": {"temperature", "get_temperature"},
    "Hz": {
        "waveform_generate",
        "pwm_generate",
        "pwm_map_reference_clock",
        "logic_analyzer_measure_frequency",
        "get_freq",
        "set_sine1",
        "set_sine2",
        "set_w1",
        "set_w2",
        "set_wave",
        "set_waves",
        "sqr1",
        "sqr2",
        "sqrPWM",
    },
    "s": {"MeasureInterval", "r2r_time", "f2f_time"},
    "µs": {"logic_analyzer_capture", "logic_analyzer_measure_interval"},
}


def test_every_measured_quantity_has_its_unit() -> None:
    by_name = {f.name: f.returns.unit for f in FUNCTIONS}
    expected = {name: unit for unit, names in UNITS.items() for name in names}
    assert {name: unit for name, unit in by_name.items() if unit} == expected
    for function in FUNCTIONS:  # a number without a unit is a count
        if function.returns.kind in ("float", "float | null", "traces"):
            assert function.returns.unit, function.name
