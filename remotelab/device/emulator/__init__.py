"""A protocol-level PSLab firmware emulator on a virtual bench.

``Emulator`` is a ``pslab.connection.ConnectionHandler``: the real pslab library
drives it exactly as it drives a PSLab over USB::

    from pslab import ScienceLab
    from remotelab.device.emulator import Emulator

    psl = ScienceLab(device=Emulator(seed=1))
    psl.waveform_generator.generate("SI1", 1000)
    x, y = psl.oscilloscope.capture("CH1", 1000, 2)   # SI1 is wired to CH1

See docs/reference/emulator.md for the bench, what is modelled and how faithfully.
"""

from __future__ import annotations

from .clock import Clock
from .emulator import DEFAULT_WIRING, FAULTS, Emulator, Fault
from .errors import UnsupportedCommand
from .wiring import (
    Component,
    Connection,
    load_bench,
    load_bench_file,
    load_experiment,
    parse_connection,
    parse_wiring,
)

__all__ = [
    "DEFAULT_WIRING",
    "FAULTS",
    "Clock",
    "Component",
    "Connection",
    "Emulator",
    "Fault",
    "UnsupportedCommand",
    "load_bench",
    "load_bench_file",
    "load_experiment",
    "parse_connection",
    "parse_wiring",
]
