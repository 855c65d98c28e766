"""Function strings through HTTP versus the direct pslab call, side by side in one run.

Prints: p50/p99 latency of get_voltage('CH1') and capture1('CH1', 1000, 1) through a real
Hypercorn on loopback against the same calls made directly on the pslab library with the
emulator; throughput with 32 keep-alive connections (wrk) beside a bare Quart endpoint;
fairness (a light client's p99 while another user hammers, versus its idle p99); a
10,000-sample capture through the pslab library on the emulator.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import httpx
from pslab import ScienceLab

from benchmarks.support import free_port, lab_server, process, summary, table, wrk
from remotelab.device.emulator import Emulator

N = 400
SECONDS = 8


def direct_latencies(fn, n: int = N) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def http_latencies(
    client: httpx.Client, headers: dict[str, str], function: str, n: int = N
) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.post("/v1/functions/run", headers=headers, json={"function": function})
        out.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return out


def main() -> None:
    psl = ScienceLab(device=Emulator(seed=1))
    direct_v = direct_latencies(lambda: psl.multimeter.measure_voltage("CH1"))
    direct_c = direct_latencies(lambda: psl.oscilloscope.capture("CH1", 1000, 1), 100)
    big = direct_latencies(lambda: psl.oscilloscope.capture("CH1", 10_000, 1), 20)

    limits = {"function_calls_per_minute": "100000000", "device_queue_per_user": "256"}
    with lab_server(**limits) as server:
        heavy = server.account("hammer@example.org")
        light = server.account("light@example.org")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            http_latencies(client, heavy, "get_voltage('CH1')", 50)  # warm up
            http_v = http_latencies(client, heavy, "get_voltage('CH1')")
            http_c = http_latencies(client, heavy, "capture1('CH1', 1000, 1)", 100)
            idle = http_latencies(client, light, "get_voltage('CH1')", 200)
        body = json.dumps({"function": "get_voltage('CH1')"})
        # A class: 32 students, one keep-alive connection each.
        students = [server.account(f"s{i}@example.org")["Authorization"] for i in range(32)]
        lab_rps = wrk(
            server.url + "/v1/functions/run",
            connections=32,
            seconds=SECONDS,
            method="POST",
            body=body,
            auths=students,
        )

        # Fairness: wrk hammers as one user while a light user calls every 50 ms.
        loaded: list[float] = []

        def light_client() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                end = time.monotonic() + SECONDS - 1
                while time.monotonic() < end:
                    loaded.extend(http_latencies(c, light, "get_voltage('CH1')", 1))
                    time.sleep(0.05)

        thread = threading.Thread(target=light_client)
        thread.start()
        hammer_rps = wrk(
            server.url + "/v1/functions/run",
            connections=31,
            seconds=SECONDS,
            method="POST",
            body=body,
            auths=[heavy["Authorization"]],
        )
        thread.join()

    port = free_port()
    bare_url = f"http://127.0.0.1:{port}"
    with process([sys.executable, "-m", "benchmarks.bare_app", str(port)], bare_url + "/health"):
        bare_rps = wrk(
            bare_url + "/echo", connections=32, seconds=SECONDS, method="POST", body=body
        )

    dv50, dv99 = summary(direct_v)
    hv50, hv99 = summary(http_v)
    dc50, dc99 = summary(direct_c)
    hc50, hc99 = summary(http_c)
    table(
        "Latency (ms): HTTP through Hypercorn vs the direct pslab call, same emulator",
        [
            "call",
            "direct p50",
            "direct p99",
            "HTTP p50",
            "HTTP p99",
            "overhead p50",
            "overhead p99",
            "target",
        ],
        [
            [
                "get_voltage('CH1')",
                f"{dv50:.3f}",
                f"{dv99:.3f}",
                f"{hv50:.3f}",
                f"{hv99:.3f}",
                f"{hv50 - dv50:.3f}",
                f"{hv99 - dv99:.3f}",
                "<= 1 / <= 5",
            ],
            [
                "capture1('CH1', 1000, 1)",
                f"{dc50:.3f}",
                f"{dc99:.3f}",
                f"{hc50:.3f}",
                f"{hc99:.3f}",
                f"{hc50 - dc50:.3f}",
                f"{hc99 - dc99:.3f}",
                "-",
            ],
        ],
    )
    table(
        "Throughput, 32 keep-alive connections (wrk)",
        ["endpoint", "requests/s", "ratio to bare", "target"],
        [
            ["bare Quart JSON endpoint", f"{bare_rps:.0f}", "1.00", "-"],
            [
                "POST /v1/functions/run get_voltage (32 users)",
                f"{lab_rps:.0f}",
                f"{lab_rps / bare_rps:.2f}",
                ">= 0.75",
            ],
            [
                "the same, one user hammering (31 connections)",
                f"{hammer_rps:.0f}",
                f"{hammer_rps / bare_rps:.2f}",
                "-",
            ],
        ],
    )
    i50, i99 = summary(idle)
    l50, l99 = summary(loaded)
    table(
        "Fairness: a light user's get_voltage while another user hammers (31 connections)",
        ["light client", "samples", "p50 ms", "p99 ms", "p99 ratio", "target"],
        [
            ["idle", len(idle), f"{i50:.3f}", f"{i99:.3f}", "1.00", "-"],
            ["under load", len(loaded), f"{l50:.3f}", f"{l99:.3f}", f"{l99 / i99:.2f}", "<= 2"],
        ],
    )
    b50, b99 = summary(big)
    table(
        "10,000-sample capture through the pslab library on the emulator",
        ["call", "p50 ms", "p99 ms", "target"],
        [["oscilloscope.capture('CH1', 10000, 1)", f"{b50:.2f}", f"{b99:.2f}", "<= 50 ms"]],
    )


if __name__ == "__main__":
    main()
