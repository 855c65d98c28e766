"""Instrument backends: the emulator, or a PSLab on a USB serial port.

Detection never leaves the machine: it looks only at USB serial
ports whose VID:PID is a PSLab's (04d8:00df, 10c4:ea60), opens each with
pslab's ``SerialHandler`` and keeps the first that answers the version query.
pslab's ``detect()``/``autoconnect()`` are never called — they also probe the
PSLab's Wi-Fi address — and every pslab object gets an explicit ``device``.

``open()`` and ``close()`` run on the device thread (they do serial I/O).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from pslab import ScienceLab
from pslab.connection import SerialHandler

from remotelab.config import DeviceSettings, EmulatorSettings
from remotelab.device.emulator import Emulator, load_bench, load_bench_file
from remotelab.device.functions.effects import check_outputs
from remotelab.device.outputs import DEFAULT_BENCH, Outputs, changes_from_json
from remotelab.device.pslab_compat import IntegerSafeHandler
from remotelab.errors import InputError

log = logging.getLogger(__name__)

PSLAB_USB_IDS = ((0x04D8, 0x00DF), (0x10C4, 0xEA60))
SERIAL_BAUDRATE = 1_000_000
SERIAL_TIMEOUT = 1.0


class Backend(Protocol):
    #: The outputs the lab sets at start (the bench file's ``[outputs]``, or the default).
    bench: Outputs

    @property
    def settles(self) -> bool:
        """Whether outputs take time to settle after a change (the owner then waits)."""

    def open(self) -> Any:
        """Connect and return a ``pslab.ScienceLab`` on this backend."""

    def close(self) -> None:
        """Release the connection (idempotent)."""

    def info(self) -> dict[str, Any]:
        """JSON-safe facts for ``GET /v1/device``: backend, port, fallback reason."""

    def describe(self) -> str: ...


class EmulatorBackend:
    """The built-in firmware emulator, driven by the real pslab library."""

    def __init__(
        self, emulator: Emulator, *, fallback: str | None = None, bench: Outputs | None = None
    ) -> None:
        self.emulator = emulator
        self.fallback = fallback
        self.bench = bench or DEFAULT_BENCH

    @property
    def settles(self) -> bool:
        """In fast mode the emulator's outputs change at once; in real time they settle."""
        return self.emulator.realtime

    def open(self) -> Any:
        if not self.emulator.connected:
            self.emulator.connect()
        return ScienceLab(device=self.emulator)

    def close(self) -> None:
        self.emulator.disconnect()

    def info(self) -> dict[str, Any]:
        return {
            "backend": "emulator",
            "port": self.emulator.port,
            "fallback": self.fallback,
            "realtime": self.emulator.realtime,
            "wiring": list(self.emulator.wiring),
        }

    def describe(self) -> str:
        return "emulator" + (f" (fallback: {self.fallback})" if self.fallback else "")


class PslabSerialHandler(IntegerSafeHandler, SerialHandler):  # type: ignore[misc]  # pslab is untyped
    """pslab's serial handler, sending numpy integers at their intended width
    (see :class:`.pslab_compat.IntegerSafeHandler`)."""


class SerialBackend:
    """A real PSLab on a serial port."""

    bench: Outputs = DEFAULT_BENCH
    settles = True

    def __init__(self, port: str) -> None:
        self.port = port
        self._handler: PslabSerialHandler | None = None

    def open(self) -> Any:
        self.close()
        handler = PslabSerialHandler(
            port=self.port, baudrate=SERIAL_BAUDRATE, timeout=SERIAL_TIMEOUT
        )
        handler.connect()  # raises ConnectionError("device not found") when no PSLab answers
        self._handler = handler
        return ScienceLab(device=handler)

    def close(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            handler.disconnect()

    def info(self) -> dict[str, Any]:
        return {"backend": "pslab", "port": self.port, "fallback": None, "realtime": True}

    def describe(self) -> str:
        return f"PSLab on {self.port}"


def candidate_ports() -> list[str]:
    """USB serial ports whose VID:PID is a PSLab's (no I/O beyond listing)."""
    from serial.tools import list_ports

    return [port.device for port in list_ports.comports() if (port.vid, port.pid) in PSLAB_USB_IDS]


def find_pslab() -> str | None:
    """The first USB port where a PSLab answers the version query, or None."""
    for port in candidate_ports():
        handler = None
        try:
            handler = SerialHandler(port=port, baudrate=SERIAL_BAUDRATE, timeout=SERIAL_TIMEOUT)
            handler.connect()
        except PermissionError:
            raise  # the user must fix permissions: say so instead of falling back
        except Exception as exc:
            log.info("no PSLab on %s: %s", port, exc)
            continue
        finally:
            if handler is not None:
                handler.disconnect()
        return port
    return None


def make_emulator(settings: EmulatorSettings) -> Emulator:
    """The emulator of the ``emulator`` settings (its bench file read, if one is set)."""
    try:
        wiring = None if settings.bench is None else load_bench_file(settings.bench)
    except OSError as exc:
        raise InputError(f"cannot read the emulator bench file {settings.bench}: {exc}") from None
    return Emulator(
        wiring,
        seed=settings.seed,
        realtime=settings.realtime,
        limits=settings,
    )


def configured_bench(settings: EmulatorSettings) -> Outputs:
    """The default bench with the bench file's ``[outputs]`` (checked like the function
    arguments that set them). Raises InputError naming the file and the output."""
    if settings.bench is None:
        return DEFAULT_BENCH
    try:
        _, table = load_bench(settings.bench)
        return check_outputs(DEFAULT_BENCH, changes_from_json(table))
    except OSError as exc:
        raise InputError(f"cannot read the emulator bench file {settings.bench}: {exc}") from None
    except InputError as exc:
        raise InputError(
            f"bench file {settings.bench}: [outputs] {exc.message}", details=exc.details
        ) from None


def select_backend(device: DeviceSettings, emulator: EmulatorSettings) -> Backend:
    """The backend for the ``device`` settings (``emulator`` settings for the emulator).

    ``emulator``: the emulator. ``pslab``: the given port, or the first PSLab found
    (when none is found the port is unknown and the owner keeps retrying the scan).
    ``auto``: hardware when found, else the emulator with the reason in ``fallback``.
    """
    kind, port = device.kind, device.port
    if kind == "emulator":
        return EmulatorBackend(make_emulator(emulator), bench=configured_bench(emulator))
    if kind == "pslab":
        return SerialBackend(port) if port else ScanningBackend()
    if kind == "auto":
        found = port or find_pslab()
        if found:
            log.info("device auto: using the PSLab on %s", found)
            return SerialBackend(found)
        reason = "no PSLab found on USB (VID:PID 04d8:00df or 10c4:ea60)"
        log.warning("device auto: %s; falling back to the emulator", reason)
        return EmulatorBackend(
            make_emulator(emulator), fallback=reason, bench=configured_bench(emulator)
        )
    raise InputError(f"unknown device kind {kind!r}: choose emulator, pslab or auto")


class ScanningBackend(SerialBackend):
    """``--device pslab`` without a port: scan USB on every (re)connect."""

    def __init__(self) -> None:
        super().__init__("")

    def open(self) -> Any:
        found = find_pslab()
        if found is None:
            raise ConnectionError(
                "no PSLab found on USB (VID:PID 04d8:00df or 10c4:ea60); plug one in or set "
                "REMOTELAB_DEVICE_PORT"
            )
        self.port = found
        return super().open()
