"""How the whitelisted functions drive pslab 4.x: the only module that touches a ScienceLab.

Each function receives a ``pslab.ScienceLab`` and arguments already checked by
the parser, and returns pslab's raw result (numpy arrays included; the caller
converts it with ``to_json_safe``). They run on the device owner's thread.

pslab 4.x keeps some settings between calls: the oscilloscope trigger, the pin
mapped to oscilloscope channel one, the logic analyser's channel maps and
trigger. The lab is shared, so every binding sets or restores that state
explicitly: one user's call never changes what the next user's call measures.
Where this needs one of pslab's private attributes, a comment says so.

What a user *sets* (waveforms, sources, square waves, gains) does persist, in that user's
context: the functions at the end of this module send a context's outputs to the device
and into pslab's own objects, which keep a record of them (docs/reference/contexts.md).
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import pslab.protocol as CP
from pslab.instrument.analog import ANALOG_CHANNELS, GAIN_VALUES

from remotelab.device.functions.capacitance import measure_capacitance
from remotelab.device.functions.counter import WRAP, caller, counter_of
from remotelab.device.functions.hardware import MAX_EVENTS, VOLTAGE_RANGES
from remotelab.device.outputs import Square

T = TypeVar("T")

# --- multimeter ---------------------------------------------------------------------


def voltage(sl: Any, channel: str) -> float:
    return float(sl.multimeter.measure_voltage(channel))


def average_voltage(sl: Any, channel: str, samples: int) -> float:
    return float(np.mean([sl.multimeter.measure_voltage(channel) for _ in range(samples)]))


def resistance(sl: Any) -> float:
    return float(sl.multimeter.measure_resistance())


def capacitance(sl: Any) -> float:
    # pslab's CTMU path, with a fit of the RC discharge that does not depend on when the
    # discharge starts within a scope sample (pslab's own fallback does).
    return measure_capacitance(sl.multimeter)


def mcu_temperature(sl: Any) -> float:
    """The microcontroller's temperature in °C, read through its CTMU.

    pslab 4.0.1's ``ScienceLab.temperature`` calls a ``get_int`` that ScienceLab
    does not have; this is the same exchange on the public connection handler.
    """
    device = sl.device
    channel, current_range, tgen = 0b11110, 3, 0
    device.send_byte(CP.COMMON)
    device.send_byte(CP.GET_CTMU_VOLTAGE)
    device.send_byte(channel | (current_range << 5) | (tgen << 7))
    raw = device.get_int() / 16  # the firmware sums 16 readings
    device.get_ack()
    volts = 3.3 * raw / (2**12 - 1)
    return float((760 - volts * 1000) / 1.56)  # current source 3 (55 µA)


def version(sl: Any) -> str:
    return str(sl.device.get_version()).strip()


# --- oscilloscope -------------------------------------------------------------------


def sampled_channels(channels: int, channel_one: str) -> list[str]:
    """The pins a capture of ``channels`` channels samples, in result order."""
    return [channel_one, "CH2", "CH3", "MIC"][:channels]


def capture(
    sl: Any,
    channels: int,
    channel_one: str,
    samples: int,
    timegap: float,
    trigger: float | None = None,
    trigger_channel: str | None = None,
) -> list[Any]:
    """``[x, y1, ...]``: x in µs, one array of volts per channel."""
    scope = sl.oscilloscope
    # pslab keeps a trigger between captures unless told trigger=False; here a capture
    # is triggered only when this very call asks for it.
    level: float | bool = False if trigger is None else trigger
    if trigger is not None:
        # pslab 4.0.1 turns the trigger voltage into counts with the channel's current
        # resolution, which a fast single-channel capture leaves at 12 bits; triggered
        # captures are 10-bit, so the level came out 4x too high after such a capture.
        for analog in scope._channels.values():
            analog.resolution = 10
    if channels == 1:
        return list(
            scope.capture(channel_one, samples, timegap, level, trigger_channel=trigger_channel)
        )
    # pslab takes channel one of a multi-channel capture from the last single-channel
    # capture (the private _channel_one_map); set it so each call samples what it asks.
    scope._channel_one_map = channel_one
    # Three channels run the firmware's four-channel capture anyway; ask for four so
    # that pslab's "drop the last trace" cannot drop the remapped channel one.
    captured = 4 if channels == 3 else channels
    x, *traces = scope.capture(captured, samples, timegap, level, trigger_channel=trigger_channel)
    # pslab returns traces in its own pin order (CH1, CH2, CH3, MIC, CAP, RES, VOL), not
    # in capture order, and a pin sampled twice (channel one remapped to CH2) only once.
    pins = sampled_channels(captured, channel_one)
    by_pin = dict(zip([p for p in ANALOG_CHANNELS if p in pins], traces, strict=True))
    return [x, *(by_pin[pin] for pin in sampled_channels(channels, channel_one))]


def select_range(sl: Any, channel: str, voltage_range: float) -> None:
    sl.oscilloscope.select_range(channel, voltage_range)


def current_range(sl: Any, channel: str) -> float:
    """The input range of CH1 or CH2 in pslab's oscilloscope (from its private gain)."""
    gain = sl.oscilloscope._channels[channel].gain
    return float(VOLTAGE_RANGES[GAIN_VALUES.index(gain)])


