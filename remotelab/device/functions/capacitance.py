"""Capacitance on CAP: pslab's CTMU ranging, and a robust fit of the RC discharge.

pslab 4.x's ``Multimeter.measure_capacitance`` charges CAP with the CTMU's constant
current on each range in turn; a capacitor none of them can charge (above about 9 µF)
falls back to ``_measure_rc_capacitance``: the scope records CAP (10 µs a sample) while
the firmware charges it through 10 kΩ and then discharges it, and scipy fits the decay.
That fit has two faults, on a real PSLab as on the emulator:

* it starts at the last sample *before* the steepest drop. The firmware's discharge is
  not aligned with the scope's samples, so when it starts early in a sample interval
  that sample is still at the held level and stretches the fit: for a time constant near
  the interval (10 kΩ times a few nF) it reads up to 40 % high, depending on timing alone;
* its starting guess divides by ``log(1) = 0`` when the decay is slow (tens of µF), and
  ``curve_fit`` then gives up ("Optimal parameters not found") on some runs.

:func:`measure_capacitance` keeps pslab's CTMU path as it is (the same calls, the same
results) and replaces the fallback with :func:`rc_capacitance`: the same firmware
exchange, fitted only on samples recorded after the discharge began, with a free
amplitude (equivalently a free time offset), as a weighted straight line through
``log(volts)``. Like the CTMU path, it subtracts pslab's stray capacitance of CAP
(``Multimeter._stray_capacitance``, 46 pF unless calibrated), so both paths read the
capacitor, not the capacitor plus the pin: the bench's 1 nF reads 1.00 nF either way.
50 ms through 10 kΩ charges a large capacitor only partly: up to about 220 µF the
decay still spans several ADC steps and reads within a few percent; above about
300 µF it spans less than one, and the call fails with :class:`OutOfRange` (422, naming
the range) instead of returning noise. On a real PSLab pslab's own fit fails there
too (``RuntimeError: Optimal parameters not found``, which the device owner would take
for a fault of the device); the emulator charges and discharges the capacitor through
the same 10 kΩ, so it answers as the hardware would. A large capacitor still charged by
earlier calls (the 50 ms discharges leave most of their charge in it) starts higher and
may then decay measurably: it reads, as it would on the hardware.

This uses pslab's private ``_measure_capacitance``, ``_set_cap``, ``_stray_capacitance``
and class constants; pslab has no public way to run one range or one step of the RC method.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pslab.protocol as CP

from remotelab.errors import OutOfRange

#: What the PSLab measures (F): from a few pF (the CTMU's smallest range, over CAP's
#: stray capacitance) to about 300 µF (the RC method's limit, see the module's doc).
MIN_FARADS = 10e-12
MAX_FARADS = 300e-6
#: The scope's sample interval while it records the discharge (µs), as in pslab.
RC_SAMPLE_INTERVAL_US = 10
#: How long SET_CAP drives CAP high, then low (µs), as in pslab (the most its u16 takes).
RC_DRIVE_TIME_US = 50000
#: Samples within this fraction of the held level (or within HOLD_COUNTS of it) count as
#: not yet discharging: above the ADC's noise, well below the first discharging sample
#: of a small capacitor, and a few ms of decay of a large one.
HOLD_FRACTION = 0.01
#: One 12-bit step of CAP's 3.3 V range (V).
ADC_STEP = 3.3 / 4095
#: The same margin in volts at least: a few ADC steps.
HOLD_VOLTS = 4 * ADC_STEP
#: The fit ends where the decay falls below this fraction of the held level: lower
#: samples are a few ADC steps, where quantisation and any offset dominate.
FLOOR_FRACTION = 0.05
#: A decay slower than this many sample intervals is fitted from the moving average's peak.
SLOW_INTERVALS = 100
#: Samples in that moving average (250 µs): the noise of the held level averages out.
SMOOTHING = 25


def measure_capacitance(mm: Any) -> float:
    """pslab's ``Multimeter.measure_capacitance``, with :func:`rc_capacitance` as fallback.

    The CTMU loop is pslab 4.0.1's, call for call (private ``_measure_capacitance``).
    """
    charged = mm._CAPACITOR_CHARGED_VOLTAGE
    for current_range in mm._CURRENTS_RANGES:
        charge_time = 10
        for _ in range(10):
            if charge_time > 50000:
                break  # next (larger) current
            volts, farads = mm._measure_capacitance(current_range, 0, charge_time)
            if 0.98 < volts / charged < 1.02:
                return float(farads)
            charge_time = int(charge_time * charged / volts)
    return rc_capacitance(mm)


def rc_capacitance(mm: Any) -> float:
    """Capacitance on CAP from its discharge through pslab's 10 kΩ, robust to timing.

    The firmware exchange is pslab's ``_measure_rc_capacitance``: a non-blocking scope
    capture of CAP, SET_CAP high then low (private ``_set_cap``), fetch.
    """
    (x,) = mm.capture("CAP", CP.MAX_SAMPLES, RC_SAMPLE_INTERVAL_US, block=False)
    mm._set_cap(1, RC_DRIVE_TIME_US)  # charge
    mm._set_cap(0, RC_DRIVE_TIME_US)  # discharge
    (y,) = mm.fetch_data()
    tau = discharge_time_constant(np.asarray(x, dtype=float) * 1e-6, np.asarray(y, dtype=float))
    return float(tau / mm._RC_RESISTANCE - mm._stray_capacitance)


def discharge_time_constant(seconds: np.ndarray, volts: np.ndarray) -> float:
    """The time constant of the last exponential decay towards 0 V in a record.

    The held level is the record's highest voltage. A fast decay (a time constant under
    ``SLOW_INTERVALS`` samples: the CTMU's range) is fitted from the first sample that
    is more than noise below it: a sample taken after the discharge began but before it
    fell measurably is left out too, which costs nothing, and a held sample is never in.
    A slow decay falls by less than the noise in many samples, so that margin would
    throw most of it away: it is fitted from the end of the held level found on a
    moving average, where a few held samples more or less change nothing. Either fit
    runs while the voltage stays above ``FLOOR_FRACTION`` of the held level.
    """
    held = float(volts.max())
    if held <= HOLD_VOLTS:
        raise OutOfRange(
            "capacitance: CAP did not charge (is it shorted to GND?)",
            details={"range_farads": [MIN_FARADS, MAX_FARADS]},
        )
    interval = float(seconds[1] - seconds[0])
    margin = max(HOLD_FRACTION * held, HOLD_VOLTS)
    first = int(np.flatnonzero(volts >= held - margin)[-1]) + 1
    tau = _fit_decay(seconds, volts, first, held)
    if tau is not None and tau < SLOW_INTERVALS * interval:
        return tau
    smooth = np.convolve(volts, np.ones(SMOOTHING) / SMOOTHING, mode="valid")
    first = int(np.argmax(smooth)) + SMOOTHING
    tau = _fit_decay(seconds, volts, first, held)
    # Under one ADC step of decay in the whole record (above about 300 µF), the fit is noise.
    if tau is None or held * -np.expm1((first - volts.size) * interval / tau) < ADC_STEP:
        raise OutOfRange(
            "capacitance: no measurable discharge: the capacitor on CAP is too large to "
            "measure (the PSLab measures up to about 300 µF: 50 ms through 10 kΩ charges "
            "a larger one by less than one ADC step)",
            details={"range_farads": [MIN_FARADS, MAX_FARADS]},
        )
    return tau


def _fit_decay(seconds: np.ndarray, volts: np.ndarray, first: int, held: float) -> float | None:
    """The time constant fitted from sample ``first`` down to the floor; None if none."""
    below = np.flatnonzero(volts[first:] <= FLOOR_FRACTION * held)
    last = first + int(below[0]) if below.size else volts.size
    t, v = seconds[first:last], volts[first:last]
    if v.size < 2:
        return None
    # log(v) = log(v0) - t / tau; noise is constant in volts, so weight each log by v.
    slope = float(np.polyfit(t, np.log(v), 1, w=v)[0])
    return -1 / slope if slope < 0 else None
