"""A context switch: bring the instrument's outputs from one setting to another.

Runs on the device thread, between two calls (never inside one). Only the outputs that
differ are sent, each through pslab's own instrument objects so that pslab's record of
them (the oscilloscope's gain, the PWM generator's duties, the power supply's values,
the waveform generator's tables) follows the device:

- ``CH1_RANGE``/``CH2_RANGE``: ``oscilloscope.select_range`` (the gain scales every sample
  a later capture returns);
- ``PV1``-``PV3``, ``PCS``: the power supply's properties;
- ``SI1``/``SI2``: a table is loaded only when the shape differs (1 kB each); the outputs
  are restarted when their frequency differs, both together when SI2 keeps a phase to SI1;
- ``SQ1``-``SQ4``: the four pins at once (they share one timer and one clock divider).

A device in an unknown state (just opened, or after a call failed half-way) gets every
output.
"""

from __future__ import annotations

from typing import Any

from remotelab.device.functions import bindings as b
from remotelab.device.outputs import (
    POWER_OUTPUTS,
    RANGE_OUTPUTS,
    SI_OUTPUTS,
    SQ_OUTPUTS,
    Outputs,
)


def apply(sl: Any, target: Outputs, current: Outputs | None) -> tuple[str, ...]:
    """Send what differs between ``current`` (None: unknown) and ``target``; return the names.

    Raises whatever pslab raises (the owner treats device errors as faults).
    """
    changed = target.diff(current)
    if not changed:
        return ()
    names = set(changed)
    for name in RANGE_OUTPUTS:
        if name in names:
            b.select_range(sl, name.removesuffix("_RANGE"), target.number(name))
    for name in POWER_OUTPUTS:
        if name in names:
            b.set_source(sl, name, target.number(name))
    if names.intersection(SI_OUTPUTS):
        _waves(sl, target, current)
    if names.intersection(SQ_OUTPUTS):
        b.restore_pwm(sl, [target.square(name) for name in SQ_OUTPUTS])
    return changed


def _waves(sl: Any, target: Outputs, current: Outputs | None) -> None:
    for channel in SI_OUTPUTS:
        if current is None or current.wave(channel).shape != target.wave(channel).shape:
            b.load_table(sl, channel, target.wave(channel).shape)
    si1, si2 = target.wave("SI1"), target.wave("SI2")
    if si2.phase is not None:
        b.start_waves(sl, ["SI1", "SI2"], [si1.frequency, si2.frequency], si2.phase)
        return
    for channel in SI_OUTPUTS:
        frequency = target.wave(channel).frequency
        if current is None or current.wave(channel).frequency != frequency:
            b.start_waves(sl, channel, frequency)
