"""The command loop: arguments in any chunks, ignored groups, a table given from outside."""

from __future__ import annotations

import pslab.protocol as CP

from remotelab.device.emulator import Clock, Emulator
from remotelab.device.emulator.bench import Bench
from remotelab.device.emulator.firmware.base import Command, Firmware, Handler, u16
from remotelab.device.emulator.noise import Noise


def test_arguments_may_arrive_in_any_chunks(emu: Emulator) -> None:
    command = CP.COMMON + CP.GET_VERSION
    emu.write(command[:1])
    assert emu.read(9) == b""
    emu.write(command[1:] + command)
    assert emu.read(18) == b"PSLab V6\nPSLab V6\n"


def test_out_of_range_command_is_ignored_and_the_next_one_answered(emu: Emulator) -> None:
    emu.write(bytes([200, 1]))  # no such command group
    emu.write(bytes([11, 99]))  # no such COMMON command
    assert emu.read(1) == b""
    assert emu.get_version() == "PSLab V6\n"


def test_the_loop_dispatches_on_the_table_it_is_given() -> None:
    def double(fw: Firmware) -> Handler:
        fw.reply_u16(2 * u16((yield 2)))
        fw.ack()

    table = {(1, 2): Command("TEST.DOUBLE", double), (1, 3): Command("TEST.SILENT", None)}
    fw = Firmware(Bench(()), Clock(time_source=lambda: 0.0), Noise(0), table)
    for byte in (1, 3, 1, 2, 21):  # a silent command, then DOUBLE(21) a byte at a time
        fw.feed(bytes([byte]))
    assert fw.out == b""
    fw.feed(bytes([0]))
    assert fw.out == (42).to_bytes(2, "little") + b"\x01"
