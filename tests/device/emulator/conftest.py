"""Fixtures for the emulator tests: an emulator on the default bench and pslab on it."""

from __future__ import annotations

import pytest
from pslab import ScienceLab

from remotelab.device.emulator import Emulator


@pytest.fixture
def emu() -> Emulator:
    return Emulator(seed=1)


@pytest.fixture
def psl(emu: Emulator) -> ScienceLab:
    return ScienceLab(device=emu)
