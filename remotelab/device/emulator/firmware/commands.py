"""The command table: (primary, secondary) byte pair -> name and handler.

Built from :mod:`pslab.protocol`'s constants. Three kinds of entries:

* modelled commands, with a handler;
* ``silent``: the firmware itself leaves them undefined, unimplemented or removed and
  answers nothing (pslab then times out waiting for the ACK);
* ``unsupported``: the firmware implements them, the emulator does not (I2C, SPI,
  UART, radio, passthrough, ...): they raise :class:`..errors.UnsupportedCommand`.

Pairs absent from the table are undefined in the firmware too: silent.
"""

from __future__ import annotations

import pslab.protocol as CP

from . import adc, ctmu, general, timing, wavegen
from .base import Command, HandlerFactory


def _b(code: bytes) -> int:
    return code[0]


COMMANDS: dict[tuple[int, int], Command] = {}


def _add(group: bytes, command: bytes, name: str, handler: HandlerFactory | None) -> None:
    COMMANDS[(_b(group), _b(command))] = Command(name, handler)


def _silent(group: bytes, command: bytes, name: str) -> None:
    COMMANDS[(_b(group), _b(command))] = Command(name, None)


def _unsupported(group: bytes, secondary: int, name: str) -> None:
    COMMANDS[(_b(group), secondary)] = Command(name, None, modelled=False)


def _unsupported_named(group: bytes, group_name: str, names: list[str]) -> None:
    for name in names:
        _unsupported(group, _b(getattr(CP, name)), f"{group_name}.{name}")


# ADC: oscilloscope and voltmeter
_add(CP.ADC, CP.CAPTURE_ONE, "ADC.CAPTURE_ONE", adc.capture_one)
_add(CP.ADC, CP.CAPTURE_TWO, "ADC.CAPTURE_TWO", adc.capture_two)
_add(CP.ADC, CP.CAPTURE_DMASPEED, "ADC.CAPTURE_DMASPEED", adc.capture_dma)
_add(CP.ADC, CP.CAPTURE_FOUR, "ADC.CAPTURE_FOUR", adc.capture_four)
_add(CP.ADC, b"\x17", "ADC.CAPTURE_THREE", adc.capture_three)
_add(CP.ADC, CP.CONFIGURE_TRIGGER, "ADC.CONFIGURE_TRIGGER", adc.configure_trigger)
_add(CP.ADC, CP.GET_CAPTURE_STATUS, "ADC.GET_CAPTURE_STATUS", adc.get_capture_status)
_add(CP.ADC, CP.SET_PGA_GAIN, "ADC.SET_PGA_GAIN", adc.set_pga_gain)
_add(CP.ADC, CP.GET_VOLTAGE, "ADC.GET_VOLTAGE", adc.get_voltage)
_add(CP.ADC, CP.GET_VOLTAGE_SUMMED, "ADC.GET_VOLTAGE_SUMMED", adc.get_voltage_summed)
_add(CP.ADC, CP.SET_CAP, "ADC.SET_CAP", ctmu.set_cap)
for _name in ("GET_CAPTURE_CHANNEL", "SELECT_PGA_CHANNEL", "CAPTURE_12BIT", "SET_HI_CAPTURE"):
    _silent(CP.ADC, getattr(CP, _name), f"ADC.{_name}")
for _name in ("SET_LO_CAPTURE", "MULTIPOINT_CAPACITANCE", "PULSE_TRAIN"):
    _silent(CP.ADC, getattr(CP, _name), f"ADC.{_name}")

# DAC: power supply
_add(CP.DAC, CP.SET_POWER, "DAC.SET_POWER", general.set_power)
_silent(CP.DAC, CP.SET_CALIBRATED_DAC, "DAC.SET_CALIBRATED_DAC")
_unsupported(CP.DAC, _b(CP.SET_DAC), "DAC.SET_DAC")