# --- waveform generator -------------------------------------------------------------


def load_shape(sl: Any, channel: str, shape: str) -> None:
    sl.waveform_generator.load_function(channel, shape)


def sine(sl: Any, channel: str, frequency: float, shape: str | None = None) -> float:
    """Output ``shape`` (or the loaded table) on ``channel``; returns the actual frequency."""
    wavegen = sl.waveform_generator
    # Reloading a table sends 1 kB; pslab 1.x skipped it when the shape was already
    # loaded, and so do we (reading pslab's private per-pin record of the shape).
    wanted = shape or _playing(wavegen, channel)
    if wavegen._channels[channel].wavetype != wanted:
        wavegen.load_function(channel, wanted)
    return float(wavegen.generate(channel, frequency)[0])


def _playing(wavegen: Any, channel: str) -> str:
    """The table a generate without a shape plays: the loaded one; after the flat table
    that switches an output off (pslab calls it "custom"), the sine."""
    loaded: str = wavegen._channels[channel].wavetype
    return "sine" if loaded == "custom" else loaded


def waves(
    sl: Any, channels: str | list[str], frequency: float | list[float], phase: float
) -> list[float]:
    wavegen = sl.waveform_generator
    for channel in [channels] if isinstance(channels, str) else channels:
        if wavegen._channels[channel].wavetype == "custom":  # switched off: play a sine
            wavegen.load_function(channel, "sine")
    if channels == ["SI2", "SI1"]:
        # pslab sends two frequencies in list order but the firmware reads SI1's first.
        both = frequency if isinstance(frequency, list) else [frequency, frequency]
        actual = wavegen.generate(["SI1", "SI2"], [both[1], both[0]], phase)
        return [float(actual[1]), float(actual[0])]
    return [float(f) for f in wavegen.generate(channels, frequency, phase)]


# --- PWM generator ------------------------------------------------------------------


def pwm(
    sl: Any,
    channels: str | list[str],
    frequency: float,
    duty_cycles: float | list[float],
    phases: float | list[float] = 0,
) -> float:
    """Start PWM; returns the actual frequency (one frequency is shared by SQ1-SQ4)."""
    generator = sl.pwm_generator
    generator.generate(channels, frequency, duty_cycles, phases)
    return float(generator.frequency)


def pwm_states(sl: Any, sq1: Any, sq2: Any, sq3: Any, sq4: Any) -> None:
    generator = sl.pwm_generator
    generator.set_state(sq1=sq1, sq2=sq2, sq3=sq3, sq4=sq4)
    # pslab leaves a pin it sets HIGH/LOW marked as mapped to the reference clock (a
    # private flag), so its next generate() would map the pin back to the clock.
    for name, state in zip(("SQ1", "SQ2", "SQ3", "SQ4"), (sq1, sq2, sq3, sq4), strict=True):
        if state in (True, False, "HIGH", "LOW"):
            generator._channels[name].remapped = False


