"""The analog front end the ADC and CTMU handlers share: input multiplexer, spans, counts.

The front end maps each input's voltage range onto the ADC's counts exactly as
pslab 4.x assumes (pslab reads no calibration from the device): CH1 and CH2 span
±16.5 V divided by the PGA gain and are inverted (count 0 is +16.5 V), CH3 and MIC
span ±3.3 V, CAP, RES, VOL and AN4 span 0-3.3 V. Outside its span an input clips.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..signals import FloatArray
from .base import Firmware

#: ADC input multiplexer number -> pin (pslab.instrument.analog.PIC_ADC_MULTIPLEX).
ADC_PINS: dict[int, str] = {
    3: "CH1",
    0: "CH2",
    1: "CH3",
    2: "MIC",
    4: "AN4",
    5: "CAP",
    7: "RES",
    8: "VOL",
}
#: Voltage at count 0 and at full scale, before the PGA gain (CH1/CH2 only).
INPUT_SPANS: dict[str, tuple[float, float]] = {
    "CH1": (16.5, -16.5),
    "CH2": (16.5, -16.5),
    "CH3": (-3.3, 3.3),
    "MIC": (-3.3, 3.3),
    "CAP": (0.0, 3.3),
    "RES": (0.0, 3.3),
    "VOL": (0.0, 3.3),
    "AN4": (0.0, 3.3),
}


def span(fw: Firmware, pin: str | None) -> tuple[float, float]:
    """Voltages at count 0 and at full scale for ``pin`` with its current gain."""
    lo, hi = INPUT_SPANS.get(pin or "", (0.0, 3.3))
    gain = fw.adc.gains.get(pin or "", 1)
    return lo / gain, hi / gain


def to_counts(
    fw: Firmware, pin_span: tuple[float, float], volts: FloatArray, bits: int
) -> npt.NDArray[np.uint16]:
    """Convert voltages to ADC counts for an input spanning ``pin_span``: noise,
    quantisation, clipping."""
    full = 2**bits - 1
    lo, hi = pin_span
    ideal = (volts - lo) / (hi - lo) * full
    counts = np.rint(ideal + fw.noise.adc(ideal.shape, full))
    clipped: npt.NDArray[np.uint16] = np.clip(counts, 0, full).astype(np.uint16)
    return clipped


def pin_voltage(fw: Firmware, pin: str | None, t: FloatArray) -> FloatArray:
    """Voltage at ``pin`` (0 V for a multiplexer input that is not a pin)."""
    if pin is None:
        return np.zeros(np.shape(t))
    return fw.bench.voltage(pin, t)
