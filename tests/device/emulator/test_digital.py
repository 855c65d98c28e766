"""Logic levels, edges and input-capture events."""

from __future__ import annotations

import numpy as np
import pytest

from remotelab.device.emulator.digital import (
    ConstantLevel,
    PeriodicEdges,
    SampledEdges,
    capture_events,
    crossings,
    sampled_crossings,
)


def square(period: float = 1.0, rise: float = 0.2, fall: float = 0.7) -> PeriodicEdges:
    return PeriodicEdges(0.0, period, np.array([rise]), np.array([fall]))


def test_crossings_of_a_sine() -> None:
    n = 1024
    samples = np.sin(2 * np.pi * np.arange(n) / n)
    rising, falling = crossings(samples, 0.5)
    assert rising == pytest.approx([np.arcsin(0.5) / (2 * np.pi)], abs=1e-4)
    assert falling == pytest.approx([0.5 - np.arcsin(0.5) / (2 * np.pi)], abs=1e-4)


def test_periodic_level() -> None:
    sig = square()
    assert sig.level(np.array([0.1, 0.3, 0.8, 1.3, -0.5])).tolist() == [
        False,
        True,
        False,
        True,
        True,
    ]


def test_periodic_edges_in_a_window() -> None:
    sig = square()
    assert sig.edges("rising", 0.0, 3.0, 10).tolist() == pytest.approx([0.2, 1.2, 2.2])
    assert sig.edges("any", 0.5, 2.0, 10).tolist() == pytest.approx([0.7, 1.2, 1.7])
    assert sig.edges("falling", 0.0, 100.0, 2).tolist() == pytest.approx([0.7, 1.7])
    assert sig.edges("rising", 0.2, 0.2, 5).size == 0


def test_count_rising_matches_edges() -> None:
    sig = square(period=1e-3)
    for start, end in [(0.0, 1.0), (0.00015, 0.00125), (0.3, 0.3004)]:
        assert sig.count_rising(start, end) == sig.edges("rising", start, end, 10**6).size


def test_capture_modes() -> None:
    sig = square()
    assert capture_events(sig, 3, 0.0, 100.0, 3).tolist() == pytest.approx([0.2, 1.2, 2.2])
    assert capture_events(sig, 2, 0.0, 100.0, 2).tolist() == pytest.approx([0.7, 1.7])
    assert capture_events(sig, 1, 0.0, 100.0, 3).tolist() == pytest.approx([0.2, 0.7, 1.2])
    assert capture_events(sig, 4, 0.0, 100.0, 2).tolist() == pytest.approx([3.2, 7.2])
    assert capture_events(sig, 5, 0.0, 100.0, 2).tolist() == pytest.approx([15.2, 31.2])
    assert capture_events(sig, 0, 0.0, 100.0, 2).size == 0


def test_constant_level_has_no_edges() -> None:
    sig = ConstantLevel(True)
    assert sig.level(np.zeros(3)).all()
    assert sig.edges("any", 0, 10, 10).size == 0
    assert sig.count_rising(0, 10) == 0


def test_sampled_edges() -> None:
    t = np.linspace(0, 1, 1001)
    y = np.where((t > 0.25) & (t < 0.5), 3.0, 0.0)
    initial, rising, falling = sampled_crossings(t, y, 1.5)
    sig = SampledEdges(initial, rising, falling)
    assert not initial
    assert rising == pytest.approx([0.2505], abs=1e-3)
    assert falling == pytest.approx([0.5], abs=1e-3)
    assert sig.level(np.array([0.1, 0.3, 0.9])).tolist() == [False, True, False]
    assert sig.count_rising(0, 1) == 1
