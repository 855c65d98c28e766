"""Firmware handlers around the CAP pin: charge/discharge, the CTMU current source, temperature.

pslab measures capacitance two ways and the emulator answers both from the same
physics (the CAP node's RC dynamics in :mod:`..bench`):

* GET_CAPACITANCE: discharge CAP, push a constant CTMU current for ``charge_time`` µs,
  read the voltage: ``V = I t / C`` (more exactly the RC charging curve if a resistor
  is wired to CAP);
* SET_CAP while the scope records CAP: charge CAP through 10 kΩ, then discharge it,
  and fit the exponential decay (pslab's ``_measure_rc_capacitance``).
"""

from __future__ import annotations

import numpy as np

from ..bench import Charging, Driven, Floating
from .base import Firmware, Handler, u16
from .frontend import ADC_PINS, span, to_counts

#: CTMU current by range setting (A): 0 -> 550 µA, 1 -> 550 nA, 2 -> 5.5 µA, 3 -> 55 µA.
CTMU_CURRENTS = (550e-6, 0.55e-6, 5.5e-6, 55e-6)
#: GET_CAPACITANCE first discharges CAP (50 ms) and settles the CTMU (2.5 ms).
DISCHARGE_TIME = 52.5e-3
#: GET_CTMU_VOLTAGE lets the current flow this long before converting (s).
CTMU_VOLTAGE_TIME = 50e-6
#: The ADC input number of the MCU's internal temperature diode.
TEMPERATURE_CHANNEL = 30
#: Die temperature of the emulated MCU (degrees C).
DIE_TEMPERATURE = 30.0
#: Temperature diode voltage (mV) = a - b * T, per CTMU current range. Ranges 1-3 use the
#: coefficients pslab inverts in ScienceLab.temperature; range 0 is extrapolated.
DIODE_COEFFICIENTS = ((820.0, 1.40), (646.0, 1.92), (701.5, 1.74), (760.0, 1.56))


def _trim(byte: int) -> int:
    """Current trim in percent, from the firmware's 6-bit two-sided encoding."""
    if byte & 32:
        return -2 * (31 - (byte & 31))
    return 2 * (byte & 31)


def _current(current_range: int, trim_byte: int) -> float:
    return CTMU_CURRENTS[current_range & 3] * (100 + _trim(trim_byte)) / 100


def set_cap(fw: Firmware) -> Handler:
    state = (yield 1)[0]
    period = u16((yield 2)) * 1e-6
    t = fw.clock.now()
    fw.bench.set_cap_driver(Driven(3.3 if state else 0.0), t)
    # The pin is driven for `period`, then released (high impedance).
    fw.bench.set_cap_driver(Floating(), t + period)
    fw.clock.wait_until(t + period)
    fw.ack()


def get_capacitance(fw: Firmware) -> Handler:
    current_range = (yield 1)[0]
    trim = (yield 1)[0]
    charge_time = u16((yield 2)) * 1e-6
    t = fw.clock.now()
    charge_start = t + DISCHARGE_TIME
    charge_end = charge_start + charge_time
    fw.bench.set_cap_driver(Driven(0.0), t)
    fw.bench.set_cap_driver(Charging(_current(current_range, trim)), charge_start)
    fw.bench.set_cap_driver(Floating(), charge_end)
    volts = np.array([fw.bench.voltage_at("CAP", charge_end)])
    # pslab divides by this reading; like the real ADC's small offset, it is never 0.
    counts = max(1, int(to_counts(fw, span(fw, "CAP"), volts, 12)[0]))
    fw.clock.wait_until(charge_end)
    fw.reply_u16(counts)
    fw.ack()


def temperature_volts(fw: Firmware, current_range: int) -> float:
    """Voltage across the die's temperature diode for a CTMU current range."""
    a, b = DIODE_COEFFICIENTS[current_range & 3]
    celsius = DIE_TEMPERATURE + fw.noise.gauss(fw.noise.model.temperature)
    return (a - b * celsius) / 1000


def get_ctmu_voltage(fw: Firmware) -> Handler:
    config = (yield 1)[0]
    channel = config & 0x1F
    current_range = (config >> 5) & 3
    t = fw.clock.now()
    if channel == TEMPERATURE_CHANNEL:
        pin = ""
        volts = np.full(16, temperature_volts(fw, current_range))
    else:
        pin = ADC_PINS.get(channel, "")
        if pin == "CAP":
            # Drain CAP, then let the current flow briefly before converting.
            start = t + 2.5e-3
            fw.bench.set_cap_driver(Driven(0.0, 100.0), t)
            fw.bench.set_cap_driver(Charging(_current(current_range, 0)), start)
            volts = fw.bench.voltage("CAP", start + CTMU_VOLTAGE_TIME + np.arange(16) * 2e-6)
            fw.bench.set_cap_driver(Floating(), start + CTMU_VOLTAGE_TIME + 32e-6)
            t = start + CTMU_VOLTAGE_TIME + 32e-6
        elif pin:
            volts = fw.bench.voltage(pin, t + np.arange(16) * 2e-6)
        else:
            volts = np.zeros(16)
    counts = to_counts(fw, span(fw, pin), volts, 12)
    fw.clock.wait_until(t)
    fw.reply_u16(int(counts.astype(np.int64).sum()))
    fw.ack()


def start_ctmu(fw: Firmware) -> Handler:
    config = (yield 1)[0]
    trim = (yield 1)[0]
    fw.bench.set_cap_driver(Charging(_current(config & 0x7F, trim)), fw.clock.now())
    fw.ack()


def stop_ctmu(fw: Firmware) -> Handler:
    fw.bench.set_cap_driver(Floating(), fw.clock.now())
    fw.ack()
    yield from ()