# WAVEGEN: SI1/SI2 and SQ1-SQ4
_add(CP.WAVEGEN, CP.SET_SINE1, "WAVEGEN.SET_SINE1", wavegen.set_sine1)
_add(CP.WAVEGEN, CP.SET_SINE2, "WAVEGEN.SET_SINE2", wavegen.set_sine2)
_add(CP.WAVEGEN, CP.SET_BOTH_WG, "WAVEGEN.SET_BOTH_WG", wavegen.set_both)
_add(CP.WAVEGEN, CP.LOAD_WAVEFORM1, "WAVEGEN.LOAD_WAVEFORM1", wavegen.load_waveform1)
_add(CP.WAVEGEN, CP.LOAD_WAVEFORM2, "WAVEGEN.LOAD_WAVEFORM2", wavegen.load_waveform2)
_add(CP.WAVEGEN, CP.SQR4, "WAVEGEN.SQR4", wavegen.set_square_all)
_add(CP.WAVEGEN, CP.MAP_REFERENCE, "WAVEGEN.MAP_REFERENCE", wavegen.map_reference)
for _name in ("SET_WG", "SET_WAVEFORM_TYPE", "SELECT_FREQ_REGISTER", "DELAY_GENERATOR"):
    _silent(CP.WAVEGEN, getattr(CP, _name), f"WAVEGEN.{_name}")
for _name in ("SET_SQRS", "SQR1_PATTERN"):
    _silent(CP.WAVEGEN, getattr(CP, _name), f"WAVEGEN.{_name}")
for _name, _code in (
    ("SET_SQR1", 3),
    ("SET_SQR2", 4),
    ("READ_WAVEFORM1", 18),
    ("READ_WAVEFORM2", 19),
):
    _unsupported(CP.WAVEGEN, _code, f"WAVEGEN.{_name}")

# DOUT / DIN
_add(CP.DOUT, CP.SET_STATE, "DOUT.SET_STATE", wavegen.set_state)
_add(CP.DIN, CP.GET_STATES, "DIN.GET_STATES", timing.get_states)
_silent(CP.DIN, CP.GET_STATE, "DIN.GET_STATE")

# TIMING: logic analyzer
_add(CP.TIMING, CP.START_ONE_CHAN_LA, "TIMING.START_ONE_CHAN_LA", timing.start_one_channel)
_add(CP.TIMING, CP.START_TWO_CHAN_LA, "TIMING.START_TWO_CHAN_LA", timing.start_two_channel)
_add(CP.TIMING, CP.START_FOUR_CHAN_LA, "TIMING.START_FOUR_CHAN_LA", timing.start_four_channel)
_add(
    CP.TIMING,
    CP.START_THREE_CHAN_LA,
    "TIMING.START_THREE_CHAN_LA",
    timing.start_three_channel,
)
_add(
    CP.TIMING,
    CP.START_ALTERNATE_ONE_CHAN_LA,
    "TIMING.START_ALTERNATE_ONE_CHAN_LA",
    timing.start_one_channel_alt,
)
_add(CP.TIMING, CP.FETCH_LONG_DMA_DATA, "TIMING.FETCH_LONG_DMA_DATA", timing.fetch_long)
_add(
    CP.TIMING,
    CP.GET_INITIAL_DIGITAL_STATES,
    "TIMING.GET_INITIAL_DIGITAL_STATES",
    timing.get_initial_states,
)
_add(CP.TIMING, CP.STOP_LA, "TIMING.STOP_LA", timing.stop)
for _name in ("GET_TIMING", "FETCH_DMA_DATA", "GET_LA_PROGRESS", "TIMING_MEASUREMENTS"):
    _silent(CP.TIMING, getattr(CP, _name), f"TIMING.{_name}")
for _name in ("INTERVAL_MEASUREMENTS", "CONFIGURE_COMPARATOR"):
    _silent(CP.TIMING, getattr(CP, _name), f"TIMING.{_name}")
_unsupported(CP.TIMING, _b(CP.FETCH_INT_DMA_DATA), "TIMING.FETCH_INT_DMA_DATA")

