"""Firmware handlers of the waveform generator (SI1, SI2) and the PWM outputs (SQ1-SQ4).

SI1/SI2 play a waveform table (512 points below ~1.1 kHz, 32 above) with a timer
whose period sets the frequency; the output is AC-coupled and rolls off at high
frequency. SQ1-SQ4 are output-compare PWM channels sharing one timer; each can
instead be forced HIGH/LOW (DOUT SET_STATE) or mapped to the 128 MHz reference
clock divided by a power of two. The outputs' state (:class:`.base.WavegenState`)
is reset at power-on, so it lives with the firmware's.
"""

from __future__ import annotations

import numpy as np

from .base import HIGHRES, LOWRES, SI_PINS, SQ_PINS, Firmware, Handler, u16

CLOCK_HZ = 64e6
REFERENCE_CLOCK_HZ = 128e6
PRESCALERS = (1, 8, 64, 256)


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
        # The reference clock has one divider: pins already mapped follow the new one.
        if maps & (1 << i) or fw.wavegen.sq[pin].mode == "refclk":
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
