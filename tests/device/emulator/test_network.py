"""The solved resistive network: weights, Thevenin resistances, capacitance."""

from __future__ import annotations

import pytest

from remotelab.device.emulator.network import HARDWARE, Network
from remotelab.device.emulator.wiring import parse_wiring


def net(*wiring: str) -> Network:
    return Network(parse_wiring(wiring))


def test_a_wire_carries_the_output_almost_unchanged() -> None:
    weights = net("PV1 -> CH3").weights("CH3")
    # 1 Ω output into 1 MΩ input
    assert weights == {"PV1": pytest.approx(1 - 1e-6, rel=1e-9)}


def test_unwired_input_sees_nothing() -> None:
    assert net("PV1 -> CH3").weights("CH1") == {}


def test_voltage_divider() -> None:
    weights = net("PV1 -> 10k -> VOL", "VOL -> 10k -> GND").weights("VOL")
    # 10k || 1M input load below, 10k above
    lower = 1 / (1 / 10e3 + 1 / HARDWARE.analog_input_resistance)
    assert weights["PV1"] == pytest.approx(lower / (lower + 10e3 + 1), rel=1e-6)


def test_res_pull_up_and_load() -> None:
    network = net("RES -> 10k -> GND")
    assert network.weights("RES")["RAIL"] * 3.3 == pytest.approx(3.3 * 10 / 15.1, rel=1e-6)
    assert network.thevenin_resistance("RES") == pytest.approx(1 / (1 / 10e3 + 1 / 5.1e3))


def test_wires_merge_nodes() -> None:
    network = net("PCS -> 1k -> GND", "PCS -> AN4")
    assert network.same_node("PCS", "AN4")
    assert network.weights("AN4")["PCS"] == pytest.approx(1 / (1 / 1e3 + 1 / 1e6), rel=1e-6)


def test_capacitance_adds_up_on_a_node() -> None:
    network = net("CAP -> 1nF -> GND", "CAP -> 2.2nF -> GND", "CH1 -> 100pF -> GND")
    assert network.capacitance("CAP") == pytest.approx(3.2e-9 + HARDWARE.cap_stray)
    assert network.capacitance("CH1") == pytest.approx(100e-12)
    assert network.capacitance("CH2") == 0.0


def test_grounded_pin() -> None:
    network = net("CH1 -> GND")
    assert network.node_of("CH1") is None
    assert network.weights("CH1") == {}
    assert network.thevenin_resistance("CH1") == 0.0
