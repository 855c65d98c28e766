"""The emulator as a pslab connection handler: transport, link timing and fault injection.

:class:`Emulator` stands where pslab's ``SerialHandler`` would: the real pslab library
writes command bytes into it and reads the answers back, and the emulated firmware
(:mod:`.firmware`) produces them from the virtual bench (:mod:`.bench`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from serial import PortNotOpenError, SerialException

from remotelab.config import EmulatorSettings
from remotelab.device.pslab_compat import IntegerSafeHandler
from remotelab.errors import InputError

from .bench import Bench
from .clock import Clock
from .firmware import COMMANDS, HW_VERSION, Firmware
from .noise import Noise
from .wiring import load_bench_file, parse_wiring

#: The default bench (documented in docs/reference/emulator.md).
DEFAULT_WIRING: tuple[str, ...] = (
    "SI1 -> CH1",
    "SI2 -> CH2",
    "PV1 -> CH3",
    "PV2 -> MIC",
    "PV3 -> VOL",
    "RES -> 10k -> GND",
    "CAP -> 1nF -> GND",
    "PCS -> 1k -> GND",
    "PCS -> AN4",
    "SQ1 -> LA1",
    "SQ2 -> LA2",
    "SQ3 -> LA3",
    "SQ4 -> LA4",
)


def settle_delays(limits: EmulatorSettings) -> dict[str, float]:
    """Seconds each output takes to reach its new value after a command (real-time mode)."""
    kinds = {
        "wave": ("SI1", "SI2"),
        "power": ("PV1", "PV2", "PV3", "PCS"),
        "pwm": ("SQ1", "SQ2", "SQ3", "SQ4"),
    }
    return {
        name: getattr(limits, f"settle_ms_{kind}") / 1000
        for kind, names in kinds.items()
        for name in names
    }


Fault = Literal["disconnect", "silent", "garbage"]
FAULTS: tuple[Fault, ...] = ("disconnect", "silent", "garbage")
PORT = "emulator"
_COMPACT_AT = 1 << 16


class Emulator(IntegerSafeHandler):
    """A PSLab v6 emulated at the byte-protocol level, on a virtual bench.

    ``wiring`` lists the bench's connections in pslab's notation (default:
    :data:`DEFAULT_WIRING`); ``seed`` seeds the noise; ``realtime`` makes captures,
    waits and the 1 Mbaud link take real time (by default they are instantaneous and
    only emulated time advances). The emulator starts connected, like the handler
    ``pslab.connection.autoconnect()`` returns, so ``ScienceLab(device=Emulator())``
    works at once.

    Raises:
        InputError: a wiring string does not parse, or the wiring shorts outputs.
    """

    def __init__(
        self,
        wiring: Iterable[str] | None = None,
        seed: int | None = None,
        realtime: bool = False,
        *,
        limits: EmulatorSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.wiring: list[str] = list(DEFAULT_WIRING if wiring is None else wiring)
        self.limits = limits or EmulatorSettings()
        self.clock = clock or Clock(realtime)
        self.bench = Bench(
            parse_wiring(self.wiring),
            history=self.limits.history,
            max_logic_samples=self.limits.max_logic_samples,
            delays=settle_delays(self.limits) if self.clock.realtime else None,
        )
        self.noise = Noise(seed)
        self.firmware = Firmware(self.bench, self.clock, self.noise, COMMANDS)
        self.version = HW_VERSION.decode()
        self.baudrate = self.limits.baudrate
        self._timeout = self.limits.read_timeout
        self._garbage_rng = np.random.default_rng(seed)
        self._lock = threading.RLock()
        self._read_pos = 0
        self._open = True
        self._stale = False  # the handle outlived a "disconnect" fault
        self._fault: Fault | None = None
        # Cleared while "silent": a read waiting for an answer wakes when the fault ends
        # or the port closes, not only at its timeout.
        self._answering = threading.Event()
        self._answering.set()
        self._link_free = 0.0

    @classmethod
    def from_toml(
        cls, path: str | Path, seed: int | None = None, realtime: bool = False
    ) -> Emulator:
        """An emulator wired as the TOML bench file at ``path`` says (``wiring = [...]``).

        Raises:
            InputError: the file is not a valid bench file (see :func:`.load_bench_file`).
            OSError: the file cannot be read.
        """
        return cls(load_bench_file(path), seed=seed, realtime=realtime)

    # -- serial-port-like attributes --------------------------------------------------

    @property
    def port(self) -> str:
        """Name of the emulated port."""
        return PORT

    @property
    def realtime(self) -> bool:
        return self.clock.realtime

    @property
    def timeout(self) -> float:
        """Seconds a read waits for missing bytes (real-time mode and "silent" fault only)."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._timeout = float(value)

    @property
    def interface(self) -> Emulator:
        """The serial-port-like object pslab reaches for (``readline``, ``baudrate``)."""
        return self

    @property
    def connected(self) -> bool:
        """True while the port is open and usable."""
        return self._open and not self._stale and self._fault != "disconnect"

    @property
    def fault(self) -> Fault | None:
        """The injected fault, if any."""
        return self._fault

    # -- ConnectionHandler -------------------------------------------------------------

    def connect(self) -> None:
        """Open the port and check the device answers the version query.

        Reconnecting an open emulator is allowed (it flushes both directions).

        Raises:
            serial.SerialException: a "disconnect" fault is active (no such port).
            ConnectionError: pslab's "device not found": the device does not answer
                the version query ("silent" or "garbage" fault).
        """
        with self._lock:
            if self._fault == "disconnect":
                raise SerialException(
                    2, f"could not open port {PORT}: [Errno 2] No such file or directory: {PORT!r}"
                )
            self._open, self._stale = True, False
            self._flush()
        try:
            self.get_version()
        except Exception:
            self._open = False
            raise

    def disconnect(self) -> None:
        """Close the port (the emulated device keeps its state, as over USB); a read waiting
        for a silent device returns at once."""
        self._open = False
        self._answering.set()

    def write(self, data: bytes) -> int:
        """Send bytes to the emulated firmware.

        Raises:
            serial.PortNotOpenError: the port is closed.
            serial.SerialException: the device vanished ("disconnect" fault).
            UnsupportedCommand: the bytes hold a command the emulator does not model.
        """
        with self._lock:
            self._check_usable("write failed: [Errno 5] Input/output error")
            data = bytes(data)
            self._transfer(len(data))
            if self._fault == "silent":
                return len(data)
            out = self.firmware.out
            start = len(out)
            self.firmware.feed(data)
            if self._fault == "garbage" and len(out) > start:
                noise = self._garbage_rng.integers(0, 128, len(out) - start, dtype=np.uint8)
                out[start:] = (noise << 1).tobytes()  # never an ACK: bit 0 is clear
            return len(data)

    def read(self, numbytes: int) -> bytes:
        """Read up to ``numbytes`` answer bytes; fewer when no more are coming.

        As from a serial port with a timeout, a short read is not an error: pslab
        raises its own (TimeoutError, RuntimeError) when the answer is incomplete.

        Raises:
            serial.PortNotOpenError: the port is closed.
            serial.SerialException: the device vanished ("disconnect" fault).
        """
        with self._lock:
            if not self._open or self._stale or self._fault == "disconnect":
                self._check_usable(
                    "device reports readiness to read but returned no data "
                    "(device disconnected or multiple access on port?)"
                )
            out = self.firmware.out
            pos = self._read_pos
            take = min(numbytes, len(out) - pos)
            data = bytes(out[pos : pos + take])
            pos += take
            if pos >= _COMPACT_AT or pos == len(out):
                del out[:pos]
                pos = 0
            self._read_pos = pos
            self._transfer(take)
            silent = self._fault == "silent"
            wait = take < numbytes and (self.clock.realtime or silent)
        if wait and silent:
            self._answering.wait(self._timeout)
        elif wait:
            self.clock.sleep(self._timeout)
        return data

    def readline(self) -> bytes:
        """Read up to and including a newline, or what is there."""
        with self._lock:
            out = self.firmware.out
            end = out.find(b"\n", self._read_pos)
            count = len(out) - self._read_pos if end < 0 else end + 1 - self._read_pos
        return self.read(count) if count else self.read(1)

    # -- faults -----------------------------------------------------------------------

    def inject_fault(self, kind: Fault) -> None:
        """Make the device misbehave until :meth:`clear_fault`.

        ``"disconnect"``: the USB device vanished - reads and writes raise
        ``serial.SerialException`` and :meth:`connect` fails. ``"silent"``: the device
        stops answering - writes are swallowed, reads return nothing after
        :attr:`timeout` (or as soon as the fault is cleared or the port closed; with a
        long timeout, an instrument call that hangs). ``"garbage"``: every answer byte is
        corrupted, so pslab raises RuntimeError on the bad ACK (or ConnectionError on the
        version check).

        Raises:
            InputError: unknown ``kind``.
        """
        if kind not in FAULTS:
            raise InputError(f"unknown fault {kind!r}; choose one of {', '.join(FAULTS)}")
        with self._lock:
            self._fault = kind
            if kind == "disconnect":
                self._stale = True
            if kind in ("disconnect", "silent"):
                self._flush()
            if kind == "silent":
                self._answering.clear()
            else:
                self._answering.set()

    def clear_fault(self) -> None:
        """End the injected fault.

        After "disconnect" the device is plugged back in: it powers up afresh and the
        old handle stays dead until :meth:`connect` is called. After "silent" or
        "garbage" the device answers again (a half-received command is dropped).
        """
        with self._lock:
            if self._fault == "disconnect":
                self.firmware.power_on()
            self._fault = None
            self._flush()
            self._answering.set()

    # -- internals --------------------------------------------------------------------

    def _check_usable(self, vanished: str) -> None:
        if not self._open:
            raise PortNotOpenError()
        if self._stale or self._fault == "disconnect":
            raise SerialException(vanished)

    def _flush(self) -> None:
        self.firmware.out.clear()
        self._read_pos = 0
        self.firmware.restart()

    def _transfer(self, nbytes: int) -> None:
        """Account for ``nbytes`` crossing the serial link (10 bits per byte)."""
        if nbytes <= 0:
            return
        seconds = nbytes * 10 / self.baudrate
        if not self.clock.realtime:
            self.clock.advance(seconds)
            return
        now = self.clock.now()
        self._link_free = max(self._link_free, now) + seconds
        if self._link_free - now > 1e-3:  # sleep in chunks: short sleeps are inaccurate
            self.clock.wait_until(self._link_free)

    def __repr__(self) -> str:
        return f"{type(self).__name__}[{PORT}, {self.baudrate} baud]"