def reference_clock(sl: Any, channels: str | list[str], prescaler: int) -> float:
    sl.pwm_generator.map_reference_clock(channels, prescaler)
    return 128e6 / (1 << prescaler)


# --- power supply -------------------------------------------------------------------


def set_pv1(sl: Any, value: float) -> float:
    sl.power_supply.pv1 = value
    return float(sl.power_supply.pv1)


def set_pv2(sl: Any, value: float) -> float:
    sl.power_supply.pv2 = value
    return float(sl.power_supply.pv2)


def set_pv3(sl: Any, value: float) -> float:
    sl.power_supply.pv3 = value
    return float(sl.power_supply.pv3)


def set_pcs(sl: Any, value: float) -> float:
    sl.power_supply.pcs = value
    return float(sl.power_supply.pcs)


def power(sl: Any) -> dict[str, float | None]:
    """The last values set on each source (``None`` before the first set)."""
    supply = sl.power_supply
    return {"pv1": supply.pv1, "pv2": supply.pv2, "pv3": supply.pv3, "pcs": supply.pcs}


def set_power(sl: Any, args: dict[str, Any]) -> dict[str, float | None]:
    if args["pv1"] is not None:
        set_pv1(sl, args["pv1"])
    if args["pv2"] is not None:
        set_pv2(sl, args["pv2"])
    if args["pv3"] is not None:
        set_pv3(sl, args["pv3"])
    if args["pcs"] is not None:
        set_pcs(sl, args["pcs"])
    return power(sl)


# --- logic analyser -----------------------------------------------------------------
#
# Waits for edges (frequency, duty cycle, intervals, edge periods, logic captures, pulse
# counting) return *steps*: a generator that arms the capture, then yields while the
# firmware captures on its own, each time after a short look at the progress (and a sleep of
# at most ``POLL_SECONDS``), telling the device owner the longest it may still take. The
# owner runs the steps one slice at a time and serves other users in between
# (``remotelab/device/owner.py``, ADR 0011); :func:`finish` runs them in one go.

Steps = Generator[float, None, T]
"""A call that waits in steps: each ``yield`` (the seconds it may still take) is a point
where the device may serve other calls; the generator's return value is the result."""

#: Seconds between two looks at a capture's progress (or a counter's clock) while waiting.
POLL_SECONDS = 0.005
#: Bytes of one timestamp as the firmware sends it: 32-bit in one- and two-channel mode,
#: 16-bit in three- and four-channel mode.
TIMESTAMP_BYTES = {1: 4, 2: 4, 3: 2, 4: 2}


def finish(value: Any) -> Any:
    """``value``, or the result of running its steps to the end (outside the owner)."""
    if isinstance(value, types.GeneratorType):
        try:
            while True:
                next(value)
        except StopIteration as stop:
            return stop.value
    return value


@contextmanager
def logic_analyzer(sl: Any) -> Iterator[Any]:
    """The logic analyser with default channel maps, its trigger restored afterwards.

    pslab's measure_* methods change the trigger and restore it only when they
    succeed, and captures leave their channel maps behind (private attributes).
    Timestamps that never arrived make pslab divide by zero: numpy's warnings are
    silenced and the resulting inf/nan reach the caller as values.
    """
    la = sl.logic_analyzer
    trigger = (la.trigger_channel, la.trigger_mode)
    la._channel_one_map, la._channel_two_map = "LA1", "LA2"
    try:
        with np.errstate(all="ignore"):
            yield la
    finally:
        la.configure_trigger(*trigger)
        la._channel_one_map, la._channel_two_map = "LA1", "LA2"


def _active_channels(la: Any) -> list[tuple[int, Any]]:
    """(progress index, channel) of each channel the running capture records.

    The indexes are those of pslab's ``get_progress`` (a 32-bit channel takes two DMA slots).
    """
    active, slot = [], 0
    for channel in la._channels.values():
        if channel.events_in_buffer:
            active.append((slot * (1 if channel.datatype == "int" else 2), channel))
            slot += 1
    return active


