"""Firmware handlers of the ADC group: oscilloscope captures, trigger, gain, voltmeter.

Inputs are converted to counts by the analog front end (:mod:`.frontend`).
"""

from __future__ import annotations

import math

import numpy as np

from .base import ARGUMENT_ERROR, BUFFER_SIZE, Firmware, Handler, u16
from .frontend import ADC_PINS, pin_voltage, span, to_counts

GAINS = (1, 2, 4, 5, 8, 10, 16, 32)
#: Channels sampled alongside the first one in two- and four-channel mode (CH123SA = 0).
SIMULTANEOUS = ("CH2", "CH3", "MIC")
#: Time between the 16 conversions summed by GET_VOLTAGE_SUMMED (s).
SUMMED_SAMPLE_GAP = 2e-6
#: A triggered capture waits at most this long for the trigger, then starts anyway (s).
TRIGGER_TIMEOUT = 8e-3


class ScopeCapture:
    """A running oscilloscope capture: channels sampled together every ``dt`` from ``t0``."""

    def __init__(
        self,
        pins: list[str | None],
        spans: list[tuple[float, float]],
        samples: int,
        dt: float,
        t0: float,
        bits: int,
        dma: bool,
    ) -> None:
        self.pins = pins
        self.spans = spans  # gains are applied when sampling, not when reading back
        self.samples = samples
        self.dt = dt
        self.t0 = t0
        self.bits = bits
        self.dma = dma
        self.done_samples = 0

    def available(self, now: float, everything: bool) -> int:
        if everything:
            return self.samples
        return int(np.clip(math.floor((now - self.t0) / self.dt) + 1, 0, self.samples))

    def sync(self, fw: Firmware, now: float, everything: bool) -> None:
        n = self.available(now, everything)
        if n <= self.done_samples:
            return
        t = self.t0 + np.arange(self.done_samples, n) * self.dt
        for slot, pin in enumerate(self.pins):
            start = slot * self.samples + self.done_samples
            stop = min(slot * self.samples + n, BUFFER_SIZE)
            if stop <= start:
                continue
            volts = pin_voltage(fw, pin, t[: stop - start])
            fw.buffer[start:stop] = to_counts(fw, self.spans[slot], volts, self.bits)
        self.done_samples = n

    def status(self, now: float, everything: bool) -> tuple[bool, int]:
        if self.dma:
            # The firmware's DMA capture reports itself complete at once.
            return True, self.samples
        n = self.available(now, everything)
        return n >= self.samples, n


def _trigger_start(fw: Firmware, pins: list[str | None], t_cmd: float, dt: float) -> float:
    """Time of the first sample at or above the trigger level on a rising edge."""
    adc = fw.adc
    index = adc.trigger_channel
    pin = pins[0] if index == 0 else SIMULTANEOUS[index - 1]
    if pin is None:
        return t_cmd
    lo, hi = span(fw, pin)
    level = lo + (hi - lo) * adc.trigger_level / 1023  # the level is in 10-bit counts
    timeout = min(1.0, TRIGGER_TIMEOUT * float(2**adc.trigger_prescaler))
    chunk = 8192
    k0 = 0
    while k0 * dt < timeout:
        k = np.arange(k0, k0 + chunk + 1)
        v = fw.bench.voltage(pin, t_cmd + k * dt)
        hits = np.flatnonzero((v[:-1] < level) & (v[1:] >= level))
        if hits.size:
            return t_cmd + float(k[hits[0] + 1]) * dt
        k0 += chunk
    return t_cmd + timeout


def _capture(fw: Firmware, extra: tuple[str, ...], dma: bool = False) -> Handler:
    config = (yield 1)[0]
    samples = u16((yield 2))
    delay = max(1, u16((yield 2)))  # in 1/8 µs
    dt = delay / 8e6
    first = ADC_PINS.get(config & 0x0F)
    pins = [first, *extra]
    if dma:
        bits, triggered = (12 if config & 0x80 else 10), False
    else:
        bits, triggered = 10, bool(config & 0x80)
    t_cmd = fw.clock.now()
    t0 = _trigger_start(fw, pins, t_cmd, dt) if triggered else t_cmd
    spans = [span(fw, pin) for pin in pins]
    capture = ScopeCapture(pins, spans, samples, dt, t0, bits, dma)
    fw.start(capture)
    fw.ack()


def capture_one(fw: Firmware) -> Handler:
    yield from _capture(fw, ())


def capture_two(fw: Firmware) -> Handler:
    yield from _capture(fw, SIMULTANEOUS[:1])


def capture_three(fw: Firmware) -> Handler:
    yield from _capture(fw, SIMULTANEOUS[:2])


def capture_four(fw: Firmware) -> Handler:
    yield from _capture(fw, SIMULTANEOUS)


def capture_dma(fw: Firmware) -> Handler:
    yield from _capture(fw, (), dma=True)


def configure_trigger(fw: Firmware) -> Handler:
    config = (yield 1)[0]
    level = u16((yield 2))
    channels = config & 0x0F
    for i in range(4):
        if channels & (1 << i):
            fw.adc.trigger_channel = i
            break
    fw.adc.trigger_prescaler = config >> 4
    fw.adc.trigger_level = level
    fw.ack()


def get_capture_status(fw: Firmware) -> Handler:
    acquisition = fw.acquisition
    if isinstance(acquisition, ScopeCapture):
        fw.adc.status = acquisition.status(fw.clock.now(), not fw.clock.realtime)
    done, samples = fw.adc.status
    fw.reply_u8(int(done))
    fw.reply_u16(samples)
    fw.ack()
    yield from ()


def set_pga_gain(fw: Firmware) -> Handler:
    pga = (yield 1)[0]
    gain_index = (yield 1)[0]
    pin = {1: "CH1", 2: "CH2"}.get(pga)
    if pin is None or gain_index >= len(GAINS):
        fw.ack(ARGUMENT_ERROR)
        return
    fw.adc.gains[pin] = GAINS[gain_index]
    fw.ack()


def _read_summed(fw: Firmware, pin: str | None, samples: int) -> int:
    t = fw.clock.now() + np.arange(samples) * SUMMED_SAMPLE_GAP
    counts = to_counts(fw, span(fw, pin), pin_voltage(fw, pin, t), 12)
    return int(counts.astype(np.int64).sum())


def get_voltage(fw: Firmware) -> Handler:
    channel = (yield 1)[0]
    fw.reply_u16(_read_summed(fw, ADC_PINS.get(channel & 0x0F), 1))
    fw.ack()


def get_voltage_summed(fw: Firmware) -> Handler:
    channel = (yield 1)[0]
    fw.reply_u16(_read_summed(fw, ADC_PINS.get(channel & 0x0F), 16))
    fw.ack()