# COMMON
_add(CP.COMMON, CP.GET_VERSION, "COMMON.GET_VERSION", general.get_version)
_add(CP.COMMON, CP.GET_FW_VERSION, "COMMON.GET_FW_VERSION", general.get_fw_version)
_add(CP.COMMON, CP.GET_CTMU_VOLTAGE, "COMMON.GET_CTMU_VOLTAGE", ctmu.get_ctmu_voltage)
_add(CP.COMMON, CP.GET_CAPACITANCE, "COMMON.GET_CAPACITANCE", ctmu.get_capacitance)
_add(CP.COMMON, CP.GET_FREQUENCY, "COMMON.GET_FREQUENCY", timing.get_frequency)
_add(CP.COMMON, CP.RETRIEVE_BUFFER, "COMMON.RETRIEVE_BUFFER", general.retrieve_buffer)
_add(CP.COMMON, CP.CLEAR_BUFFER, "COMMON.CLEAR_BUFFER", general.clear_buffer)
_add(CP.COMMON, CP.FILL_BUFFER, "COMMON.FILL_BUFFER", general.fill_buffer)
_add(CP.COMMON, CP.READ_DATA_ADDRESS, "COMMON.READ_DATA_ADDRESS", general.read_data_address)
_add(CP.COMMON, CP.WRITE_DATA_ADDRESS, "COMMON.WRITE_DATA_ADDRESS", general.write_data_address)
_add(CP.COMMON, CP.RESTORE_STANDALONE, "COMMON.RESTORE_STANDALONE", general.reset)
_add(CP.COMMON, CP.SET_RGB_COMMON, "COMMON.SET_RGB_COMMON", general.set_rgb)
_add(CP.COMMON, CP.START_CTMU, "COMMON.START_CTMU", ctmu.start_ctmu)
_add(CP.COMMON, CP.STOP_CTMU, "COMMON.STOP_CTMU", ctmu.stop_ctmu)
_add(CP.COMMON, CP.START_COUNTING, "COMMON.START_COUNTING", timing.start_counting)
_add(CP.COMMON, CP.FETCH_COUNT, "COMMON.FETCH_COUNT", timing.fetch_count)
_add(
    CP.COMMON,
    CP.GET_ALTERNATE_HIGH_FREQUENCY,
    "COMMON.GET_ALTERNATE_HIGH_FREQUENCY",
    timing.get_alternate_high_frequency,
)
for _name in ("GET_INDUCTANCE", "GET_HIGH_FREQUENCY", "SET_RGB1", "READ_PROGRAM_ADDRESS"):
    _silent(CP.COMMON, getattr(CP, _name), f"COMMON.{_name}")
for _name in ("WRITE_PROGRAM_ADDRESS", "GET_CAP_RANGE", "SET_RGB2", "READ_LOG", "SET_RGB3"):
    _silent(CP.COMMON, getattr(CP, _name), f"COMMON.{_name}")

# Buses and peripherals the emulator does not model.
_SPI = ["START_SPI", "SEND_SPI8", "SEND_SPI16", "STOP_SPI", "SET_SPI_PARAMETERS"]
_UART = ["SEND_BYTE", "SEND_INT", "SEND_ADDRESS", "SET_BAUD", "SET_MODE", "READ_BYTE", "READ_INT"]
_unsupported_named(CP.SPI_HEADER, "SPI", [*_SPI, "SEND_SPI8_BURST", "SEND_SPI16_BURST"])
_unsupported_named(
    CP.I2C_HEADER, "I2C", [n for n in dir(CP) if n.startswith("I2C_") and n != "I2C_HEADER"]
)
_unsupported_named(CP.UART_2, "UART2", [*_UART, "READ_UART2_STATUS"])
_unsupported_named(CP.PASSTHROUGHS, "PASSTHROUGHS", ["PASS_UART"])
_unsupported_named(CP.NRFL01, "NRFL01", [n for n in dir(CP) if n.startswith("NRF_")])
