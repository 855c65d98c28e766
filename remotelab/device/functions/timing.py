"""How long a call holds the instrument, estimated from its checked arguments (pure).

The fair queue shares the device between users by device time (deficit round robin,
ADR 0011): before a call queues, its *expected device time* decides when its turn comes,
and a call expected to take longer than ``REMOTELAB_DEVICE_MAX_CALL_SECONDS`` is refused.
Afterwards the user is charged what the call really took, so an estimate only has to be
about right; it must not be far too low for a long call, or the per-call limit misses it.

Every function's estimate is declared in ``catalog.DEVICE_TIMES`` with one of the rules
below. The figures are those of a PSLab v6 on its 1 Mbaud serial link, checked against
the emulator in real-time mode (``REMOTELAB_EMULATOR_REALTIME``), which models the link
and the capture windows (docs/reference/device.md has the table):

- a byte takes 10 µs (10 bits: start, 8 data, stop);
- a command with a short answer (a setting, a state) about 0.5 ms, counting the USB
  serial bridge's turnaround; a voltage reading 1 ms (pslab's autorange reads twice);
- a capture takes its window (samples x timegap), then 2 bytes per sample and channel,
  fetched 128 samples a command (0.4 ms each);
- a wait for edges takes its timeout at most (no signal), then 4 bytes per timestamp
  (2 in three- and four-channel mode).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from remotelab.device.functions.params import format_number

BYTE: Final = 10e-6
"""Seconds one byte takes on the 1 Mbaud link (10 bits)."""
QUICK: Final = 0.5e-3
"""A command and its short answer: a setting, a state, a value the library remembers."""
READING: Final = 1e-3
"""A voltage (or resistance) reading: pslab's autorange measures twice, 16 samples each."""
CAPACITANCE: Final = 0.3
"""``measure_capacitance``: the CTMU discharges CAP and charges it on several current
ranges until the voltage is in range (280 ms in the emulator's real-time mode; up to 0.5 s)."""
TABLE: Final = 12e-3
"""Loading a 512-point waveform table: about 1 kB over the link."""
CAPTURE_SETUP: Final = 2e-3
"""Configuring and starting a capture, and asking whether it is done."""
TRIGGER_WAIT: Final = 8e-3
"""The longest the firmware waits for a trigger before it captures anyway."""
CHUNK: Final = 0.4e-3
"""Per 128 samples fetched from the sample buffer (pslab asks for them 128 at a time): one
command's turnaround each."""
WAIT_SETUP: Final = 1e-3
"""Arming the logic analyzer or the counter, and the last look at its progress."""

MARGIN: Final = 0.01
"""Seconds by which an estimate may pass ``REMOTELAB_DEVICE_MAX_CALL_SECONDS``: the few
commands around a 1 s wait (about 1 ms) do not make it longer than a 1 s limit."""

CAPTURE_FORMULA: Final = (
    "`{samples}` x `{timegap}` + 2 bytes per sample and channel (20 µs) + 0.4 ms per 128 "
    "samples and channel + 2 ms"
)


@dataclass(frozen=True)
class Estimate:
    """The expected device time of one call, and what to say when it is too long."""

    seconds: float
    #: What the call does that takes the time, with the arguments that set it
    #: ("waits up to 10 s for edges (timeout=10)").
    what: str
    #: The parameter to change for a shorter call; None when nothing makes it shorter.
    parameter: str | None = None
    #: How to make it shorter ("use a smaller timeout").
    advice: str = ""
    #: Uses the capture engine (sample buffer, logic analyzer, pulse counter).
    engine: bool = False
    #: Waits in slices: the device serves other calls while it waits.
    sliced: bool = False

    @property
    def ms(self) -> float:
        """The estimate in milliseconds, rounded to 0.1 ms (for people)."""
        return round(self.seconds * 1000, 1)


Rule = Callable[[dict[str, Any]], Estimate]
"""Estimates the device time of a call from its checked arguments (by parameter name)."""


@dataclass(frozen=True)
class DeviceTime:
    """How a function's device time follows from its arguments."""

    #: The rule in words, for docs/reference/functions.md and ``GET /v1/functions``.
    formula: str
    rule: Rule = field(repr=False)

    def estimate(self, args: dict[str, Any]) -> Estimate:
        return self.rule(args)


def duration(seconds: float) -> str:
    """``0.5 ms``, ``12 ms``, ``1.2 s``."""
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:.2g} ms" if ms < 10 else f"{ms:.0f} ms"
    return f"{seconds:.3g} s"


def _size(count: int) -> str:
    return f"{count} bytes" if count < 10_000 else f"{count / 1000:.3g} kB"


def fixed(seconds: float, what: str, *, engine: bool = False) -> DeviceTime:
    """A call that takes about the same time whatever its arguments (``what``: a noun)."""
    text = f"{what} takes about {duration(seconds)}"
    estimate = Estimate(seconds, text, engine=engine)
    return DeviceTime(duration(seconds), lambda args: estimate)


