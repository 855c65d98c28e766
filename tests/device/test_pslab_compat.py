"""The numpy-integer workaround both connection handlers share."""

from __future__ import annotations

import numpy as np
import pytest

from remotelab.device.backends import PslabSerialHandler
from remotelab.device.emulator import Emulator
from remotelab.device.pslab_compat import IntegerSafeHandler


class Recorder(IntegerSafeHandler):
    def __init__(self) -> None:
        self.sent = bytearray()

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def read(self, numbytes: int) -> bytes:
        return b""

    def write(self, data: bytes) -> int:
        self.sent += data
        return len(data)


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        ("send_byte", np.uint8(11), b"\x0b"),
        ("send_int", np.int16(100), b"\x64\x00"),
        ("send_long", np.int64(70000), (70000).to_bytes(4, "little")),
        ("send_int", 100, b"\x64\x00"),
    ],
)
def test_numpy_integers_are_sent_at_their_intended_width(
    method: str, value: int, expected: bytes
) -> None:
    handler = Recorder()
    getattr(handler, method)(value)
    assert bytes(handler.sent) == expected


def test_both_handlers_use_it() -> None:
    assert issubclass(Emulator, IntegerSafeHandler)
    assert issubclass(PslabSerialHandler, IntegerSafeHandler)
