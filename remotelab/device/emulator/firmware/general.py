"""Firmware handlers of general commands: identity, sample buffer, RAM, LED, reset, power."""

from __future__ import annotations

import numpy as np

from ..signals import Constant
from .base import BUFFER_SIZE, FW_VERSION, HW_VERSION, Firmware, Handler, u16

#: DAC.SET_POWER channel -> (output, value at code 0, value at code 3300).
POWER_CHANNELS = {
    3: ("PV1", -5.0, 5.0),
    2: ("PV2", -3.3, 3.3),
    1: ("PV3", 0.0, 3.3),
    0: ("PCS", 3.3e-3, 0.0),
}
POWER_FULL_SCALE = 3300


def get_version(fw: Firmware) -> Handler:
    fw.reply(HW_VERSION)
    yield from ()


def get_fw_version(fw: Firmware) -> Handler:
    fw.reply(bytes(FW_VERSION))
    yield from ()


def _span(start: int, count: int) -> tuple[int, int]:
    lo = min(start, BUFFER_SIZE)
    return lo, min(start + count, BUFFER_SIZE)


def retrieve_buffer(fw: Firmware) -> Handler:
    start = u16((yield 2))
    count = u16((yield 2))
    fw.sync()
    lo, hi = _span(start, count)
    data = np.zeros(count, dtype="<u2")
    data[: hi - lo] = fw.buffer[lo:hi]
    fw.reply(data.tobytes())
    fw.ack()


def clear_buffer(fw: Firmware) -> Handler:
    start = u16((yield 2))
    count = u16((yield 2))
    fw.sync()
    lo, hi = _span(start, count)
    fw.buffer[lo:hi] = 0
    fw.ack()


def fill_buffer(fw: Firmware) -> Handler:
    start = u16((yield 2))
    count = u16((yield 2))
    values = np.frombuffer((yield 2 * count), dtype="<u2") if count else np.empty(0, np.uint16)
    fw.sync()
    lo, hi = _span(start, count)
    fw.buffer[lo:hi] = values[: hi - lo]
    fw.ack()


def read_data_address(fw: Firmware) -> Handler:
    address = u16((yield 2))
    fw.reply_u16(fw.ram.get(address, 0))
    fw.ack()


def write_data_address(fw: Firmware) -> Handler:
    address = u16((yield 2))
    fw.ram[address] = u16((yield 2))
    fw.ack()


def set_rgb(fw: Firmware) -> Handler:
    count = (yield 1)[0]
    colors = (yield count) if count else b""
    (yield 1)  # output pin
    fw.rgb = list(colors)
    fw.ack()


def reset(fw: Firmware) -> Handler:
    # The MCU resets: no answer, every instrument back to its power-on state.
    fw.power_on()
    yield from ()


def set_power(fw: Firmware) -> Handler:
    channel = (yield 1)[0]
    code = min(u16((yield 2)), 4095)
    if channel in POWER_CHANNELS:
        name, at_zero, at_full = POWER_CHANNELS[channel]
        value = at_zero + (at_full - at_zero) * code / POWER_FULL_SCALE
        value = min(max(value, min(at_zero, at_full)), max(at_zero, at_full))
        fw.bench.set_output(name, Constant(value), fw.clock.now())
    fw.ack()
