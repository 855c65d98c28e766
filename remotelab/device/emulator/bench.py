"""The virtual bench: the wiring's network plus what every output does over time.

The firmware handlers change outputs (``set_output``) and the CAP pin's driver
(``set_cap_driver``) at given emulated times; the bench keeps a short history of
those changes so a capture read back later sees exactly what happened during its
window (the RC capacitance method charges CAP *while* the scope records it).

Voltages: a node without capacitance is the weighted sum of the outputs
(:mod:`.network`). A node with capacitance (CAP always has its stray capacitance)
also has a state: its DC level relaxes exponentially towards the network's value
with the node's RC time constant, and periodic outputs reach it low-pass filtered.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from remotelab.config import EmulatorSettings

from .digital import (
    ConstantLevel,
    LogicSignal,
    PeriodicEdges,
    SampledEdges,
    crossings,
    sampled_crossings,
)
from .network import HARDWARE, RAIL, SOURCES, Hardware, Network
from .signals import Constant, FloatArray, Signal, Square
from .wiring import CURRENT_OUTPUT, PINS, Connection

#: Logic threshold of the digital inputs (volts).
LOGIC_THRESHOLD = 1.65
#: Series resistance through which SET_CAP charges and discharges CAP (ohms).
CAP_DRIVE_RESISTANCE = 10e3
#: Highest voltage the CTMU current source can drive (volts).
CTMU_COMPLIANCE = 3.3
#: The current source PCS regulates from the 3.3 V rail through this resistance (ohms).
PCS_SOURCE_RESISTANCE = 1e3
#: Defaults: changes remembered per output and per capacitive node; most samples taken to
#: find logic edges by sampling (several signals mixed). Both are emulator settings.
HISTORY = EmulatorSettings().history
MAX_LOGIC_SAMPLES = EmulatorSettings().max_logic_samples

T = TypeVar("T")


class Timeline(Generic[T]):
    """Values that change at given times; the last ``keep`` changes are kept."""

    def __init__(self, first: T, keep: int = HISTORY) -> None:
        self._starts: list[float] = [-math.inf]
        self._items: list[T] = [first]
        self._keep = max(1, keep)

    @property
    def last(self) -> T:
        return self._items[-1]

    def set(self, t: float, item: T) -> None:
        """From time ``t`` on, the value is ``item`` (``t`` never goes backwards)."""
        t = max(t, self._starts[-1])
        if t == self._starts[-1]:
            self._items[-1] = item
        else:
            self._starts.append(t)
            self._items.append(item)
        if len(self._items) > self._keep:
            del self._starts[: len(self._items) - self._keep]
            del self._items[: len(self._items) - self._keep]

    def at(self, t: float) -> T:
        return self._items[max(0, bisect.bisect_right(self._starts, t) - 1)]

    def piecewise(self, t: FloatArray, fn: Callable[[T, FloatArray], FloatArray]) -> FloatArray:
        """Apply ``fn(value, times)`` piece by piece over ascending times ``t``."""
        if len(self._items) == 1 or t.size == 0 or t[0] >= self._starts[-1]:
            return fn(self._items[-1], t)
        out = np.empty(t.shape)
        cuts = np.searchsorted(t, self._starts[1:], side="left")
        bounds = [0, *cuts.tolist(), t.size]
        for item, lo, hi in zip(self._items, bounds[:-1], bounds[1:], strict=True):
            if hi > lo:
                out[lo:hi] = fn(item, t[lo:hi])
        return out


@dataclass(frozen=True)
class Floating:
    """CAP is high impedance (the normal state)."""


@dataclass(frozen=True)
class Driven:
    """CAP is driven to ``volts`` through ``resistance``."""

    volts: float
    resistance: float = CAP_DRIVE_RESISTANCE


@dataclass(frozen=True)
class Charging:
    """The CTMU pushes a constant current into CAP."""

    amperes: float


CapDriver = Floating | Driven | Charging


@dataclass(frozen=True)
class Segment:
    """Exponential relaxation of a capacitive node from ``v0`` at ``t0`` towards ``v_inf``."""

    t0: float
    v0: float
    v_inf: float
    tau: float
    clip: tuple[float, float] | None = None

    def values(self, t: FloatArray) -> FloatArray:
        if math.isinf(self.tau) or self.tau <= 0:
            v = np.full(t.shape, self.v_inf if self.tau <= 0 else self.v0)
        else:
            v = self.v0 + (self.v_inf - self.v0) * -np.expm1(-(t - self.t0) / self.tau)
        if self.clip is not None:
            np.clip(v, *self.clip, out=v)
        return v

    def value(self, t: float) -> float:
        return float(self.values(np.array([t]))[0])


class Bench:
    """The wired bench and the state of its outputs over emulated time.

    ``history`` bounds the changes remembered per output and capacitive node;
    ``max_logic_samples`` bounds the sampling used to find edges of mixed signals;
    ``delays`` (seconds, by output name) is how long after a command a change of that
    output reaches the bench — its settle time, modelled in real-time mode only.

    Raises:
        InputError: from :class:`.network.Network` for a short-circuiting wiring.
    """

    def __init__(
        self,
        connections: Sequence[Connection],
        hardware: Hardware = HARDWARE,
        *,
        history: int = HISTORY,
        max_logic_samples: int = MAX_LOGIC_SAMPLES,
        delays: Mapping[str, float] | None = None,
    ) -> None:
        self.network = Network(connections, hardware)
        self._delays = dict(delays or {})
        self.hardware = hardware
        self._history = history
        self._max_logic_samples = max_logic_samples
        self._outputs: dict[str, Timeline[Signal]] = {
            name: Timeline(Constant(hardware.rail if name == RAIL else 0.0), history)
            for name in SOURCES
        }
        self._pcs_request = 0.0
        self._driver: CapDriver = Floating()
        self._node_pin: dict[int, str] = {}
        for pin in sorted(PINS):
            node = self.network.node_of(pin)
            if node is not None and node not in self._node_pin:
                self._node_pin[node] = pin
        self._cap_node = self.network.node_of("CAP")
        self._dynamic: dict[int, Timeline[Segment]] = {}
        for node, pin in self._node_pin.items():
            if self.network.capacitance(pin) > 0:
                v_inf, tau, clip = self._target(node)
                self._dynamic[node] = Timeline(Segment(0.0, v_inf, v_inf, tau, clip), history)

    # -- changes -------------------------------------------------------------------

    def output(self, name: str) -> Signal:
        """What output ``name`` (or PCS: the delivered current) is doing now."""
        return self._outputs[name].last

    def set_output(self, name: str, signal: Signal, t: float) -> None:
        """From time ``t`` (plus the output's settle delay), output ``name`` produces
        ``signal`` (PCS: requested amperes)."""
        t += self._delays.get(name, 0.0)
        if name == CURRENT_OUTPUT:
            self._pcs_request = signal.mean
        else:
            self._outputs[name].set(t, signal)
        pcs_changed = self._update_pcs(t)
        changed = {name, CURRENT_OUTPUT} if pcs_changed else {name}
        for node, pin in self._node_pin.items():
            if node in self._dynamic and changed & self.network.weights(pin).keys():
                self._reanchor(t, node)

    def set_cap_driver(self, driver: CapDriver, t: float) -> None:
        """From time ``t``, CAP is floating, driven through a resistor, or charged by the CTMU."""
        self._driver = driver
        if self._cap_node is not None and self._cap_node in self._dynamic:
            self._reanchor(t, self._cap_node)

    def _update_pcs(self, t: float) -> bool:
        """Recompute the current PCS can deliver; True if it changed."""
        # PCS regulates its current from the 3.3 V rail through ~1 kΩ, so it delivers at
        # most 3.3 V / (1 kΩ + R_load) (pslab's PowerSupply.pcs documentation).
        request = self._pcs_request
        if self.network.node_of(CURRENT_OUTPUT) is not None:
            others = sum(
                w * self._outputs[name].last.mean
                for name, w in self.network.weights(CURRENT_OUTPUT).items()
                if name != CURRENT_OUTPUT
            )
            r_load = self.network.thevenin_resistance(CURRENT_OUTPUT)
            limit = max(0.0, (self.hardware.rail - others) / (PCS_SOURCE_RESISTANCE + r_load))
            request = min(request, limit)
        if self._outputs[CURRENT_OUTPUT].last.mean == request:
            return False
        self._outputs[CURRENT_OUTPUT].set(t, Constant(request))
        return True

    def _target(self, node: int) -> tuple[float, float, tuple[float, float] | None]:
        """Where a capacitive node's DC level is heading: (v_inf, tau, clip)."""
        pin = self._node_pin[node]
        v_th = sum(w * self._outputs[n].last.mean for n, w in self.network.weights(pin).items())
        r_th = self.network.thevenin_resistance(pin)
        c = self.network.capacitance(pin)
        driver = self._driver if node == self._cap_node else Floating()
        if isinstance(driver, Driven):
            g = 1.0 / r_th + 1.0 / driver.resistance
            return (v_th / r_th + driver.volts / driver.resistance) / g, c / g, None
        if isinstance(driver, Charging):
            return v_th + driver.amperes * r_th, r_th * c, (0.0, CTMU_COMPLIANCE)
        return v_th, r_th * c, None

    def _reanchor(self, t: float, node: int) -> None:
        """Start a new relaxation segment at ``t`` for a capacitive node whose target moved."""
        timeline = self._dynamic[node]
        v_now = timeline.last.value(t)
        v_inf, tau, clip = self._target(node)
        timeline.set(t, Segment(t, v_now, v_inf, tau, clip))

    # -- readings ------------------------------------------------------------------

    def voltage(self, pin: str, t: FloatArray) -> FloatArray:
        """Voltage at ``pin`` at ascending times ``t`` (volts)."""
        t = np.asarray(t, dtype=np.float64)
        node = self.network.node_of(pin)
        if node is None:
            return np.zeros(t.shape)
        weights = self.network.weights(pin)
        out: FloatArray
        if node not in self._dynamic:
            out = np.zeros(t.shape)
            for name, w in weights.items():
                out += w * self._outputs[name].piecewise(t, _values)
            return out
        out = self._dynamic[node].piecewise(t, Segment.values)
        tau = self.network.thevenin_resistance(pin) * self.network.capacitance(pin)

        def ac(signal: Signal, times: FloatArray) -> FloatArray:
            if signal.period is None:
                return np.zeros(times.shape)
            return signal.lowpass(tau).values(times) - signal.mean

        for name, w in weights.items():
            out += w * self._outputs[name].piecewise(t, ac)
        return out

    def voltage_at(self, pin: str, t: float) -> float:
        """Voltage at ``pin`` at time ``t`` (volts)."""
        return float(self.voltage(pin, np.array([t]))[0])

    def logic(self, pin: str, at: float, until: float) -> LogicSignal:
        """The logic signal a digital input on ``pin`` sees from time ``at`` (outputs as at ``at``).

        ``until`` bounds the window examined when edges must be found by sampling.
        """
        node = self.network.node_of(pin)
        if node is None:
            return ConstantLevel(False)
        weights = self.network.weights(pin)
        signals = {name: self._outputs[name].at(at) for name in weights}
        periodic = [(n, s) for n, s in signals.items() if s.period is not None]
        dynamic = node in self._dynamic
        if dynamic:
            base = self._dynamic[node].at(at).value(at)
            tau = self.network.thevenin_resistance(pin) * self.network.capacitance(pin)
        else:
            base = sum(weights[n] * s.mean for n, s in signals.items() if s.period is None)
            tau = 0.0
        if not periodic:
            return ConstantLevel(base > LOGIC_THRESHOLD)
        if len(periodic) == 1:
            name, signal = periodic[0]
            w = weights[name]
            shaped = signal.lowpass(tau) if dynamic else signal
            offset = signal.mean if dynamic else 0.0
            if isinstance(shaped, Square):
                low = base + w * (shaped.low - offset)
                high = base + w * (shaped.high - offset)
                if (low > LOGIC_THRESHOLD) == (high > LOGIC_THRESHOLD) or shaped.duty == 0:
                    return ConstantLevel(low > LOGIC_THRESHOLD)
                edges = (np.array([shaped.rise]), np.array([shaped.fall]))
                rising, falling = edges if high > low else edges[::-1]
                return PeriodicEdges(shaped.t_ref, shaped.period or 1.0, rising, falling)
            samples = base + w * (shaped.table() - offset)
            rising, falling = crossings(samples, LOGIC_THRESHOLD)
            if rising.size == 0:
                return ConstantLevel(bool(samples[0] > LOGIC_THRESHOLD))
            return PeriodicEdges(shaped.t_ref, shaped.period or 1.0, rising, falling)
        # Several periodic outputs mixed: sample the node finely over the window.
        step = min(s.period or 1.0 for _, s in periodic) / 256
        count = int(min(self._max_logic_samples, max(2.0, (until - at) / step)))
        times = at + np.arange(count) * step
        initial, rising, falling = sampled_crossings(
            times, self.voltage(pin, times), LOGIC_THRESHOLD
        )
        return SampledEdges(initial, rising, falling)


def _values(signal: Signal, t: FloatArray) -> FloatArray:
    return signal.values(t)
