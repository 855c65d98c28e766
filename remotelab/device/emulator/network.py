"""The bench's resistive network, solved once per wiring.

Every pin is a node; wires merge nodes; resistors join them; capacitors (to GND only)
add node capacitance. Each output is a source: voltage outputs are ideal sources
behind a small output resistance, PCS is a current source, and an internal 3.3 V
rail feeds the 5.1 kΩ pull-up on RES. Inputs load their node (1 MΩ analog inputs,
10 MΩ logic inputs) and every node leaks 1 TΩ to GND so floating nodes are defined.

Because the network is linear, node voltages are a fixed linear combination of the
source values: ``v_node(t) = sum_k weight[node, k] * source_k(t)``. The network
computes those weights (and each node's Thevenin resistance) once; :mod:`.bench`
evaluates them over time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from remotelab.errors import InputError

from .wiring import (
    ANALOG_INPUTS,
    CURRENT_OUTPUT,
    DIGITAL_INPUTS,
    GROUND,
    PINS,
    VOLTAGE_OUTPUTS,
    Connection,
)


@dataclass(frozen=True)
class Hardware:
    """Electrical constants of the modelled PSLab v6 board (documented in emulator.md)."""

    output_resistance: float = 1.0  # ohms, every voltage output
    analog_input_resistance: float = 1e6  # ohms to GND: CH1-CH3, MIC, VOL, AN4
    logic_input_resistance: float = 1e7  # ohms to GND: LA1-LA4, FRQ, EXT
    res_pull_up: float = 5.1e3  # ohms from RES to the 3.3 V rail
    rail: float = 3.3  # volts
    cap_stray: float = 50e-12  # farads on the CAP pin
    leak: float = 1e12  # ohms from every node to GND


HARDWARE = Hardware()
RAIL = "RAIL"
#: Source columns of the transfer matrix, in order.
SOURCES: tuple[str, ...] = (*VOLTAGE_OUTPUTS, CURRENT_OUTPUT, RAIL)


class Network:
    """The solved network of one wiring.

    Raises:
        InputError: the wiring joins two voltage outputs, or a voltage output and GND,
            with plain wires (a short circuit); the message names the wires involved.
    """

    def __init__(self, connections: Sequence[Connection], hardware: Hardware = HARDWARE) -> None:
        self.hardware = hardware
        self.connections = tuple(connections)
        parent = {pin: pin for pin in PINS}

        def find(pin: str) -> str:
            while parent[pin] != pin:
                parent[pin] = parent[parent[pin]]
                pin = parent[pin]
            return pin

        for conn in self.connections:
            if conn.component is None:
                parent[find(conn.a)] = find(conn.b)
        self._check_shorts(find)

        ground = find(GROUND)
        roots = sorted({find(p) for p in PINS} - {ground})
        index = {root: i for i, root in enumerate(roots)}
        self._node: dict[str, int | None] = {
            pin: (None if find(pin) == ground else index[find(pin)]) for pin in PINS
        }
        n = len(roots)
        g = np.zeros((n, n))
        b = np.zeros((n, len(SOURCES)))
        cap = np.zeros(n)
        np.fill_diagonal(g, 1.0 / hardware.leak)
        col = {name: k for k, name in enumerate(SOURCES)}

        def shunt(
            pin: str, resistance: float, source: str | None = None, gain: float = 1.0
        ) -> None:
            node = self._node[pin]
            if node is None:
                return
            g[node, node] += 1.0 / resistance
            if source is not None:
                b[node, col[source]] += gain / resistance

        for out in VOLTAGE_OUTPUTS:
            shunt(out, hardware.output_resistance, out)
        pcs = self._node[CURRENT_OUTPUT]
        if pcs is not None:
            b[pcs, col[CURRENT_OUTPUT]] += 1.0
        for pin in ANALOG_INPUTS:
            if pin == "RES":
                shunt(pin, hardware.res_pull_up, RAIL)
            elif pin != "CAP":
                shunt(pin, hardware.analog_input_resistance)
        for pin in DIGITAL_INPUTS:
            shunt(pin, hardware.logic_input_resistance)
        node_cap = self._node["CAP"]
        if node_cap is not None:
            cap[node_cap] += hardware.cap_stray

        for conn in self.connections:
            if conn.component is None:
                continue
            na, nb = self._node[conn.a], self._node[conn.b]
            if conn.component.kind == "C":
                node = na if nb is None else nb
                if node is not None:
                    cap[node] += conn.component.value
                continue
            conductance = 1.0 / conn.component.value
            for x, y in ((na, nb), (nb, na)):
                if x is not None:
                    g[x, x] += conductance
                    if y is not None:
                        g[x, y] -= conductance

        self._impedance = np.linalg.inv(g) if n else np.zeros((0, 0))
        self._transfer = self._impedance @ b
        self._capacitance = cap
        self._weights = {pin: self._row(pin) for pin in PINS}

    def _check_shorts(self, find: Callable[[str], str]) -> None:
        groups: dict[str, list[str]] = {}
        for pin in PINS:
            groups.setdefault(find(pin), []).append(pin)
        for members in groups.values():
            outputs = sorted(p for p in members if p in VOLTAGE_OUTPUTS)
            grounded = GROUND in members
            if len(outputs) > 1 or (outputs and grounded):
                joined = outputs + ([GROUND] if grounded and len(outputs) == 1 else [])
                wires = [c.text for c in self.connections if c.component is None and c.a in members]
                raise InputError(
                    f"wiring shorts {' and '.join(joined)} together: {', '.join(map(repr, wires))}",
                    details={"wiring": wires},
                )

    def node_of(self, pin: str) -> int | None:
        """Index of ``pin``'s node, or None when the pin is tied to GND."""
        return self._node[pin]

    def weights(self, pin: str) -> dict[str, float]:
        """Source name -> volts at ``pin`` per unit (volt or ampere) of that source."""
        return self._weights[pin]

    def _row(self, pin: str) -> dict[str, float]:
        node = self._node[pin]
        if node is None:
            return {}
        row = self._transfer[node]
        return {name: float(w) for name, w in zip(SOURCES, row, strict=True) if abs(w) > 1e-12}

    def thevenin_resistance(self, pin: str) -> float:
        """Resistance seen looking into ``pin``'s node with every source zeroed (ohms)."""
        node = self._node[pin]
        return 0.0 if node is None else float(self._impedance[node, node])

    def capacitance(self, pin: str) -> float:
        """Capacitance from ``pin``'s node to GND (farads)."""
        node = self._node[pin]
        return 0.0 if node is None else float(self._capacitance[node])

    def same_node(self, a: str, b: str) -> bool:
        """True when wires join ``a`` and ``b`` (or both are grounded)."""
        return self._node[a] == self._node[b]
