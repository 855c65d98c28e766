"""Workarounds for pslab 4.x quirks that every connection handler remotelab builds needs.

Kept below both handlers - the emulator's and the serial one in :mod:`.backends` - so
each quirk is fixed once; this module imports nothing from remotelab.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pslab.connection import ConnectionHandler


class IntegerSafeHandler(ConnectionHandler):  # type: ignore[misc]  # pslab is untyped
    """A pslab connection handler that sends numpy integers at their intended width.

    pslab 4.0.1 passes numpy integers in places (``Multimeter.calibrate_capacitance``
    sends an ``np.int16`` charge time). The base class converts only Python ints, so
    the scalar reaches ``write()``, where ``bytes(np.int16(100))`` - in pyserial as
    anywhere - is 100 zero bytes, and the device loses sync. Put this class before the
    concrete handler in the bases (``class H(IntegerSafeHandler, SerialHandler)``).
    """

    def send_byte(self, data: int | bytes) -> None:
        super().send_byte(plain_int(data))

    def send_int(self, data: int | bytes) -> None:
        super().send_int(plain_int(data))

    def send_long(self, data: int | bytes) -> None:
        super().send_long(plain_int(data))


def plain_int(data: Any) -> Any:
    """``data`` as a Python int if it is a numpy integer, else unchanged."""
    return int(data) if isinstance(data, np.integer) else data
