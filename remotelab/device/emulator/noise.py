"""Seeded noise: what makes emulated readings look measured rather than computed.

One :class:`numpy.random.Generator` per emulator, so a seed and the same sequence of
commands (and clock readings) reproduce the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .signals import FloatArray


@dataclass(frozen=True)
class NoiseModel:
    """Noise magnitudes (documented in emulator.md)."""

    adc_lsb12: float = 0.6  # ADC noise, standard deviation in 12-bit LSBs of the input span
    temperature: float = 0.3  # MCU temperature wander, degrees C (standard deviation)


class Noise:
    """The emulator's source of randomness."""

    def __init__(self, seed: int | None = None, model: NoiseModel | None = None) -> None:
        self.model = model or NoiseModel()
        self.rng = np.random.default_rng(seed)

    def adc(self, shape: int | tuple[int, ...], full_scale: int) -> FloatArray:
        """Additive ADC noise in raw counts for a converter of ``full_scale`` counts."""
        sigma = self.model.adc_lsb12 * full_scale / 4095
        return self.rng.normal(0.0, sigma, shape)

    def gauss(self, sigma: float) -> float:
        """One normal sample of standard deviation ``sigma``."""
        return float(self.rng.normal(0.0, sigma))
