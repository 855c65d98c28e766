"""The emulated firmware: its state and the byte-level command dispatcher.

The PSLab firmware reads a primary and a secondary command byte, then the
command's arguments, runs it, and (usually) writes its results and an ACK byte
(``0x01``; ``0x02`` for an argument error). This module reproduces that loop as a
generator: each command handler is itself a generator that ``yield``s how many
argument bytes it needs next and receives them, so arguments may arrive in any
number of writes, exactly as over a serial line.

Commands the firmware leaves undefined, unimplemented or removed get no answer at
all, as on the device (pslab then times out). Commands the firmware implements but
the emulator does not model raise :class:`.errors.UnsupportedCommand`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from .bench import Bench, Floating
from .clock import Clock
from .errors import UnsupportedCommand
from .noise import Noise
from .signals import Constant

if TYPE_CHECKING:
    from .fw_timing import Counter
    from .fw_wavegen import WavegenState

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


@dataclass
class AdcState:
    """Oscilloscope/voltmeter settings that persist between commands."""

    gains: dict[str, int] = field(default_factory=lambda: {"CH1": 1, "CH2": 1})
    trigger_channel: int = 0
    trigger_level: int = 0
    trigger_prescaler: int = 0
    status: tuple[bool, int] = (True, 0)


class Firmware:
    """The firmware's state and command loop (no I/O; the transport feeds it bytes)."""

    def __init__(self, bench: Bench, clock: Clock, noise: Noise) -> None:
        from .commands import COMMANDS

        self._commands = COMMANDS
        self.bench = bench
        self.clock = clock
        self.noise = noise
        self.out = bytearray()
        self._inbox = bytearray()
        self.power_on()

    def power_on(self) -> None:
        """Reset every instrument to its power-on state and restart the command loop."""
        from .fw_wavegen import WavegenState

        self.buffer: npt.NDArray[np.uint16] = np.zeros(BUFFER_SIZE, dtype=np.uint16)
        self.acquisition: Acquisition | None = None
        self.adc = AdcState()
        self.wavegen: WavegenState = WavegenState()
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
