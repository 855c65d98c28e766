"""The limits copied from pslab 4.x still match the installed pslab."""

from __future__ import annotations

import pslab.protocol as CP
from pslab.instrument import analog, digital
from pslab.instrument.logic_analyzer import LogicAnalyzer
from pslab.instrument.oscilloscope import Oscilloscope
from pslab.instrument.power_supply import PowerSupply
from pslab.instrument.waveform_generator import PWMGenerator, WaveformGenerator

from remotelab.device.functions import hardware as hw


def test_channel_names_exist_in_pslab() -> None:
    assert set(hw.ANALOG_INPUTS) <= set(analog.ANALOG_CHANNELS)
    assert set(hw.COUNTER_INPUTS) | set(hw.FREQUENCY_INPUTS) <= set(digital.DIGITAL_INPUTS)
    assert hw.PWM_OUTPUTS == digital.DIGITAL_OUTPUTS
    assert set(hw.LOGIC_MODES) == set(digital.MODES) - {"disabled"}
    assert set(hw.OLD_NAMES.values()) <= (
        set(analog.ANALOG_CHANNELS)
        | set(digital.DIGITAL_INPUTS)
        | set(hw.PWM_OUTPUTS)
        | set(hw.SINE_OUTPUTS)
    )


def test_limits_match_pslab() -> None:
    assert hw.MAX_SAMPLES == CP.MAX_SAMPLES
    assert hw.MAX_EVENTS == CP.MAX_SAMPLES // 4
    lookup = Oscilloscope._lookup_mininum_timegap
    for channels, (plain, triggered) in hw.MIN_TIMEGAP.items():
        scope = Oscilloscope.__new__(Oscilloscope)
        scope._trigger_enabled = False
        assert lookup(scope, channels) == plain
        scope._trigger_enabled = True
        assert lookup(scope, channels) == triggered
    assert tuple(sorted(analog.INPUT_RANGES["CH1"])) == hw.TRIGGER_RANGE
    assert sorted(PowerSupply._PV1_RANGE) == list(hw.PV1_RANGE)
    assert sorted(PowerSupply._PV2_RANGE) == list(hw.PV2_RANGE)
    assert sorted(PowerSupply._PV3_RANGE) == list(hw.PV3_RANGE)
    assert sorted(PowerSupply._PCS_RANGE) == list(hw.PCS_RANGE)
    assert hw.SINE_MIN_FREQUENCY == WaveformGenerator._LOW_FREQUENCY_LIMIT
    assert hw.SINE_MAX_FREQUENCY == CP.CLOCK_RATE / WaveformGenerator._LOWRES_TABLE_SIZE
    assert hw.PWM_MIN_FREQUENCY == PWMGenerator._LOW_FREQUENCY_LIMIT
    assert hw.PWM_MAX_FREQUENCY == PWMGenerator._HIGH_FREQUENCY_LIMIT
    assert (2**16 - 1) / CP.CLOCK_RATE * LogicAnalyzer._PRESCALERS[3] == hw.MAX_E2E_TIME


def test_the_frequency_limits_are_the_edges_pslab_accepts() -> None:
    from pslab.instrument.waveform_generator import _get_wavelength

    assert _get_wavelength(hw.SINE_MAX_FREQUENCY, 32) == (1, 1)
    assert _get_wavelength(hw.PWM_MAX_FREQUENCY) == (6, 1)
    assert _get_wavelength(hw.SINE_MIN_FREQUENCY, 512) == (19531, 64)


def test_the_timegap_limit_fits_the_16_bit_count() -> None:
    assert int(hw.MAX_TIMEGAP * 8) == 2**16 - 1


def test_aliases_for_picks_only_what_is_allowed() -> None:
    assert hw.aliases_for(("CH1", "RES")) == {"SEN": "RES"}
    assert hw.aliases_for(hw.FREQUENCY_INPUTS) == {
        "ID1": "LA1",
        "ID2": "LA2",
        "ID3": "LA3",
        "ID4": "LA4",
        "CNTR": "FRQ",
    }
