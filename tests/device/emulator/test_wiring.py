"""Wiring strings and TOML bench files: parsing, SI prefixes, errors naming the bad string."""

from __future__ import annotations

from pathlib import Path

import pytest
from pslab import Multimeter

from remotelab.device.emulator import (
    Emulator,
    load_bench,
    load_bench_file,
    parse_connection,
    parse_wiring,
)
from remotelab.device.emulator.signals import Constant
from remotelab.device.emulator.wiring import Component
from remotelab.errors import InputError


def test_wire() -> None:
    conn = parse_connection("SI1 -> CH1")
    assert (conn.a, conn.b, conn.component, conn.text) == ("SI1", "CH1", None, "SI1 -> CH1")


def test_pins_are_case_insensitive_and_spaces_optional() -> None:
    conn = parse_connection("  pv1->10k ->vol ")
    assert (conn.a, conn.b) == ("PV1", "VOL")
    assert conn.component == Component("R", 10e3)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("100R", "R", 100.0),
        ("100", "R", 100.0),
        ("470Ω", "R", 470.0),
        ("10k", "R", 10e3),
        ("10 kΩ", "R", 10e3),
        ("10kohm", "R", 10e3),
        ("4k7", "R", 4.7e3),
        ("2R2", "R", 2.2),
        ("1M", "R", 1e6),
        ("2.2M", "R", 2.2e6),
        ("100pF", "C", 100e-12),
        ("1nF", "C", 1e-9),
        ("1 nF", "C", 1e-9),
        ("4.7uF", "C", 4.7e-6),
        ("4.7µF", "C", 4.7e-6),
        ("4.7μF", "C", 4.7e-6),
        ("1mF", "C", 1e-3),
        ("2F", "C", 2.0),
    ],
)
def test_component_values_with_si_prefixes(value: str, kind: str, expected: float) -> None:
    conn = parse_connection(f"RES -> {value} -> GND")
    assert conn.component is not None
    assert conn.component.kind == kind
    assert conn.component.value == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SI1",
        "SI1 -> ",
        "SI1 => CH1",
        "SI1 -> XYZ",
        "PV1 -> 10q -> VOL",
        "PV1 -> 0k -> VOL",
        "PV1 -> 10m -> VOL",
        "CH1 -> CH1",
        "PV1 -> 1nF -> VOL",
        "PV1 -> 10k -> 1k -> VOL",
        "10k -> VOL",
    ],
)
def test_bad_strings_raise_input_error_naming_the_string(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_connection(text)
    assert repr(text.strip()) in info.value.message or repr(text) in info.value.message


def test_unknown_pin_message_lists_valid_pins() -> None:
    with pytest.raises(InputError, match=r"unknown pin 'XYZ'.*valid pins: AN4, CAP"):
        parse_connection("SI1 -> XYZ")


def test_wiring_must_be_a_list_of_strings() -> None:
    with pytest.raises(InputError):
        parse_wiring("SI1 -> CH1")
    with pytest.raises(InputError):
        parse_wiring([42])  # type: ignore[list-item]


def test_shorting_two_outputs_is_rejected_naming_the_wires() -> None:
    with pytest.raises(InputError, match="shorts PV1 and PV2") as info:
        Emulator(["PV1 -> CH1", "PV2 -> CH1"])
    assert "'PV1 -> CH1'" in info.value.message
    assert "'PV2 -> CH1'" in info.value.message


def test_shorting_an_output_to_ground_is_rejected() -> None:
    with pytest.raises(InputError, match="shorts SQ1 and GND"):
        Emulator(["SQ1 -> GND"])


def test_outputs_joined_through_a_resistor_are_fine() -> None:
    Emulator(["PV1 -> 1k -> PV2", "PCS -> GND"])


def test_emulator_rejects_a_bad_wiring_string() -> None:
    with pytest.raises(InputError, match="'PV1 -> 10q -> VOL'"):
        Emulator(["SI1 -> CH1", "PV1 -> 10q -> VOL"])


def test_toml_bench_file(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text('wiring = ["SI1 -> CH1", "RES -> 4k7 -> GND"]\n')
    assert load_bench_file(path) == ["SI1 -> CH1", "RES -> 4k7 -> GND"]
    emu = Emulator.from_toml(path, seed=3)
    assert emu.wiring == ["SI1 -> CH1", "RES -> 4k7 -> GND"]
    assert Multimeter(device=emu).measure_resistance() == pytest.approx(4.7e3, rel=0.05)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("wiring = [", "not valid TOML"),
        ("other = 1\n", "unknown keys"),
        ("", "needs wiring"),
        ('wiring = "SI1 -> CH1"\n', "needs wiring"),
        ("wiring = [1, 2]\n", "needs wiring"),
        ('wiring = ["SI1 -> CH1"]\noutputs = 1\n', "'outputs' must be a table"),
    ],
)
def test_bad_toml_bench_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        Emulator.from_toml(path)


def test_toml_bench_file_with_outputs(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text('wiring = ["PV1 -> CH3"]\n[outputs]\nPV1 = 1.5\nSQ1 = {mode = "high"}\n')
    assert load_bench(path) == (["PV1 -> CH3"], {"PV1": 1.5, "SQ1": {"mode": "high"}})
    assert Emulator.from_toml(path).wiring == ["PV1 -> CH3"]  # the outputs are the lab's


def test_outputs_settle_in_real_time_only() -> None:
    """A PV change reaches the bench its settle time after the command (real-time mode)."""
    from remotelab.config import EmulatorSettings
    from remotelab.device.emulator import Clock

    class Manual:
        def __init__(self) -> None:
            self.now = 0.0

        def __call__(self) -> float:
            return self.now

    for realtime, delay in ((True, 0.002), (False, 0.0)):
        source = Manual()
        emu = Emulator(
            ["PV1 -> CH3"],
            limits=EmulatorSettings(settle_ms_power=2),
            clock=Clock(realtime, time_source=source, sleep=lambda s: None),
        )
        emu.bench.set_output("PV1", Constant(1.0), 1.0)
        assert emu.bench.voltage_at("CH3", 1.0 + delay / 2) == pytest.approx(
            0 if delay else 1, abs=1e-3
        )
        assert emu.bench.voltage_at("CH3", 1.0 + delay) == pytest.approx(1.0, abs=1e-3)


def test_toml_bench_file_with_a_bad_string(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text('wiring = ["SI1 -> CH9"]\n')
    with pytest.raises(InputError, match="'SI1 -> CH9'"):
        Emulator.from_toml(path)
