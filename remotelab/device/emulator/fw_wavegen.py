"""Firmware handlers of the waveform generator (SI1, SI2) and the PWM outputs (SQ1-SQ4).

SI1/SI2 play a waveform table (512 points below ~1.1 kHz, 32 above) with a timer
whose period sets the frequency; the output is AC-coupled and rolls off at high
frequency. SQ1-SQ4 are output-compare PWM channels sharing one timer; each can
instead be forced HIGH/LOW (DOUT SET_STATE) or mapped to the 128 MHz reference
clock divided by a power of two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .firmware import Handler, u16
from .signals import Constant, Signal, Square, TableWave

if TYPE_CHECKING:
    from .firmware import Firmware

CLOCK_HZ = 64e6
REFERENCE_CLOCK_HZ = 128e6
PRESCALERS = (1, 8, 64, 256)
HIGHRES, LOWRES = 512, 32
#: AC-coupling corner of the SI outputs (Hz): pslab warns below 20 Hz.
AC_COUPLING_CORNER = 2.0
#: First-order roll-off corner of the SI outputs (Hz): pslab warns above 5 kHz.
ROLL_OFF_CORNER = 20e3
SI_PINS = ("SI1", "SI2")
SQ_PINS = ("SQ1", "SQ2", "SQ3", "SQ4")
IntArray = npt.NDArray[np.int64]


def si_gain(frequency: float) -> float:
    """Amplitude gain of an SI output at ``frequency`` (AC coupling and roll-off)."""
    f = max(frequency, 1e-9)
    high_pass = f / math.hypot(f, AC_COUPLING_CORNER)
    low_pass = 1.0 / math.hypot(1.0, f / ROLL_OFF_CORNER)
    return high_pass * low_pass


def _sine_table(points: int, top: int) -> IntArray:
    x = 2 * np.pi * np.arange(points) / points
    return np.rint((3.3 * np.sin(x) + 3.3) / 6.6 * top).astype(np.int64)


@dataclass
class SineOutput:
    """State of one SI output."""

    highres_table: IntArray = field(default_factory=lambda: _sine_table(HIGHRES, 511))
    lowres_table: IntArray = field(default_factory=lambda: _sine_table(LOWRES, 63))
    running: bool = False
    frequency: float = 0.0
    highres: bool = True
    t_ref: float = 0.0
    phase: float = 0.0  # fraction of a period by which this output leads

    def signal(self) -> Signal:
        if not self.running:
            return Constant(0.0)
        if self.highres:
            volts = self.highres_table / 511 * 6.6 - 3.3
        else:
            volts = self.lowres_table / 63 * 6.6 - 3.3
        volts = volts - volts.mean()  # AC-coupled output
        return TableWave(volts, self.frequency, self.t_ref, si_gain(self.frequency), self.phase)


@dataclass
class SquareOutput:
    """State of one SQ output."""

    mode: str = "static"  # "static", "pwm" or "refclk"
    level: bool = False
    period: float = 1.0
    rise: float = 0.0
    fall: float = 0.0
    t_ref: float = 0.0

    def signal(self) -> Signal:
        if self.mode == "static":
            return Constant(3.3 if self.level else 0.0)
        return Square(self.period, self.rise, self.fall, self.t_ref)


@dataclass
class WavegenState:
    si: dict[str, SineOutput] = field(default_factory=lambda: {p: SineOutput() for p in SI_PINS})
    sq: dict[str, SquareOutput] = field(
        default_factory=lambda: {p: SquareOutput() for p in SQ_PINS}
    )

    def apply(self, fw: Firmware, t: float, pins: tuple[str, ...] = SI_PINS + SQ_PINS) -> None:
        """Push the named outputs' signals to the bench from time ``t``."""
        for pin in pins:
            state = self.si[pin] if pin in self.si else self.sq[pin]
            fw.bench.set_output(pin, state.signal(), t)


def _frequency(timegap: int, prescaler_index: int, table_size: int) -> float:
    return CLOCK_HZ / ((timegap + 1) * PRESCALERS[prescaler_index & 3] * table_size)


