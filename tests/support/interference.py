"""Students with their own outputs, each checking every capture and reading against them.

Used by ``tests/test_interference.py`` and ``benchmarks/bench_contexts.py``. The default
bench wires SI1 -> CH1, PV1 -> CH3 and SQ1 -> LA1. A capture of 1,000 samples 2 µs apart
spans 2 ms, so the FFT's bins are 500 Hz apart: every frequency used falls exactly on one
(the peak is the frequency itself, not near it).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from websockets.asyncio.client import connect

from remotelab.streaming.messages import decode_frame

CAPTURE = "capture1('CH1', 1000, 2)"


@dataclass(frozen=True)
class Setting:
    sine: float  # SI1, Hz
    pv1: float  # V
    sq1: float  # Hz
    duty: float  # 0-1

    def function_strings(self) -> list[str]:
        return [
            f"set_sine1({self.sine:g})",
            f"set_pv1({self.pv1:g})",
            f"sqr1({self.sq1:g}, {self.duty * 100:g})",
        ]


@dataclass
class Tally:
    checks: int = 0
    wrong: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.wrong.append(what)


def peak(samples: Any, dx_us: float) -> float:
    y = np.asarray(samples, dtype=float)
    spectrum = np.abs(np.fft.rfft(y - y.mean()))
    return float(np.fft.rfftfreq(len(y), dx_us * 1e-6)[np.argmax(spectrum)])


SCRIPT = """
import numpy as np
set_sine1({sine:g})
set_pv1({pv1:g})
sqr1({sq1:g}, {duty_percent:g})
for i in range(3):
    x, y = capture1('CH1', 1000, 2)
    spectrum = np.abs(np.fft.rfft(np.array(y) - np.mean(y)))
    peak = np.fft.rfftfreq(len(y), 2e-6)[np.argmax(spectrum)]
    period, duty = DutyCycle('LA1')
    print('%g %.4f %.6g %.4f' % (peak, get_voltage('CH3'), period, duty))
"""


async def function_user(
    http: httpx.AsyncClient, token: str, settings: list[Setting], tally: Tally, deadline: float
) -> None:
    """Function strings; changes to the next setting of its list every few rounds."""
    headers = {"Authorization": f"JWT {token}"}

    async def run(source: str) -> Any:
        response = await http.post("/v1/functions/run", headers=headers, json={"function": source})
        assert response.status_code == 200, response.text
        return response.json()["result"]

    round_ = 0
    while time.monotonic() < deadline:
        mine = settings[(round_ // 3) % len(settings)]
        if round_ % 3 == 0:
            for source in mine.function_strings():
                await run(source)
        x, y = await run(CAPTURE)
        seen = peak(y, x[1] - x[0])
        tally.check(seen == mine.sine, f"capture: {seen} Hz, set {mine.sine}")
        volts = await run("get_voltage('CH3')")
        tally.check(abs(volts - mine.pv1) < 0.05, f"CH3: {volts} V, set {mine.pv1}")
        period, duty = await run("DutyCycle('LA1')")
        tally.check(
            abs(period * mine.sq1 - 1) < 0.01 and abs(duty - mine.duty) < 0.02,
            f"LA1: {period} s, {duty}; set {mine.sq1} Hz, {mine.duty}",
        )
        round_ += 1


async def script_user(
    http: httpx.AsyncClient, token: str, mine: Setting, tally: Tally, deadline: float
) -> None:
    """Script runs, each setting its outputs and checking three captures and readings."""
    headers = {"Authorization": f"JWT {token}"}
    code = SCRIPT.format(sine=mine.sine, pv1=mine.pv1, sq1=mine.sq1, duty_percent=mine.duty * 100)
    while time.monotonic() < deadline:
        response = await http.post("/v1/run", headers=headers, json={"code": code})
        body = response.json()
        assert response.status_code == 200 and body["status"] == "ok", body
        for line in body["stdout"].split("\n"):
            if not line:
                continue
            seen, volts, period, duty = (float(v) for v in line.split())
            tally.check(seen == mine.sine, f"script capture: {seen} Hz, set {mine.sine}")
            tally.check(abs(volts - mine.pv1) < 0.05, f"script CH3: {volts}, set {mine.pv1}")
            tally.check(
                abs(period * mine.sq1 - 1) < 0.01 and abs(duty - mine.duty) < 0.02,
                f"script LA1: {period} s, {duty}; set {mine.sq1}, {mine.duty}",
            )


async def stream_user(
    host: str,
    http: httpx.AsyncClient,
    token: str,
    mine: Setting,
    tally: Tally,
    deadline: float,
) -> None:
    """Sets its outputs, then watches a scope stream (CH1) and a meter stream (CH3)."""
    headers = {"Authorization": f"JWT {token}"}
    for source in mine.function_strings():
        response = await http.post("/v1/functions/run", headers=headers, json={"function": source})
        assert response.status_code == 200
    async with connect(f"ws://{host}/v1/stream?token={token}", max_size=2**22) as ws:
        for sub_id, instrument, config in (
            ("scope", "oscilloscope", {"channels": 1, "samples": 1000, "timegap": 2}),
            ("meter", "multimeter", {"channel": "CH3", "rate": 10}),
        ):
            message = {"type": "subscribe", "id": sub_id, "instrument": instrument}
            await ws.send(json.dumps({**message, "config": config}))
        while time.monotonic() < deadline:
            try:
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    message = await ws.recv()
            except TimeoutError:
                break
            if isinstance(message, str):
                assert json.loads(message)["type"] in ("subscribed", "status"), message
                continue
            frame = decode_frame(message)
            if frame.id == "scope":
                seen = peak(frame.channels[0], frame.dx)
                tally.check(seen == mine.sine, f"stream: {seen} Hz, set {mine.sine}")
            else:
                volts = float(frame.channels[0][0])
                tally.check(abs(volts - mine.pv1) < 0.05, f"meter: {volts}, set {mine.pv1}")
