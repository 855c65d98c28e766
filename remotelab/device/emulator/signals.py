"""Signal sources: what each output pin drives, as a vectorised function of time.

Three shapes cover the PSLab's outputs: :class:`Constant` (PV1-PV3, PCS, a static SQ
pin), :class:`TableWave` (SI1/SI2 playing a waveform table, as the firmware does) and
:class:`Square` (SQ1-SQ4 PWM and the mapped reference clock). Periodic signals can be
low-pass filtered exactly in steady state (:meth:`Signal.lowpass`), which is how an RC
node on the bench sees them. Times are seconds on the emulator's clock.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.floating[Any]]
BoolArray = npt.NDArray[np.bool_]

#: Points per period used when a periodic signal is tabulated for filtering or for
#: finding logic-level crossings.
TABLE_POINTS = 4096


class Signal(ABC):
    """A value over time (volts, or amperes for PCS)."""

    #: Time of phase zero (s).
    t_ref: float = 0.0

    @property
    @abstractmethod
    def mean(self) -> float:
        """Average value over a period (the value itself when constant)."""

    @property
    @abstractmethod
    def period(self) -> float | None:
        """Period in seconds, or None for a constant."""

    @abstractmethod
    def values(self, t: FloatArray) -> FloatArray:
        """The signal at times ``t`` (any shape)."""

    def table(self, n: int = TABLE_POINTS) -> FloatArray:
        """One period sampled at ``n`` points starting at phase zero (periodic signals)."""
        period = self.period
        if period is None:
            return np.full(n, self.mean)
        return self.values(self.t_ref + np.arange(n) * (period / n))

    def lowpass(self, tau: float) -> Signal:
        """This signal through a single-pole RC filter of time constant ``tau``, steady state.

        Constants pass unchanged; a periodic signal becomes a :class:`TableWave` whose
        harmonics are scaled by ``1 / (1 + j 2π f tau)`` (exact for a periodic input).
        """
        period = self.period
        if period is None or tau <= 0 or 2 * math.pi * tau / period < 1e-4:
            return self
        cache: dict[float, Signal] = self.__dict__.setdefault("_lowpass_cache", {})
        if tau not in cache:
            table = self.table()
            spectrum = np.fft.rfft(table)
            harmonics = np.arange(spectrum.size)
            spectrum /= 1.0 + 2j * math.pi * harmonics * tau / period
            filtered = np.fft.irfft(spectrum, n=table.size)
            cache[tau] = TableWave(filtered, 1.0 / period, self.t_ref)
        return cache[tau]


class Constant(Signal):
    """A fixed value."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def period(self) -> float | None:
        return None

    def values(self, t: FloatArray) -> FloatArray:
        return np.full(np.shape(t), self.value)

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


class TableWave(Signal):
    """A waveform table played cyclically at ``frequency``, linearly interpolated.

    The firmware plays its table through a PWM DAC and an output filter; linear
    interpolation between table points stands for that reconstruction. ``ac_gain``
    scales the signal around its mean (AC coupling and high-frequency roll-off).
    """

    def __init__(
        self,
        table: FloatArray,
        frequency: float,
        t_ref: float = 0.0,
        ac_gain: float = 1.0,
        phase: float = 0.0,
    ) -> None:
        table = np.asarray(table, dtype=np.float64)
        self.frequency = float(frequency)
        self.t_ref = float(t_ref) - float(phase) / self.frequency
        self._mean = float(table.mean())
        self._table = self._mean + ac_gain * (table - self._mean)
        self._next = np.roll(self._table, -1)

    @property
    def mean(self) -> float:
        return self._mean

    @property
    def period(self) -> float | None:
        return 1.0 / self.frequency

    def values(self, t: FloatArray) -> FloatArray:
        n = self._table.size
        x = np.mod((np.asarray(t) - self.t_ref) * self.frequency, 1.0) * n
        i = x.astype(np.int64)
        np.minimum(i, n - 1, out=i)
        frac = x - i
        out: FloatArray = self._table[i] + (self._next[i] - self._table[i]) * frac
        return out

    def __repr__(self) -> str:
        return f"TableWave({self._table.size} points, {self.frequency:g} Hz)"


class Square(Signal):
    """A rectangular wave: high from phase ``rise`` to phase ``fall`` (fractions of a period).

    ``rise > fall`` wraps around the period end; ``rise == fall`` never goes high.
    """

    def __init__(
        self,
        period: float,
        rise: float,
        fall: float,
        t_ref: float = 0.0,
        high: float = 3.3,
        low: float = 0.0,
    ) -> None:
        self._period = float(period)
        self.rise = float(rise) % 1.0
        self.fall = float(fall) % 1.0
        self.t_ref = float(t_ref)
        self.high = float(high)
        self.low = float(low)

    @property
    def duty(self) -> float:
        """Fraction of the period spent high."""
        return (self.fall - self.rise) % 1.0

    @property
    def mean(self) -> float:
        return self.low + (self.high - self.low) * self.duty

    @property
    def period(self) -> float | None:
        return self._period

    def is_high(self, t: FloatArray) -> BoolArray:
        """Boolean level at times ``t``."""
        phase = np.mod((np.asarray(t) - self.t_ref) / self._period, 1.0)
        high: BoolArray
        if self.rise <= self.fall:
            high = (phase >= self.rise) & (phase < self.fall)
        else:
            high = (phase >= self.rise) | (phase < self.fall)
        return high

    def values(self, t: FloatArray) -> FloatArray:
        return np.where(self.is_high(t), self.high, self.low)

    def __repr__(self) -> str:
        return f"Square({1 / self._period:g} Hz, duty {self.duty:.3f})"
