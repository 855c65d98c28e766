"""The pulse counter with two users on one device, through a real Hypercorn.

The PSLab has one 16-bit pulse counter (firmware timer 2). Each user's ``countPulses`` /
``readPulseCount`` is their own count: from where the counter stood at their start, never
another user's count, and a clear error (409) when another count took the counter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from remotelab.app import create_app
from tests.conftest import make_settings
from tests.support.served import new_user_token, served

pytestmark = pytest.mark.timeout(60)


class Lab:
    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
        self.http, self.tokens = http, tokens

    async def call(self, who: str, function: str) -> tuple[int, dict[str, Any]]:
        answer = await self.http.post(
            "/v1/functions/run",
            headers={"Authorization": f"JWT {self.tokens[who]}"},
            json={"function": function},
            timeout=30,
        )
        return answer.status_code, answer.json()

    async def result(self, who: str, function: str) -> Any:
        status, body = await self.call(who, function)
        assert status == 200, body
        return body["result"]


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    # SQ1 -> LA1 and SQ2 -> LA2 (the default bench); a 1 kHz square on both, on the bench.
    bench = tmp_path / "bench.toml"
    bench.write_text(
        'wiring = ["SQ1 -> LA1", "SQ2 -> LA2"]\n[outputs]\n'
        'SQ1 = {mode = "pwm", frequency = 1000, duty = 0.5, phase = 0}\n'
        'SQ2 = {mode = "pwm", frequency = 1000, duty = 0.5, phase = 0.5}\n'
    )
    app = create_app(make_settings(tmp_path, emulator_bench=bench))
    async with served(app) as server:
        tokens = {who: await new_user_token(app, f"{who}@example.org") for who in "ab"}
        async with httpx.AsyncClient(base_url=f"http://{server.address}") as http:
            yield Lab(http, tokens)


async def test_each_user_reads_their_own_count(lab: Lab) -> None:
    assert await lab.result("a", "countPulses('ID1')") is None
    await asyncio.sleep(0.3)
    # b has no count: an error that says so, not a's count.
    status, body = await lab.call("b", "readPulseCount()")
    assert status == 400, body
    assert "you have no pulse count running" in body["error"]
    # b starts counting the same input: a's count goes on, b's starts from 0.
    assert await lab.result("b", "countPulses('ID1')") is None
    await asyncio.sleep(0.2)
    a, b = await lab.result("a", "readPulseCount()"), await lab.result("b", "readPulseCount()")
    # 1 kHz: about 500 edges for a (0.5 s and more), about 200 for b.
    assert 450 <= a <= 1500, a
    assert 150 <= b <= a - 250, (a, b)
    # The modern blocking count on the same input does not disturb them.
    assert 40 <= await lab.result("b", "logic_analyzer_count_pulses('LA1', 0.05)") <= 100
    assert await lab.result("a", "readPulseCount()") > a


async def test_a_count_on_another_input_stops_the_others_with_a_clear_error(lab: Lab) -> None:
    await lab.result("a", "countPulses('ID1')")
    await lab.result("b", "countPulses('ID2')")  # the one counter moves to LA2
    status, body = await lab.call("a", "readPulseCount()")
    assert status == 409, body
    assert body["code"] == "conflict"
    assert body["error"] == (
        "readPulseCount: your pulse count on LA1 was stopped: another count started on LA2 "
        "(the PSLab has one pulse counter); start it again with countPulses('LA1')"
    )
    await asyncio.sleep(0.1)
    assert await lab.result("b", "readPulseCount()") >= 50
    # A logic capture of four channels takes the counter's timer: b's count ends too.
    await lab.result("a", "logic_analyzer_capture(4, 10)")
    status, body = await lab.call("b", "readPulseCount()")
    assert status == 409, body
    assert "a logic-analyzer capture of 3 or 4 channels used its timer" in body["error"]
    # Started again, it counts.
    await lab.result("a", "countPulses('ID1')")
    await asyncio.sleep(0.1)
    assert await lab.result("a", "readPulseCount()") >= 50
