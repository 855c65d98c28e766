"""What every firmware handler shares: the firmware's state, its command loop, the types.

The PSLab firmware reads a primary and a secondary command byte, then the
command's arguments, runs it, and (usually) writes its results and an ACK byte
(``0x01``; ``0x02`` for an argument error). :class:`Firmware` reproduces that loop as a
generator: each command handler is itself a generator that ``yield``s how many
argument bytes it needs next and receives them, so arguments may arrive in any
number of writes, exactly as over a serial line. The loop looks commands up in the
table it is given (:data:`.commands.COMMANDS`), so this module needs no handler.

Commands the firmware leaves undefined, unimplemented or removed get no answer at
all, as on the device (pslab then times out). Commands the firmware implements but
the emulator does not model raise :class:`..errors.UnsupportedCommand`.

The state that outlives a command lives here too, so that :meth:`Firmware.power_on`
can reset it: the ADC settings (:class:`AdcState`), the waveform and PWM outputs
(:class:`WavegenState`), the pulse counter (:class:`Counter`) and the running
acquisition (any :class:`Acquisition`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ..bench import Bench, Floating
from ..clock import Clock
from ..errors import UnsupportedCommand
from ..noise import Noise
from ..signals import Constant, Signal, Square, TableWave

Handler = Generator[int, bytes, None]
HandlerFactory = Callable[["Firmware"], Handler]

SUCCESS = 0x01
ARGUMENT_ERROR = 0x02
BUFFER_SIZE = 10_000  # 16-bit words, pslab.protocol.MAX_SAMPLES
HW_VERSION = b"PSLab V6\n"
FW_VERSION = (3, 0, 0)
#: Highest primary command group the firmware accepts (it ignores larger ones).
NUM_PRIMARY = 13


def u16(data: bytes) -> int:
    """Little-endian unsigned 16-bit integer."""
    return int.from_bytes(data, "little")


class Acquisition(Protocol):
    """A capture that fills the sample buffer as emulated time passes."""

    def sync(self, fw: Firmware, now: float, everything: bool) -> None:
        """Write into ``fw.buffer`` what has been acquired by ``now`` (or all of it)."""


@dataclass(frozen=True)
class Command:
    """One entry of the command table: a handler, or None for "the firmware stays silent"."""

    name: str
    handler: HandlerFactory | None
    modelled: bool = True


CommandTable = Mapping[tuple[int, int], Command]


@dataclass
class AdcState:
    """Oscilloscope/voltmeter settings that persist between commands."""

    gains: dict[str, int] = field(default_factory=lambda: {"CH1": 1, "CH2": 1})
    trigger_channel: int = 0
    trigger_level: int = 0
    trigger_prescaler: int = 0
    status: tuple[bool, int] = (True, 0)


# -- waveform generator and PWM outputs ------------------------------------------------

#: Points of the SI waveform tables: high resolution (512) and low resolution (32).
HIGHRES, LOWRES = 512, 32
#: AC-coupling corner of the SI outputs (Hz): pslab warns below 20 Hz.
AC_COUPLING_CORNER = 2.0
#: First-order roll-off corner of the SI outputs (Hz): pslab warns above 5 kHz.
ROLL_OFF_CORNER = 20e3
SI_PINS = ("SI1", "SI2")
SQ_PINS = ("SQ1", "SQ2", "SQ3", "SQ4")
IntArray = npt.NDArray[np.int64]


def si_gain(frequency: float) -> float:
    """Amplitude gain of an SI output at ``frequency`` (AC coupling and roll-off)."""
    f = max(frequency, 1e-9)
    high_pass = f / math.hypot(f, AC_COUPLING_CORNER)
    low_pass = 1.0 / math.hypot(1.0, f / ROLL_OFF_CORNER)
    return high_pass * low_pass


def _sine_table(points: int, top: int) -> IntArray:
    x = 2 * np.pi * np.arange(points) / points
    return np.rint((3.3 * np.sin(x) + 3.3) / 6.6 * top).astype(np.int64)


@dataclass
class SineOutput:
    """State of one SI output."""

    highres_table: IntArray = field(default_factory=lambda: _sine_table(HIGHRES, 511))
    lowres_table: IntArray = field(default_factory=lambda: _sine_table(LOWRES, 63))
    running: bool = False
    frequency: float = 0.0
    highres: bool = True
    t_ref: float = 0.0
    phase: float = 0.0  # fraction of a period by which this output leads

    def signal(self) -> Signal:
        if not self.running:
            return Constant(0.0)
        if self.highres:
            volts = self.highres_table / 511 * 6.6 - 3.3
        else:
            volts = self.lowres_table / 63 * 6.6 - 3.3
        volts = volts - volts.mean()  # AC-coupled output
        return TableWave(volts, self.frequency, self.t_ref, si_gain(self.frequency), self.phase)


@dataclass
class SquareOutput:
    """State of one SQ output."""

    mode: str = "static"  # "static", "pwm" or "refclk"
    level: bool = False
    period: float = 1.0
    rise: float = 0.0
    fall: float = 0.0
    t_ref: float = 0.0

    def signal(self) -> Signal:
        if self.mode == "static":
            return Constant(3.3 if self.level else 0.0)
        return Square(self.period, self.rise, self.fall, self.t_ref)


@dataclass
class WavegenState:
    """The SI1/SI2 and SQ1-SQ4 outputs."""

    si: dict[str, SineOutput] = field(default_factory=lambda: {p: SineOutput() for p in SI_PINS})
    sq: dict[str, SquareOutput] = field(
        default_factory=lambda: {p: SquareOutput() for p in SQ_PINS}
    )

    def apply(self, fw: Firmware, t: float, pins: tuple[str, ...] = SI_PINS + SQ_PINS) -> None:
        """Push the named outputs' signals to the bench from time ``t``."""
        for pin in pins:
            state = self.si[pin] if pin in self.si else self.sq[pin]
            fw.bench.set_output(pin, state.signal(), t)


