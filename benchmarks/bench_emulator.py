"""The emulator's own speed, through the real pslab library (what every test and every
emulated call pays): a 10,000-sample capture (target: at most 50 ms, best of 3) and the
round trip of a voltage reading (target: well under a millisecond, mean of 200).

``python -m benchmarks emulator``. Not a unit test: times depend on the machine's load.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pslab import ScienceLab

from benchmarks.support import table
from remotelab.device.emulator import Emulator

ROUNDS = 5
CAPTURE_TARGET_S = 0.05
VOLTAGE_TARGET_S = 0.5e-3
VOLTAGE_CALLS = 200


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    psl = ScienceLab(device=Emulator(seed=1))  # explicit device: pslab probes nothing
    psl.waveform_generator.generate("SI1", 1000)
    mm = psl.multimeter
    mm.measure_voltage("VOL")
    rows = []
    captures, voltages = [], []
    for round_ in range(1, ROUNDS + 1):
        capture = min(_timed(lambda: psl.oscilloscope.capture(1, 10000, 0.5)) for _ in range(3))
        voltage = (
            _timed(lambda: [mm.measure_voltage("VOL") for _ in range(VOLTAGE_CALLS)])
            / VOLTAGE_CALLS
        )
        captures.append(capture)
        voltages.append(voltage)
        rows.append([round_, f"{capture * 1e3:.1f}", f"{voltage * 1e6:.0f}"])
    table(
        "The emulator through pslab",
        ["round", "10,000-sample capture, best of 3 (ms)", "voltage round trip (µs)"],
        rows,
    )
    capture, voltage = sorted(captures)[ROUNDS // 2], sorted(voltages)[ROUNDS // 2]
    for what, value, target, unit, scale in (
        ("capture", capture, CAPTURE_TARGET_S, "ms", 1e3),
        ("voltage round trip", voltage, VOLTAGE_TARGET_S, "µs", 1e6),
    ):
        verdict = "meets" if value <= target else "misses"
        print(
            f"{what}: {value * scale:.2f} {unit}, the median of {ROUNDS} rounds "
            f"({verdict} {target * scale:g} {unit})"
        )


if __name__ == "__main__":
    main()
