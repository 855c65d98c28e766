"""PSLab channel names, the old names pslab-remote used, and the limits pslab 4.x enforces.

The numbers are copied from pslab 4.x (the source is named beside each one);
``tests/device/functions/test_hardware.py`` compares them with the installed
library, so an upgrade that changes one fails loudly instead of silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from remotelab.device.functions.params import REQUIRED, Param

# --- channel names (pslab.instrument.analog / digital) ----------------------------

ANALOG_INPUTS: Final = ("CH1", "CH2", "CH3", "MIC", "CAP", "RES", "VOL", "AN4")
GAIN_INPUTS: Final = ("CH1", "CH2")
LOGIC_INPUTS: Final = ("LA1", "LA2", "LA3", "LA4")
FREQUENCY_INPUTS: Final = (*LOGIC_INPUTS, "FRQ")
COUNTER_INPUTS: Final = (*LOGIC_INPUTS, "RES", "FRQ")
PWM_OUTPUTS: Final = ("SQ1", "SQ2", "SQ3", "SQ4")
SINE_OUTPUTS: Final = ("SI1", "SI2")
WAVE_SHAPES: Final = ("sine", "tria")
# pslab.instrument.digital.MODES without "disabled", which captures nothing.
LOGIC_MODES: Final = ("any", "rising", "falling", "four rising", "sixteen rising")
PWM_STATES: Final = ("HIGH", "LOW", "PWM")

OLD_NAMES: Final = {
    "SEN": "RES",
    "AN8": "VOL",
    "ID1": "LA1",
    "ID2": "LA2",
    "ID3": "LA3",
    "ID4": "LA4",
    "CNTR": "FRQ",
    "SQR1": "SQ1",
    "SQR2": "SQ2",
    "SQR3": "SQ3",
    "SQR4": "SQ4",
    "W1": "SI1",
    "W2": "SI2",
}
"""pslab 1.x / pslab-remote pin names and the pslab 4.x names they stand for."""

# --- limits ------------------------------------------------------------------------

MAX_SAMPLES: Final = 10_000  # pslab.protocol.MAX_SAMPLES: the ADC buffer
# Oscilloscope._lookup_mininum_timegap, µs: {channels: (no trigger, trigger)}.
MIN_TIMEGAP: Final = {1: (0.5, 0.75), 2: (0.875, 0.875), 4: (1.75, 1.75)}
MAX_TIMEGAP: Final = 65_535 / 8  # timegap x 8 is sent as a 16-bit count of 125 ns ticks
VOLTAGE_RANGES: Final = (16, 8, 4, 3, 2, 1.5, 1, 0.5)  # Oscilloscope.select_range
TRIGGER_RANGE: Final = (-16.5, 16.5)  # analog.INPUT_RANGES of CH1/CH2, the widest inputs

PV1_RANGE: Final = (-5.0, 5.0)  # PowerSupply._PV1_RANGE, V
PV2_RANGE: Final = (-3.3, 3.3)  # PowerSupply._PV2_RANGE, V
PV3_RANGE: Final = (0.0, 3.3)  # PowerSupply._PV3_RANGE, V
PCS_RANGE: Final = (0.0, 3.3e-3)  # PowerSupply._PCS_RANGE, A

SINE_MIN_FREQUENCY: Final = 0.1  # WaveformGenerator._LOW_FREQUENCY_LIMIT, Hz
# One 64 MHz clock tick per point of the 32-point table (waveform_generator._get_wavelength).
SINE_MAX_FREQUENCY: Final = 64e6 / 32
PWM_MIN_FREQUENCY: Final = 4.0  # PWMGenerator._LOW_FREQUENCY_LIMIT, Hz
PWM_MAX_FREQUENCY: Final = 1e7  # PWMGenerator._HIGH_FREQUENCY_LIMIT, Hz
MAX_REFERENCE_PRESCALER: Final = 15  # PWMGenerator.map_reference_clock: 128 MHz / 2**p

MAX_EVENTS: Final = MAX_SAMPLES // 4  # LogicAnalyzer.capture: events per channel
# LogicAnalyzer._capture_four: 16-bit counter at 64 MHz, prescaled by at most 256.
MAX_E2E_TIME: Final = (2**16 - 1) / 64e6 * 256


def trace_names(channels: int, channel_one: str = "CH1") -> list[str]:
    """The inputs of a capture's traces, in order: channel one, then CH2, CH3, MIC
    (pslab samples them in that order; channel one may be remapped)."""
    return [channel_one, "CH2", "CH3", "MIC"][:channels]


def aliases_for(choices: Iterable[str]) -> dict[str, str]:
    """The old names that stand for one of ``choices``."""
    allowed = set(choices)
    return {old: new for old, new in OLD_NAMES.items() if new in allowed}


def pin(name: str, choices: tuple[str, ...], doc: str, default: str | None = REQUIRED) -> Param:
    """A parameter naming one pin of ``choices``; old names are accepted."""
    return Param(
        name,
        "str",
        doc,
        default,
        choices=choices,
        aliases=aliases_for(choices),
    )


def number(
    name: str,
    doc: str,
    *,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
    default: float | None = REQUIRED,
    integer: bool = False,
    high_exclusive: bool = False,
) -> Param:
    """A numeric parameter with an inclusive range (``high`` optionally exclusive)."""
    return Param(
        name,
        "int" if integer else "float",
        doc,
        default,
        minimum=low,
        maximum=high,
        unit=unit,
        max_exclusive=high_exclusive,
    )


def wait(name: str, doc: str, default: float, max_seconds: float) -> Param:
    """A timeout or interval in seconds, bounded by the ``max_wait_seconds`` limit."""
    return number(
        name, doc, low=0.001, high=max_seconds, unit="s", default=min(default, max_seconds)
    )


def samples_param(name: str = "samples") -> Param:
    """Samples per channel of an oscilloscope capture (the rest is checked per channel count)."""
    return number(
        name,
        f"Samples per channel: at most {MAX_SAMPLES} / channels (2500 for 3 or 4 channels).",
        low=1,
        high=MAX_SAMPLES,
        integer=True,
    )


def timegap_param(name: str = "timegap") -> Param:
    """Time between oscilloscope samples (the minimum is checked per channel count)."""
    return number(
        name,
        "Time between samples, rounded down to 1/8 µs; at least 0.5 (1 channel), 0.75 "
        "(1 channel, triggered), 0.875 (2 channels) or 1.75 (3-4 channels).",
        low=0.5,
        high=MAX_TIMEGAP,
        unit="µs",
    )
