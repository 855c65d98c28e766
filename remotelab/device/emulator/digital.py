"""Logic levels and edges of a bench node, as the PSLab's digital inputs see them.

A node is read against one logic threshold. Its logic signal is one of:

* :class:`ConstantLevel` - never changes;
* :class:`PeriodicEdges` - edges at fixed phases of a period (a PWM pin exactly, or
  the threshold crossings of any periodic analog signal);
* :class:`SampledEdges` - crossings found by sampling a non-periodic sum of signals.

All three answer the questions the firmware's input-capture and counter units ask:
the level at given times, the edges after a time, and how many rising edges fall in
an interval.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .signals import BoolArray, FloatArray

Edge = Literal["rising", "falling", "any"]


class LogicSignal(ABC):
    """A logic signal over time."""

    @abstractmethod
    def level(self, t: FloatArray) -> BoolArray:
        """Logic level (True = high) at times ``t``."""

    @abstractmethod
    def edges(self, kind: Edge, after: float, until: float, limit: int) -> FloatArray:
        """Times of up to ``limit`` edges of ``kind`` in ``(after, until]``, ascending."""

    def count_rising(self, start: float, end: float) -> int:
        """Number of rising edges in ``(start, end]``."""
        return int(self.edges("rising", start, end, 2**31 - 1).size)


@dataclass(frozen=True)
class ConstantLevel(LogicSignal):
    high: bool

    def level(self, t: FloatArray) -> BoolArray:
        return np.full(np.shape(t), self.high)

    def edges(self, kind: Edge, after: float, until: float, limit: int) -> FloatArray:
        return np.empty(0)


class PeriodicEdges(LogicSignal):
    """Edges at phases ``rising``/``falling`` (fractions of ``period``) after ``t_ref``."""

    def __init__(
        self, t_ref: float, period: float, rising: FloatArray, falling: FloatArray
    ) -> None:
        self.t_ref = t_ref
        self.period = period
        self.rising = np.sort(np.mod(rising, 1.0))
        self.falling = np.sort(np.mod(falling, 1.0))
        phases = np.concatenate([self.rising, self.falling])
        kinds = np.concatenate([np.ones(self.rising.size, bool), np.zeros(self.falling.size, bool)])
        order = np.argsort(phases, kind="stable")
        self._phases = phases[order]
        self._kinds = kinds[order]

    def level(self, t: FloatArray) -> BoolArray:
        phase = np.mod((np.asarray(t) - self.t_ref) / self.period, 1.0)
        # The level is set by the last edge at or before this phase (cyclically).
        idx = np.searchsorted(self._phases, phase, side="right") - 1
        level: BoolArray = self._kinds[idx]
        return level  # idx == -1 wraps to the period's last edge

    def edges(self, kind: Edge, after: float, until: float, limit: int) -> FloatArray:
        if kind == "rising":
            phases = self.rising
        elif kind == "falling":
            phases = self.falling
        else:
            phases = self._phases
        if phases.size == 0 or limit <= 0 or until <= after:
            return np.empty(0)
        first = math.floor((after - self.t_ref) / self.period)
        span = math.ceil((until - after) / self.period) + 1
        cycles = min(span, math.ceil(limit / phases.size) + 1)
        m = np.arange(first, first + cycles + 1, dtype=np.float64)
        times = (self.t_ref + (m[:, None] + phases[None, :]) * self.period).ravel()
        kept: FloatArray = times[(times > after) & (times <= until)]
        return kept[:limit]

    def count_rising(self, start: float, end: float) -> int:
        a = (start - self.t_ref) / self.period - self.rising
        b = (end - self.t_ref) / self.period - self.rising
        return int(np.sum(np.floor(b) - np.floor(a)))


class SampledEdges(LogicSignal):
    """Edges found at explicit times; ``initial`` is the level before the first one."""

    def __init__(self, initial: bool, rising: FloatArray, falling: FloatArray) -> None:
        self.initial = initial
        self.rising = np.sort(rising)
        self.falling = np.sort(falling)

    def level(self, t: FloatArray) -> BoolArray:
        t = np.asarray(t)
        r = np.searchsorted(self.rising, t, side="right")
        f = np.searchsorted(self.falling, t, side="right")
        changes = r + f
        return np.where(changes % 2 == 0, self.initial, not self.initial)

    def edges(self, kind: Edge, after: float, until: float, limit: int) -> FloatArray:
        if kind == "rising":
            times = self.rising
        elif kind == "falling":
            times = self.falling
        else:
            times = np.sort(np.concatenate([self.rising, self.falling]))
        return times[(times > after) & (times <= until)][:limit]


def crossings(samples: FloatArray, threshold: float) -> tuple[FloatArray, FloatArray]:
    """Rising and falling threshold crossings of one cyclic period of ``samples``.

    Returns the crossing phases as fractions of the period, linearly interpolated
    between samples.
    """
    n = samples.size
    above = samples > threshold
    prev = np.roll(samples, 1)
    prev_above = np.roll(above, 1)
    idx = np.arange(n)

    def phases(mask: BoolArray) -> FloatArray:
        i = idx[mask]
        y0, y1 = prev[mask], samples[mask]
        frac = (threshold - y0) / (y1 - y0)
        return np.mod((i - 1 + frac) / n, 1.0)

    return phases(above & ~prev_above), phases(~above & prev_above)


def sampled_crossings(
    t: FloatArray, samples: FloatArray, threshold: float
) -> tuple[bool, FloatArray, FloatArray]:
    """Initial level and rising/falling crossing times of a sampled (non-cyclic) signal."""
    above = samples > threshold
    change = np.flatnonzero(above[1:] != above[:-1]) + 1
    y0, y1 = samples[change - 1], samples[change]
    times = t[change - 1] + (t[change] - t[change - 1]) * (threshold - y0) / (y1 - y0)
    rising = above[change]
    return bool(above[0]), times[rising], times[~rising]


#: Events each input-capture mode records, by the firmware's mode number.
IC_MODES: dict[int, tuple[Edge, int]] = {
    1: ("any", 1),
    2: ("falling", 1),
    3: ("rising", 1),
    4: ("rising", 4),  # every 4th rising edge
    5: ("rising", 16),  # every 16th rising edge
}


def capture_events(
    signal: LogicSignal, mode: int, after: float, until: float, limit: int
) -> FloatArray:
    """Times at which an input-capture unit in ``mode`` records an event.

    Mode 0 (disabled) and unknown modes record nothing. Prescaled modes record every
    4th or 16th rising edge, counting from the start.
    """
    if mode not in IC_MODES or limit <= 0:
        return np.empty(0)
    kind, every = IC_MODES[mode]
    times = signal.edges(kind, after, until, limit * every)
    return times[every - 1 :: every][:limit]
