"""The command table: silent commands, commands the emulator does not model."""

from __future__ import annotations

import time

import pslab.protocol as CP
import pytest
from pslab import Multimeter, ScienceLab
from pslab.bus.i2c import I2CMaster

from remotelab.device.emulator import Emulator, UnsupportedCommand
from remotelab.device.emulator.firmware.commands import COMMANDS
from remotelab.errors import DeviceError


def test_command_the_firmware_leaves_unimplemented_gets_no_answer(psl: ScienceLab) -> None:
    start = time.perf_counter()
    with pytest.raises(TimeoutError):
        psl._read_program_address(0x800FF8)  # removed from the firmware
    assert time.perf_counter() - start < 0.1


def test_command_the_emulator_does_not_model_raises_naming_it(emu: Emulator) -> None:
    with pytest.raises(UnsupportedCommand, match=r"I2C\.I2C_INIT") as info:
        I2CMaster(device=emu)
    assert isinstance(info.value, DeviceError)
    assert info.value.details["command"] == "I2C.I2C_INIT"
    # the command loop restarted: the device still answers
    assert Multimeter(device=emu).measure_voltage("VOL") == pytest.approx(0.0, abs=0.01)


def test_entries_are_named_after_their_pslab_protocol_constants() -> None:
    group = {"ADC": CP.ADC, "COMMON": CP.COMMON, "TIMING": CP.TIMING, "WAVEGEN": CP.WAVEGEN}
    for (primary, secondary), command in COMMANDS.items():
        prefix, _, name = command.name.partition(".")
        if prefix in group and command.modelled and hasattr(CP, name):
            assert (primary, secondary) == (group[prefix][0], getattr(CP, name)[0]), command
