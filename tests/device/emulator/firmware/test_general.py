"""Identity, ScienceLab construction, power supply, sample buffer, RAM, LED, reset."""

from __future__ import annotations

import numpy as np
import pytest
from pslab import Oscilloscope, ScienceLab
from pslab.connection.connection import FirmwareVersion

from remotelab.device.emulator import Emulator


def test_version_queries(emu: Emulator) -> None:
    assert emu.get_version() == "PSLab V6\n"
    assert emu.get_firmware_version() == FirmwareVersion(3, 0, 0)


def test_sciencelab_builds_every_instrument_on_the_emulator(emu: Emulator) -> None:
    psl = ScienceLab(device=emu)
    assert psl.device is emu
    assert psl.firmware == FirmwareVersion(3, 0, 0)
    for name in ("logic_analyzer", "oscilloscope", "waveform_generator", "pwm_generator"):
        assert getattr(psl, name) is not None
    assert emu.firmware.out == b""  # every answer was consumed: the protocol is in step


def test_pcs_current_into_a_load_gives_i_times_r(psl: ScienceLab) -> None:
    # default bench: PCS -> 1k -> GND, read on AN4
    for amps in (0.2e-3, 0.5e-3, 1e-3, 1.5e-3):
        psl.power_supply.pcs = amps
        assert psl.multimeter.measure_voltage("AN4") == pytest.approx(amps * 1e3, rel=0.05)


def test_pcs_saturates_at_its_compliance(psl: ScienceLab) -> None:
    psl.power_supply.pcs = 3e-3  # more than 3.3 V / (1 kΩ + 1 kΩ)
    assert psl.multimeter.measure_voltage("AN4") == pytest.approx(1.65, rel=0.05)


@pytest.mark.parametrize("load", ["100R", "470R", "2k2"])
def test_pcs_into_other_loads(load: str) -> None:
    ohms = {"100R": 100.0, "470R": 470.0, "2k2": 2200.0}[load]
    psl = ScienceLab(device=Emulator([f"PCS -> {load} -> GND", "PCS -> VOL"], seed=2))
    psl.power_supply.pcs = 1e-3
    assert psl.multimeter.measure_voltage("VOL") == pytest.approx(1e-3 * ohms, rel=0.05)


def test_power_supply_values_are_bounded_by_pslab(psl: ScienceLab) -> None:
    psl.power_supply.pv3 = 5.0  # pslab bounds PV3 to 3.3 V
    assert psl.power_supply.pv3 == 3.3
    assert psl.multimeter.measure_voltage("VOL") == pytest.approx(3.3, abs=0.01)


def test_sample_buffer_fill_fetch_clear(emu: Emulator) -> None:
    scope = Oscilloscope(device=emu)
    values = list(range(100, 400))
    scope.fill_buffer(values, 0)
    assert scope.fetch_buffer(300, 0) == values
    scope.clear_buffer(100, 50)
    assert scope.fetch_buffer(300, 0) == values[:50] + [0] * 100 + values[150:]


def test_ram_read_write(psl: ScienceLab) -> None:
    psl._write_data_address(0x0800, 0xBEEF)
    assert psl._read_data_address(0x0800) == 0xBEEF
    assert psl._read_data_address(0x0802) == 0


def test_rgb_led(psl: ScienceLab, emu: Emulator) -> None:
    psl.rgb_led([10, 20, 30], output="ONBOARD")  # pslab 4.0.1: the default "RGB" fails on V6
    assert emu.firmware.rgb == [20, 10, 30]  # sent in GRB order


def test_reset_restores_power_on_state(psl: ScienceLab, emu: Emulator) -> None:
    psl.power_supply.pv3 = 2.0
    psl.waveform_generator.generate("SI1", 1000)
    psl.reset()  # no answer: the MCU reboots
    assert emu.firmware.out == b""
    mm = psl.multimeter
    assert mm.measure_voltage("VOL") == pytest.approx(0.0, abs=0.01)
    _x, y = psl.oscilloscope.capture("CH1", 200, 2)
    assert np.abs(y).max() < 0.1
