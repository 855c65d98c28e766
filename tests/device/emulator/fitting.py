"""Curve fits used to check emulated signals (numpy only)."""

from __future__ import annotations

import math

import numpy as np


def _linear_fit(t: np.ndarray, y: np.ndarray, f: float) -> tuple[np.ndarray, float]:
    w = 2 * np.pi * f * t
    design = np.c_[np.sin(w), np.cos(w), np.ones_like(t)]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = float(np.sum((design @ coef - y) ** 2))
    return coef, residual


def fit_sine(x_us: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Fit ``a sin(2π f t + φ) + c`` to samples at times ``x_us`` (µs).

    The frequency starts at the FFT peak and is refined by minimising the residual of
    the (linear) fit of the other parameters. Returns (amplitude, frequency in Hz,
    phase in degrees, offset).
    """
    t = np.asarray(x_us, dtype=float) * 1e-6
    dt = t[1] - t[0]
    n = 8 * y.size
    spectrum = np.abs(np.fft.rfft((y - y.mean()) * np.hanning(y.size), n=n))
    freqs = np.fft.rfftfreq(n, dt)
    peak = int(np.argmax(spectrum))
    step = freqs[1] - freqs[0]
    f = _golden_min(lambda f: _linear_fit(t, y, f)[1], freqs[peak] - step, freqs[peak] + step)
    (s, c, offset), _ = _linear_fit(t, y, f)
    return float(np.hypot(s, c)), f, float(np.degrees(np.arctan2(c, s)) % 360), float(offset)


def _golden_min(fn: object, lo: float, hi: float, iterations: int = 60) -> float:
    """Minimum of a unimodal ``fn`` on [lo, hi] by golden-section search."""
    assert callable(fn)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = fn(c), fn(d)
    for _ in range(iterations):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = fn(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = fn(d)
    return (a + b) / 2