@dataclass
class Counter:
    """The pulse counter started by START_COUNTING."""

    pin: str
    since: float


# -- the firmware ------------------------------------------------------------------------


class Firmware:
    """The firmware's state and command loop (no I/O; the transport feeds it bytes).

    ``commands`` is the command table the loop dispatches on
    (:data:`.commands.COMMANDS` for the emulated PSLab).
    """

    def __init__(self, bench: Bench, clock: Clock, noise: Noise, commands: CommandTable) -> None:
        self._commands = commands
        self.bench = bench
        self.clock = clock
        self.noise = noise
        self.out = bytearray()
        self._inbox = bytearray()
        self.power_on()

    def power_on(self) -> None:
        """Reset every instrument to its power-on state and restart the command loop."""
        self.buffer: npt.NDArray[np.uint16] = np.zeros(BUFFER_SIZE, dtype=np.uint16)
        self.acquisition: Acquisition | None = None
        self.adc = AdcState()
        self.wavegen = WavegenState()
        self.counter: Counter | None = None
        self.la_states = 0
        self.ram: dict[int, int] = {}
        self.rgb: list[int] = []
        now = self.clock.now()
        for name in ("PV1", "PV2", "PV3", "PCS"):
            self.bench.set_output(name, Constant(0.0), now)
        self.bench.set_cap_driver(Floating(), now)
        self.wavegen.apply(self, now)
        self.restart()

    def restart(self) -> None:
        """Drop any half-received command and wait for a new one (as after a resync)."""
        self._inbox.clear()
        self._loop = self._main()
        self._need = next(self._loop)

    # -- replies ---------------------------------------------------------------------

    def reply(self, data: bytes | bytearray) -> None:
        self.out += data

    def reply_u8(self, value: int) -> None:
        self.out.append(value & 0xFF)

    def reply_u16(self, value: int) -> None:
        self.out += (int(value) & 0xFFFF).to_bytes(2, "little")

    def reply_u32(self, value: int) -> None:
        self.out += (int(value) & 0xFFFFFFFF).to_bytes(4, "little")

    def ack(self, code: int = SUCCESS) -> None:
        self.out.append(code)

    # -- shared buffer -----------------------------------------------------------------

    def sync(self) -> None:
        """Bring the sample buffer up to date with the running acquisition."""
        if self.acquisition is not None:
            self.acquisition.sync(self, self.clock.now(), not self.clock.realtime)

    def start(self, acquisition: Acquisition) -> None:
        """Replace the running acquisition (the previous one keeps what it acquired)."""
        self.sync()
        self.acquisition = acquisition

    # -- command loop ------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Process bytes received from the host; replies accumulate in :attr:`out`.

        Raises:
            UnsupportedCommand: a command the emulator does not model arrived; the
                command loop restarts, waiting for a new command.
        """
        self._inbox += data
        pos = 0
        try:
            while len(self._inbox) - pos >= self._need:
                chunk = bytes(self._inbox[pos : pos + self._need])
                pos += self._need
                self._need = self._loop.send(chunk)
        except BaseException:
            self.restart()
            raise
        del self._inbox[:pos]

    def _main(self) -> Handler:
        while True:
            primary = (yield 1)[0]
            secondary = (yield 1)[0]
            if primary > NUM_PRIMARY:
                continue
            command = self._commands.get((primary, secondary))
            if command is None or command.handler is None:
                if command is not None and not command.modelled:
                    raise UnsupportedCommand(
                        f"the emulator does not model {command.name} "
                        f"(command bytes {primary}, {secondary})",
                        details={"command": command.name, "bytes": [primary, secondary]},
                    )
                continue
            yield from command.handler(self)
