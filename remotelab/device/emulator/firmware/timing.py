"""Firmware handlers of the logic analyzer, pulse counter and frequency meter.

The input-capture units timestamp logic events with a 64 MHz timer: 32-bit
timestamps in one- and two-channel mode (low words and high words in separate
quarters of the sample buffer), 16-bit ones (with a timer prescaler) in three- and
four-channel mode. Events are computed from the bench's logic signals when the
capture starts; they appear in the buffer as emulated time passes (all at once in
fast mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..bench import LOGIC_THRESHOLD
from ..digital import LogicSignal, capture_events
from ..signals import FloatArray
from .base import BUFFER_SIZE, Counter, Firmware, Handler, u16

#: Digital input number -> pin (pslab.instrument.digital.DIGITAL_INPUTS).
DIGITAL_PINS = ("LA1", "LA2", "LA3", "LA4", "RES", "EXT", "FRQ")
TIMER_HZ = 64e6
QUARTER = BUFFER_SIZE // 4
#: Timer prescalers of four-channel mode.
PRESCALERS = (1, 8, 64, 256)
#: Longest window examined for events (the 32-bit timer wraps after 67 s).
MAX_WINDOW = 2**32 / TIMER_HZ
#: Channel e of a multi-channel capture is timestamped this many ticks late.
CHANNEL_DELAY_TICKS = 2
#: Address of the sample buffer reported by GET_INITIAL_DIGITAL_STATES.
BUFFER_ADDRESS = 0x1000
#: GET_ALTERNATE_HIGH_FREQUENCY counts edges for this long (s).
HIGH_FREQUENCY_GATE = 0.1


def _pin(number: int) -> str:
    return DIGITAL_PINS[number] if number < len(DIGITAL_PINS) else "EXT"


def _logic(fw: Firmware, pin: str, at: float) -> LogicSignal:
    return fw.bench.logic(pin, at, at + MAX_WINDOW)


def _states(fw: Firmware, at: float) -> int:
    """LA1-LA4 levels at time ``at`` as a bit mask (LA1 = bit 0)."""
    levels = [fw.bench.voltage_at(p, at) > LOGIC_THRESHOLD for p in DIGITAL_PINS[:4]]
    return sum(int(high) << i for i, high in enumerate(levels))


@dataclass
class Channel:
    """One recorded channel: its events and where they go in the buffer."""

    times: FloatArray
    ticks: FloatArray
    offset: int  # first buffer word
    wide: bool  # 32-bit timestamps (low words at offset, high words a quarter later)


class LogicCapture:
    """A running logic-analyzer capture."""

    def __init__(self, channels: list[Channel], t0: float | None, dma_slots: list[int]) -> None:
        self.channels = channels
        self.t0 = t0
        self.dma_slots = dma_slots  # channel index per DMA channel 0-3 (-1: unused)
        self.written = [0] * len(channels)

    def count(self, index: int, now: float, everything: bool) -> int:
        times = self.channels[index].times
        return times.size if everything else int(np.searchsorted(times, now, side="right"))

    def sync(self, fw: Firmware, now: float, everything: bool) -> None:
        for i, ch in enumerate(self.channels):
            n = self.count(i, now, everything)
            if n <= self.written[i]:
                continue
            ticks = ch.ticks[self.written[i] : n].astype(np.uint64)
            lo = ch.offset + self.written[i]
            fw.buffer[lo : lo + ticks.size] = (ticks & 0xFFFF).astype(np.uint16)
            if ch.wide:
                hi = lo + QUARTER
                fw.buffer[hi : hi + ticks.size] = ((ticks >> 16) & 0xFFFF).astype(np.uint16)
            self.written[i] = n


def _start(
    fw: Firmware,
    pins: list[str],
    modes: list[int],
    trigger: tuple[list[str], int] | None,
    points: int,
    prescaler: int = 0,
) -> None:
    """Start capturing ``modes[i]`` events on ``pins[i]``; ``trigger`` is (pins, IC mode)."""
    t_cmd = fw.clock.now()
    t0: float | None = t_cmd
    if trigger is not None:
        trigger_pins, trigger_mode = trigger
        firsts = [
            capture_events(_logic(fw, p, t_cmd), trigger_mode, t_cmd, t_cmd + MAX_WINDOW, 1)
            for p in trigger_pins
        ]
        found = [float(f[0]) for f in firsts if f.size]
        t0 = min(found) if found else None
    wide = len(pins) <= 2
    tick = PRESCALERS[prescaler & 3] / TIMER_HZ if not wide else 1 / TIMER_HZ
    limit = min(points, QUARTER)
    channels = []
    for e, (pin, mode) in enumerate(zip(pins, modes, strict=True)):
        offset = (2 * QUARTER * e) if wide else QUARTER * e
        times: FloatArray
        if t0 is None:
            times = np.empty(0)
        else:
            times = capture_events(_logic(fw, pin, t0), mode, t0, t0 + MAX_WINDOW, limit)
        ticks = np.floor((times - (t0 or 0.0)) / tick)
        if prescaler == 0 and e:
            ticks = np.maximum(ticks - CHANNEL_DELAY_TICKS * e, 1)
        channels.append(Channel(times, np.mod(ticks, 2**32 if wide else 2**16), offset, wide))
    if wide:
        slots = [0, 0, 1, 1] if len(pins) == 2 else [0, 0, -1, -1]
    else:
        slots = [i if i < len(pins) else -1 for i in range(4)]
    fw.start(LogicCapture(channels, t0, slots))
    fw.la_states = _states(fw, t0 if t0 is not None else t_cmd)


def start_one_channel_alt(fw: Firmware) -> Handler:
    points = u16((yield 2))
    config = (yield 1)[0]
    trigger = (yield 1)[0]
    trig = ([_pin(trigger >> 4)], trigger & 7) if trigger & 7 else None
    _start(fw, [_pin(config >> 4)], [config & 0xF], trig, points)
    fw.ack()


def start_one_channel(fw: Firmware) -> Handler:
    points = u16((yield 2))
    trigger = (yield 1)[0]
    config = (yield 1)[0]
    edge = 2 if trigger & 2 else 3  # falling or rising, as IC modes
    trig = ([_pin(trigger >> 4)], edge) if trigger & 1 else None
    _start(fw, [_pin(config >> 4)], [config & 0xF], trig, points)
    fw.ack()


def start_two_channel(fw: Firmware) -> Handler:
    points = u16((yield 2))
    trigger = (yield 1)[0]
    config = (yield 1)[0]
    channels = (yield 1)[0]
    edge = 2 if trigger & 2 else 3
    trig = ([_pin(trigger >> 4)], edge) if trigger & 1 else None
    pins = [_pin(channels & 0xF), _pin(channels >> 4)]
    _start(fw, pins, [config & 0xF, config >> 4], trig, points)
    fw.ack()


def start_three_channel(fw: Firmware) -> Handler:
    points = u16((yield 2))
    config = u16((yield 2))
    trigger = (yield 1)[0]
    trig = ([_pin(trigger >> 4)], trigger & 7) if trigger & 7 else None
    modes = [(config >> (4 * i)) & 0xF for i in range(3)]
    _start(fw, list(DIGITAL_PINS[:3]), modes, trig, points)
    fw.ack()


def start_four_channel(fw: Firmware) -> Handler:
    points = u16((yield 2))
    config = u16((yield 2))
    prescaler = (yield 1)[0]
    trigger = (yield 1)[0]
    trig = None
    if trigger & 1:
        pins = [DIGITAL_PINS[i] for i in range(4) if trigger & (4 << i)]
        trig = (pins, 3 if trigger & 2 else 2)
    modes = [(config >> (4 * i)) & 0xF for i in range(4)]
    _start(fw, list(DIGITAL_PINS[:4]), modes, trig, points, prescaler)
    fw.counter = None  # the firmware re-initialises timer 2, the pulse counter's timer
    fw.ack()


def stop(fw: Firmware) -> Handler:
    if isinstance(fw.acquisition, LogicCapture):
        fw.sync()
        fw.acquisition = None
    fw.ack()
    yield from ()


def fetch_long(fw: Firmware) -> Handler:
    count = u16((yield 2))
    channel = (yield 1)[0]
    fw.sync()
    base = 2 * QUARTER * channel
    count = min(count, QUARTER)
    lo = fw.buffer[base : base + count].astype(np.uint32)
    hi = fw.buffer[base + QUARTER : base + QUARTER + count].astype(np.uint32)
    words = np.zeros(count, dtype="<u4")
    words[: lo.size] = lo | (np.resize(hi, lo.size) << 16)
    fw.reply(words.tobytes())
    fw.ack()


def get_initial_states(fw: Firmware) -> Handler:
    fw.sync()
    capture = fw.acquisition if isinstance(fw.acquisition, LogicCapture) else None
    fw.reply_u16(BUFFER_ADDRESS)
    for dma in range(4):
        n = 0
        if capture is not None and capture.dma_slots[dma] >= 0:
            n = capture.written[capture.dma_slots[dma]]
        fw.reply_u16(BUFFER_ADDRESS + 2 * (dma * QUARTER + n))
    fw.reply_u8(fw.la_states)
    fw.reply_u8(fw.la_states)
    fw.ack()
    yield from ()


def get_states(fw: Firmware) -> Handler:
    fw.reply_u8(_states(fw, fw.clock.now()))
    fw.ack()
    yield from ()


def start_counting(fw: Firmware) -> Handler:
    number = (yield 1)[0]
    fw.counter = Counter(_pin(number), fw.clock.now())
    fw.ack()


def fetch_count(fw: Firmware) -> Handler:
    count = 0
    if fw.counter is not None:
        now = fw.clock.now()
        signal = _logic(fw, fw.counter.pin, fw.counter.since)
        count = signal.count_rising(fw.counter.since, now)
    fw.reply_u16(count & 0xFFFF)
    fw.ack()
    yield from ()


def get_frequency(fw: Firmware) -> Handler:
    timeout = (u16((yield 2)) << 16) / TIMER_HZ
    number = (yield 1)[0]
    t = fw.clock.now()
    events = capture_events(_logic(fw, _pin(number), t), 5, t, t + timeout, 2)
    if events.size == 2:
        fw.clock.wait_until(float(events[1]))
        fw.reply_u8(0)
        for e in events:
            fw.reply_u32(math.floor((e - t) * TIMER_HZ))
    else:
        fw.clock.wait_until(t + timeout)
        fw.reply_u8(1)
        fw.reply_u32(0)
        fw.reply_u32(0)
    fw.ack()


def get_alternate_high_frequency(fw: Firmware) -> Handler:
    number = (yield 1)[0]
    t = fw.clock.now()
    count = _logic(fw, _pin(number), t).count_rising(t, t + HIGH_FREQUENCY_GATE)
    fw.clock.wait_until(t + HIGH_FREQUENCY_GATE)
    fw.reply_u8(1)  # scale
    fw.reply_u32(count)
    fw.ack()