def _first_timestamp(la: Any, channel: Any) -> int:
    if channel.datatype == "int":
        return int(la.fetch_buffer(1, channel.buffer_idx)[0])
    device = la._device
    device.send_byte(CP.TIMING)
    device.send_byte(CP.FETCH_LONG_DMA_DATA)
    device.send_int(1)
    device.send_byte(channel.buffer_idx // 5000)
    raw = device.read(4)
    device.get_ack()
    return int(CP.Integer.unpack(raw)[0])


def _progress(la: Any) -> int:
    """Events captured so far per channel (the fewest), like pslab's ``get_progress``.

    pslab reports a channel whose DMA count reads 0 as full, which is also how an empty
    one reads: a channel that claims to be full is told apart by its first timestamp
    (0 when nothing came). Costs one short exchange, where pslab's blocking capture reads
    the whole buffer again and again (10 kB a channel, 100 ms at 1 Mbaud).
    """
    counts = la._get_initial_states_and_progress()[0]
    fewest = MAX_EVENTS
    for index, channel in _active_channels(la):
        count = counts[index]
        if count >= MAX_EVENTS and _first_timestamp(la, channel) == 0:
            count = 0
        fewest = min(fewest, count)
    return fewest


def _fetch(la: Any, events: int) -> list[np.ndarray]:
    """pslab's ``fetch_data``, reading only the first ``events`` timestamps of each channel.

    pslab reads all 2500 of them (10 kB a channel at 32 bits) even for the two a frequency
    needs. Trimming, roll-over, prescaler and channel delay as pslab's.
    """
    device, count = la._device, min(events, MAX_EVENTS)
    counters = []
    for name in dict.fromkeys([la._channel_one_map, la._channel_two_map, "LA3", "LA4"]):
        channel = la._channels[name]
        if not channel.events_in_buffer:
            continue
        if channel.datatype == "long":
            device.send_byte(CP.TIMING)
            device.send_byte(CP.FETCH_LONG_DMA_DATA)
            device.send_int(count)
            device.send_byte(channel.buffer_idx // 5000)
            raw = device.read(4 * count)
            device.get_ack()
            stamps = np.array([CP.Integer.unpack(raw[4 * i : 4 * i + 4])[0] for i in range(count)])
            stamps = np.trim_zeros(np.trim_zeros(stamps, "b"), "f")
        else:
            stamps = np.trim_zeros(
                np.trim_zeros(np.array(la.fetch_buffer(count, channel.buffer_idx)), "b"), "f"
            )
            for i, diff in enumerate(np.diff(stamps)):
                if diff <= 0:  # the 16-bit counter rolled over (pslab adds 2**16 - 1 too)
                    stamps[i + 1 :] += 2**16 - 1
        counters.append(stamps)
    prescaler = [1 / 64, 1 / 8, 1.0, 4.0][la._prescaler]
    delay = la._CAPTURE_DELAY if la._prescaler == 0 else 0
    return [(stamps + e * delay) * prescaler for e, stamps in enumerate(counters)]


def _sleep_until(deadline: float) -> Steps[None]:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(POLL_SECONDS, left))
        yield max(0.0, deadline - time.monotonic())


def _events(
    la: Any,
    channels: int | str | list[str],
    events: int,
    timeout: float,
    modes: list[str],
    e2e_time: float | None = None,
) -> Steps[list[np.ndarray]]:
    """``la.capture(channels, events, timeout, modes, e2e_time)``, waiting in steps.

    Ends when every channel holds ``events`` events or after ``timeout``, with what came,
    as pslab's blocking capture does. If its caller leaves meanwhile (the owner closes the
    steps on its thread), the capture is stopped, so that it writes no more into the
    sample buffer the next user's capture needs.
    """
    deadline = time.monotonic() + timeout
    la.capture(channels, events, timeout, modes, e2e_time, block=False)
    count = 1 if isinstance(channels, str) else 2 if isinstance(channels, list) else channels
    if count > 2:  # pslab's four-channel mode: the firmware takes the pulse counter's timer
        counter_of(la).stopped("a logic-analyzer capture of 3 or 4 channels used its timer")
    thread = threading.get_ident()
    try:
        while _progress(la) < min(events, MAX_EVENTS) and time.monotonic() < deadline:
            yield from _sleep_until(min(deadline, time.monotonic() + POLL_SECONDS))
    except GeneratorExit:
        if threading.get_ident() == thread:  # not when a dead handle is collected elsewhere
            la.stop()
        raise
    return [stamps[:events] for stamps in _fetch(la, events)[:count]]


def frequency(sl: Any, channel: str, timeout: float, simultaneous: bool = False) -> Any:
    """The frequency in Hz (0 without a signal): steps, or a float measured in firmware.

    In firmware mode the PSLab answers nothing until it is done (up to ``timeout``, twice:
    pslab retries once), so that wait cannot be shared with other calls.
    """
    if simultaneous:
        with logic_analyzer(sl) as la:
            return float(la.measure_frequency(channel, True, timeout))
    return _frequency(sl, channel, timeout)


def _frequency(sl: Any, channel: str, timeout: float) -> Steps[float]:
    """pslab's ``measure_frequency`` (software path), waiting in steps."""
    with logic_analyzer(sl) as la:
        la._channel_one_map = channel
        (stamps,) = yield from _events(la, 1, 2, timeout, ["sixteen rising"])
        try:
            period = (stamps[1] - stamps[0]) * 1e-6 / 16
            measured = period**-1
        except IndexError:
            measured = 0
        if measured >= 1e7:
            measured = la._get_high_frequency(channel)  # a 100 ms count in firmware
        return float(measured)


def duty_cycle(sl: Any, channel: str, timeout: float) -> Steps[list[float] | None]:
    """``[period in µs, duty cycle 0-1]``, or ``None`` when too few edges arrived.

    pslab's ``measure_duty_cycle``, waiting in steps.
    """
    with logic_analyzer(sl) as la:
        la.configure_trigger(channel, "rising")
        la._channel_one_map = channel
        (stamps,) = yield from _events(la, 1, 3, timeout, ["any"])
        if len(stamps) < 3:
            return None
        period = stamps[2] - stamps[0]
        duty = 1 - (stamps[1] - stamps[0]) / period  # the first change is high to low
    return [float(period), float(duty)]


def interval(sl: Any, channels: list[str], modes: list[str], timeout: float) -> Steps[float | None]:
    """µs from the first event to the second, or ``None`` when one never came.

    pslab's ``measure_interval``, waiting in steps.
    """
    with logic_analyzer(sl) as la:
        la.configure_trigger(channels[0], la.trigger_mode)
        la._channel_one_map, la._channel_two_map = channels
        if channels[0] != channels[1]:
            first, second = yield from _events(la, 2, 1, timeout, modes)
            if not (len(first) and len(second)):
                return None
            return float(second[0] - first[0])
        # 34 edges hold 17 rising ones: two "every sixteenth rising edge" events.
        (stamps,) = yield from _events(la, 1, 34, timeout, ["any"])
        initial = la.get_initial_states()[la._channel_one_map]
        try:
            t1 = la._get_first_event(stamps, modes[0], initial)
            if modes[0] == modes[1]:
                skip = 1 if modes[1] == "any" else 2
                t2 = la._get_first_event(
                    stamps[skip:], modes[1], initial if skip == 2 else not initial
                )
            else:
                t2 = la._get_first_event(stamps, modes[1], initial)
        except IndexError:
            return None
        return float(t2 - t1)


def edge_period(sl: Any, channel: str, mode: str, skip: int, timeout: float) -> Steps[list[float]]:
    """pslab 1.x r2r_time/f2f_time: ``[seconds from edge 0 to edge skip + 1]`` or ``[]``."""
    with logic_analyzer(sl) as la:
        (stamps,) = yield from _events(la, channel, skip + 2, timeout, [mode])
    if len(stamps) < skip + 2:
        return []
    return [float(stamps[skip + 1] - stamps[0]) * 1e-6]


def capture_events(
    sl: Any,
    channels: int | str | list[str],
    events: int,
    timeout: float,
    modes: list[str],
    e2e_time: float | None,
) -> Steps[list[Any]]:
    with logic_analyzer(sl) as la:
        return list((yield from _events(la, channels, events, timeout, modes, e2e_time)))


def states(sl: Any) -> dict[str, bool]:
    return {pin: bool(state) for pin, state in sl.logic_analyzer.get_states().items()}


def count_pulses(sl: Any, channel: str, interval_s: float) -> Steps[int]:
    """pslab's ``count_pulses`` (blocking), sleeping in steps while the firmware counts.

    On the device's one counter (:mod:`.counter`): when it already counts ``channel`` (a
    user's ``countPulses``), it goes on and this counts the difference; else it starts
    there (ending the counts on another input)."""
    la = sl.logic_analyzer
    counter_of(la).counting(channel, lambda: _start_counting(sl, channel))
    first = int(la.fetch_pulse_count())
    yield from _sleep_until(time.monotonic() + interval_s)
    return (int(la.fetch_pulse_count()) - first) % WRAP


def _start_counting(sl: Any, channel: str) -> None:
    with logic_analyzer(sl) as la:
        la.count_pulses(channel, block=False)


def start_counting(sl: Any, channel: str) -> None:
    """``countPulses``: the caller's count on ``channel`` starts now (:mod:`.counter`)."""
    la = sl.logic_analyzer
    counter_of(la).start(
        caller(), channel, lambda: _start_counting(sl, channel), la.fetch_pulse_count
    )


def pulse_count(sl: Any) -> int:
    """``readPulseCount``: the edges of the caller's count since its start."""
    la = sl.logic_analyzer
    return counter_of(la).read(caller(), lambda: int(la.fetch_pulse_count()))


# --- outputs: what a context switch sends (remotelab.device.switch) -------------------

#: The table that switches an SI output off: flat at 0 V (pslab records it as "custom").
FLAT_TABLE = np.zeros(512)


def load_table(sl: Any, channel: str, shape: str) -> None:
    """Load the ``sine``, ``tria`` or flat (``off``) table on SI1 or SI2."""
    wavegen = sl.waveform_generator
    if shape == "off":
        wavegen.load_table(channel, FLAT_TABLE)
    else:
        wavegen.load_function(channel, shape)


def start_waves(
    sl: Any, channels: str | list[str], frequencies: float | list[float], phase: float = 0
) -> None:
    """Start SI1 and/or SI2 playing their loaded tables (both together: with ``phase``)."""
    sl.waveform_generator.generate(channels, frequencies, phase)


def set_source(sl: Any, name: str, value: float) -> None:
    """Set PV1, PV2, PV3 (volts) or PCS (amperes), in pslab's object and on the device."""
    setattr(sl.power_supply, name.lower(), value)


def restore_pwm(sl: Any, pins: list[Square]) -> None:
    """Put SQ1-SQ4 in the given states at once, in pslab's PWM generator and on the device.

    pslab's generate() re-sends all four pins from its own record of them (duty, phase,
    level, clock mapping), so that record is the context's too: this sets both.
    """
    generator = sl.pwm_generator
    names = ["SQ1", "SQ2", "SQ3", "SQ4"]
    for name in names:
        generator._channels[name].remapped = False  # private: pslab's clock-mapping flag
    running = [pin for pin in pins if pin.mode == "pwm"]
    clock = [name for name, pin in zip(names, pins, strict=True) if pin.mode == "clock"]
    if running:
        duties = [
            pin.duty if pin.mode == "pwm" else {"high": 1, "low": 0}.get(pin.mode, 0.5)
            for pin in pins
        ]
        phases = [pin.phase if pin.mode == "pwm" else 0 for pin in pins]
        generator.generate(names, running[0].frequency, duties, phases)
    else:
        levels = {
            name.lower(): pin.mode == "high"
            for name, pin in zip(names, pins, strict=True)
            if pin.mode in ("low", "high")
        }
        generator.set_state(**levels)
    if clock:
        prescaler = next(pin.prescaler for pin in pins if pin.mode == "clock")
        generator.map_reference_clock(clock, prescaler)
