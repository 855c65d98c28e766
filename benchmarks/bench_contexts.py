"""Contexts: no user measures another's outputs, and what a context switch costs.

Prints:

(a) interference: 8 students with different outputs (SI1 frequency, PV1 level, SQ1
    frequency and duty) on a real server for ``BENCH_CONTEXTS_SECONDS`` (default 60) of
    mixed traffic: 3 users of function strings, 1 who keeps changing their outputs, 2 script
    runners, 2 stream watchers (the same scope configuration: one shared loop, two
    contexts). Every capture (FFT peak of CH1) and reading (CH3, LA1) is checked against
    its own user's settings: the counts of checks and of wrong results (target 0).
(b) switch cost: two users calling get_voltage('CH3') as fast as the device serves them
    (the fair queue alternates them), with the same outputs and with different ones, in the
    same run, in the emulator's fast mode and in real time (1 Mbaud link and settle waits,
    as on a PSLab): calls/s, the ratio, and the cost per switch in ms.
"""

from __future__ import annotations

import asyncio
import os
import time

import httpx

from benchmarks.support import lab_server, table
from remotelab.config import DeviceSettings, FunctionSettings
from remotelab.device.backends import EmulatorBackend
from remotelab.device.emulator import Emulator
from remotelab.device.functions import default_registry
from remotelab.device.owner import DeviceOwner
from remotelab.device.service import Instrument
from tests.support.interference import Setting, Tally, function_user, script_user, stream_user

SECONDS = float(os.environ.get("BENCH_CONTEXTS_SECONDS", "60"))
SWITCH_SECONDS = float(os.environ.get("BENCH_CONTEXTS_SWITCH_SECONDS", "3"))
READING = "get_voltage('CH3')"

STUDENTS = [
    ("functions", [Setting(2000, 1.5, 1000, 0.25)]),
    ("functions", [Setting(2500, -0.5, 3000, 0.6)]),
    ("functions", [Setting(3500, 3.0, 800, 0.35)]),
    ("changer", [Setting(5000, -1.0, 2000, 0.5), Setting(4000, 2.5, 500, 0.1)]),
    ("scripts", [Setting(3000, 0.5, 4000, 0.75)]),
    ("scripts", [Setting(4500, -3.0, 1500, 0.2)]),
    ("streams", [Setting(1500, -2.0, 250, 0.4)]),
    ("streams", [Setting(1000, 1.0, 100, 0.5)]),
]


async def interference() -> tuple[dict[str, Tally], int]:
    limits = {
        "function_calls_per_minute": "100000000",
        "script_runs_per_minute": "100000",
        "sandbox_max_concurrent": "2",
    }
    with lab_server(**limits) as server:
        tokens = [
            server.account(f"student{i}@example.org")["Authorization"].split()[1]
            for i in range(len(STUDENTS))
        ]
        host = server.url.removeprefix("http://")
        tallies = {kind: Tally() for kind, _ in STUDENTS}
        deadline = time.monotonic() + SECONDS
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            users = []
            for (kind, settings), token in zip(STUDENTS, tokens, strict=True):
                tally = tallies[kind]
                if kind in ("functions", "changer"):
                    users.append(function_user(http, token, settings, tally, deadline))
                elif kind == "scripts":
                    users.append(script_user(http, token, settings[0], tally, deadline))
                else:
                    users.append(stream_user(host, http, token, settings[0], tally, deadline))
            await asyncio.gather(*users)
            status = (
                await http.get("/v1/device", headers={"Authorization": f"JWT {tokens[0]}"})
            ).json()
        return tallies, int(status["switches"]["count"])


async def alternating(realtime: bool, second: str | None) -> tuple[float, int, float]:
    """Calls/s of two users reading in turn; ``second``: what user b sets first (None: same).

    Returns (calls per second, switches, mean switch time in ms).
    """
    emulator = Emulator(seed=1, realtime=realtime)
    owner = DeviceOwner(EmulatorBackend(emulator), DeviceSettings())
    await owner.start()
    lab = Instrument(owner, default_registry(), FunctionSettings(), share_readings=False)
    try:
        await lab.run("a", "set_sine1(2000)")
        await lab.run("a", "set_pv1(1.5)")
        await lab.run("b", second or "set_sine1(2000)")
        await lab.run("b", "set_pv1(1.5)" if second is None else "set_pv1(-1)")
        calls = 0
        end = time.monotonic() + 0.3  # warm up

        async def user(name: str) -> None:
            nonlocal calls
            while time.monotonic() < end:
                await lab.run(name, READING)
                calls += 1

        await asyncio.gather(user("a"), user("b"))
        calls, end = 0, time.monotonic() + SWITCH_SECONDS
        switches, spent = owner.switches, owner.switch_seconds
        start = time.monotonic()
        await asyncio.gather(user("a"), user("b"))
        rate = calls / (time.monotonic() - start)
        count = owner.switches - switches
        mean = 1000 * (owner.switch_seconds - spent) / count if count else 0.0
        return rate, count, mean
    finally:
        await owner.close()


async def switch_costs() -> list[list[object]]:
    rows: list[list[object]] = []
    for realtime in (False, True):
        mode = "real time" if realtime else "fast"
        same, _, _ = await alternating(realtime, None)
        for label, second in (
            ("SI1 frequency + PV1", "set_sine1(5000)"),
            ("SI1 shape (1 kB table) + PV1", "set_w1(2000, 'tria')"),
        ):
            differ, switches, mean = await alternating(realtime, second)
            per_switch = (1 / differ - 1 / same) * 1000  # each call of "differ" switches
            rows.append(
                [
                    mode,
                    label,
                    f"{same:.0f}",
                    f"{differ:.0f}",
                    f"{differ / same:.2f}",
                    switches,
                    f"{per_switch:.2f}",
                    f"{mean:.2f}",
                ]
            )
    return rows


def main() -> None:
    tallies, switches = asyncio.run(interference())
    rows: list[list[object]] = [
        [kind, tally.checks, len(tally.wrong)] for kind, tally in tallies.items()
    ]
    rows.append(
        [
            "all",
            sum(t.checks for t in tallies.values()),
            sum(len(t.wrong) for t in tallies.values()),
        ]
    )
    table(
        f"(a) interference: 8 students, {SECONDS:g} s of mixed traffic, {switches} context "
        "switches (target: 0 wrong)",
        ["traffic", "checks", "wrong"],
        rows,
    )
    for tally in tallies.values():
        for wrong in tally.wrong[:5]:
            print("  wrong:", wrong)
    table(
        f"(b) context switch cost: two users alternating {READING} for {SWITCH_SECONDS:g} s "
        "each case",
        [
            "emulator",
            "b differs from a in",
            "same calls/s",
            "different calls/s",
            "ratio",
            "switches",
            "ms per switch (throughput)",
            "ms per switch (measured)",
        ],
        asyncio.run(switch_costs()),
    )


if __name__ == "__main__":
    main()