def _set_sine(fw: Firmware, pin: str) -> Handler:
    config = (yield 1)[0]
    timegap = u16((yield 2))
    out = fw.wavegen.si[pin]
    out.highres = bool(config & 1)
    out.frequency = _frequency(timegap, config >> 1, HIGHRES if out.highres else LOWRES)
    out.running, out.phase, out.t_ref = True, 0.0, fw.clock.now()
    fw.wavegen.apply(fw, out.t_ref, (pin,))
    fw.ack()


def set_sine1(fw: Firmware) -> Handler:
    yield from _set_sine(fw, "SI1")


def set_sine2(fw: Firmware) -> Handler:
    yield from _set_sine(fw, "SI2")


def set_both(fw: Firmware) -> Handler:
    timegap1 = u16((yield 2))
    timegap2 = u16((yield 2))
    coarse = u16((yield 2))
    fine = u16((yield 2))
    config = (yield 1)[0]
    t = fw.clock.now()
    si1, si2 = fw.wavegen.si["SI1"], fw.wavegen.si["SI2"]
    si1.highres, si2.highres = bool(config & 1), bool(config & 2)
    size1 = HIGHRES if si1.highres else LOWRES
    size2 = HIGHRES if si2.highres else LOWRES
    si1.frequency = _frequency(timegap1, (config >> 2) & 3, size1)
    si2.frequency = _frequency(timegap2, (config >> 4) & 3, size2)
    si1.phase = 0.0
    # SI2 starts `coarse` table points (plus `fine` timer ticks) ahead of SI1.
    si2.phase = ((coarse + fine / (timegap2 + 1)) / size2) % 1.0
    for out in (si1, si2):
        out.running, out.t_ref = True, t
    fw.wavegen.apply(fw, t, SI_PINS)
    fw.ack()


def _load_waveform(fw: Firmware, pin: str) -> Handler:
    highres = np.frombuffer((yield 2 * HIGHRES), dtype="<u2").astype(np.int64)
    lowres = np.frombuffer((yield LOWRES), dtype=np.uint8).astype(np.int64)
    out = fw.wavegen.si[pin]
    out.highres_table, out.lowres_table = highres, lowres
    fw.wavegen.apply(fw, fw.clock.now(), (pin,))
    fw.ack()


def load_waveform1(fw: Firmware) -> Handler:
    yield from _load_waveform(fw, "SI1")


def load_waveform2(fw: Firmware) -> Handler:
    yield from _load_waveform(fw, "SI2")


def set_square_all(fw: Firmware) -> Handler:
    wavelength = u16((yield 2)) + 1
    duty = [u16((yield 2))]
    phase = [0]
    for _ in range(3):
        phase.append(u16((yield 2)))
        duty.append(u16((yield 2)))
    config = (yield 1)[0]
    t = fw.clock.now()
    period = wavelength * PRESCALERS[config & 3] / CLOCK_HZ
    for i, pin in enumerate(SQ_PINS):
        out = fw.wavegen.sq[pin]
        # Compare registers are zero-indexed: the edge comes one tick after the value.
        rise = phase[i] + 1 if phase[i] else 0
        fall = duty[i] + 1
        out.mode, out.period, out.t_ref = "pwm", period, t
        out.rise, out.fall = rise / wavelength, (fall % wavelength) / wavelength
    fw.wavegen.apply(fw, t, SQ_PINS)
    fw.ack()


def map_reference(fw: Firmware) -> Handler:
    maps = (yield 1)[0]
    prescaler = (yield 1)[0]
    t = fw.clock.now()
    changed = []
    for i, pin in enumerate(SQ_PINS):
        if maps & (1 << i):
            out = fw.wavegen.sq[pin]
            out.mode, out.t_ref = "refclk", t
            out.period = (1 << (prescaler & 0xF)) / REFERENCE_CLOCK_HZ
            out.rise, out.fall = 0.0, 0.5
            changed.append(pin)
    fw.wavegen.apply(fw, t, tuple(changed))
    fw.ack()


def set_state(fw: Firmware) -> Handler:
    states = (yield 1)[0]
    changed = []
    for i, pin in enumerate(SQ_PINS):
        if states & (0x10 << i):
            out = fw.wavegen.sq[pin]
            out.mode, out.level = "static", bool(states & (1 << i))
            changed.append(pin)
    fw.wavegen.apply(fw, fw.clock.now(), tuple(changed))
    fw.ack()