def repeated(parameter: str, each: float, what: str) -> DeviceTime:
    """``parameter`` times the same measurement of ``each`` seconds."""

    def rule(args: dict[str, Any]) -> Estimate:
        count = args[parameter]
        return Estimate(
            count * each,
            f"makes {count} {what} ({parameter}={count})",
            parameter,
            f"use fewer {what}",
        )

    return DeviceTime(f"`{parameter}` x {duration(each)}", rule)


def scope_capture(
    *, samples: str, timegap: str, channels: int | str, trigger: str | None = None
) -> DeviceTime:
    """An oscilloscope capture: its window, then its samples over the link.

    ``channels``: the channel count, or the parameter holding it (a count, or one input's
    name). Three channels run the firmware's four-channel capture and transfer four.
    """

    def rule(args: dict[str, Any]) -> Estimate:
        count = args[samples]
        gap = args[timegap]
        n = channels if isinstance(channels, int) else args[channels]
        n = 1 if isinstance(n, str) else 4 if n == 3 else n
        window = count * gap * 1e-6
        size = 2 * count * n
        triggered = trigger is not None and args[trigger] is not None
        chunks = n * math.ceil(count / 128)
        seconds = (
            window
            + size * BYTE
            + chunks * CHUNK
            + CAPTURE_SETUP
            + (TRIGGER_WAIT if triggered else 0)
        )
        return Estimate(
            seconds,
            f"captures for {duration(window)} and transfers {_size(size)} "
            f"({samples}={count}, {timegap}={format_number(gap)}), about {duration(seconds)} "
            "in all",
            samples,
            f"use fewer samples ({samples}) or a shorter timegap ({timegap})",
            engine=True,
        )

    formula = CAPTURE_FORMULA.format(samples=samples, timegap=timegap)
    if trigger is not None:
        formula += f" (+ 8 ms with a `{trigger}`)"
    return DeviceTime(formula, rule)


Count = Callable[[dict[str, Any]], int]


def edge_wait(
    *,
    events: int | Count,
    channels: int | Count = 1,
    timeout: str = "timeout",
    what: str = "edges",
    advice: str = "",
) -> DeviceTime:
    """A wait of at most ``timeout`` for ``events`` logic events per channel, in slices.

    ``events`` and ``channels``: numbers, or functions of the arguments.
    """

    def rule(args: dict[str, Any]) -> Estimate:
        wait = args[timeout]
        count = events if isinstance(events, int) else events(args)
        n = channels if isinstance(channels, int) else channels(args)
        size = count * n * (4 if n <= 2 else 2)
        # Three or four channels come from the sample buffer, 128 timestamps a command.
        chunks = n * math.ceil(count / 128) if n > 2 else 0
        then = f", then transfers {_size(size)}" if size * BYTE >= 10e-3 else ""
        return Estimate(
            wait + WAIT_SETUP + size * BYTE + chunks * CHUNK,
            f"waits up to {format_number(wait)} s for {what} ({timeout}={format_number(wait)})"
            + then,
            timeout,
            advice or f"use a smaller {timeout}",
            engine=True,
            sliced=True,
        )

    if isinstance(events, int) and isinstance(channels, int):
        size = events * channels * (4 if channels <= 2 else 2)
        formula = f"`{timeout}` + {duration(WAIT_SETUP + size * BYTE)}, in slices"
    else:
        formula = f"`{timeout}` + 1 ms + 4 bytes per timestamp (2 with 3-4 channels), in slices"
    return DeviceTime(formula, rule)


def counting(interval: str = "interval") -> DeviceTime:
    """Counting pulses for ``interval`` seconds, in slices."""

    def rule(args: dict[str, Any]) -> Estimate:
        wait = args[interval]
        return Estimate(
            wait + WAIT_SETUP,
            f"counts pulses for {format_number(wait)} s ({interval}={format_number(wait)})",
            interval,
            f"use a smaller {interval}",
            engine=True,
            sliced=True,
        )

    return DeviceTime(f"`{interval}` + {duration(WAIT_SETUP)}, in slices", rule)


def frequency(
    *, timeout: str = "timeout", simultaneous: str = "simultaneous_oscilloscope"
) -> DeviceTime:
    """``measure_frequency``: a wait in slices, or in firmware, where it cannot be shared.

    The firmware answers nothing until it is done, and pslab asks it twice when no edge
    came: up to twice ``timeout`` in one piece.
    """
    software = edge_wait(events=2, timeout=timeout)

    def rule(args: dict[str, Any]) -> Estimate:
        if not args[simultaneous]:
            return software.estimate(args)
        wait = args[timeout]
        return Estimate(
            2 * wait + WAIT_SETUP,
            f"waits up to {format_number(2 * wait)} s for edges in firmware, where pslab "
            f"tries twice ({timeout}={format_number(wait)})",
            timeout,
            f"use a smaller {timeout}, or {simultaneous}=False (waits in slices)",
            engine=True,
        )

    return DeviceTime(
        f"{software.formula}; with `{simultaneous}`: 2 x `{timeout}` in one piece", rule
    )
