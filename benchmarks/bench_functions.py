"""Function strings through HTTP versus the direct pslab call, side by side in one run.

Prints: p50/p99 latency of get_voltage('CH1') and capture1('CH1', 1000, 1) through a real
Hypercorn on loopback (timed with a lean raw-socket client, so the client's own cost does
not count as server overhead) against the same calls made directly on the pslab library
with the emulator; throughput with 32 keep-alive connections (wrk) beside a bare Quart endpoint
served the same way; fairness (a light client's p99 while another client hammers, versus
its idle p99); fairness by device time (the light client's p99 while another user loops the
longest call allowed: a wait for edges, in slices, and one that cannot be sliced); a
10,000-sample capture through the pslab library on the emulator.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from pslab import ScienceLab

from benchmarks.support import (
    RawHTTP,
    free_port,
    lab_environment,
    lab_server,
    process,
    summary,
    table,
    wrk,
)
from remotelab.config import DeviceSettings
from remotelab.device.emulator import Emulator

N = 400
SECONDS = 8
ROUNDS = 3
ROUND_SECONDS = 4
VOLTAGE = json.dumps({"function": "get_voltage('CH1')"})


def direct_latencies(fn: Callable[[], Any], n: int = N) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def timed_posts(
    client: httpx.Client, path: str, headers: dict[str, str], body: str, n: int
) -> list[float]:
    out = []
    headers = {**headers, "Content-Type": "application/json"}
    for _ in range(n):
        start = time.perf_counter()
        r = client.post(path, headers=headers, content=body)
        out.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return out


def http_latencies(url: str, headers: dict[str, str], function: str, n: int = N) -> list[float]:
    """Round trips of one function string over one keep-alive connection (a lean client)."""
    client = RawHTTP(url)
    body = json.dumps({"function": function}).encode()
    headers = {**headers, "Content-Type": "application/json"}
    out = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            status = client.request("POST", "/v1/functions/run", headers, body)
            out.append((time.perf_counter() - start) * 1000)
            assert status == 200, status
    finally:
        client.close()
    return out


LIGHT_INTERVAL = 0.02  # the light client calls every 20 ms: about 350 samples a run


def light_under_load(
    url: str, path: str, light: dict[str, str], body: str, *, hammer: list[str], connections: int
) -> list[float]:
    """The light client's latencies while wrk hammers ``path`` (``connections=0``: idle).

    Idle and loaded are measured with the same call pattern, so the comparison is fair: a
    client that pauses between calls is slower than one calling back to back, load or not.
    """
    samples: list[float] = []

    def light_client() -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            timed_posts(c, path, light, body, 20)  # warm up the connection
            end = time.monotonic() + SECONDS - 1
            while time.monotonic() < end:
                samples.extend(timed_posts(c, path, light, body, 1))
                time.sleep(LIGHT_INTERVAL)

    thread = threading.Thread(target=light_client)
    thread.start()
    if connections:
        wrk(
            url + path,
            connections=connections,
            seconds=SECONDS,
            method="POST",
            body=body,
            auths=hammer,
        )
    thread.join()
    return samples


def light_while_looping(
    url: str, light: dict[str, str], heavy: dict[str, str], function: str
) -> tuple[list[float], int]:
    """The light client's latencies while ``heavy`` runs ``function`` back to back.

    Returns the samples and how many of the heavy user's calls finished meanwhile.
    """
    stop = threading.Event()
    finished = 0

    def heavy_client() -> None:
        nonlocal finished
        body = json.dumps({"function": function})
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                timed_posts(c, "/v1/functions/run", heavy, body, 1)
                finished += 1

    thread = threading.Thread(target=heavy_client)
    thread.start()
    time.sleep(0.2)
    try:
        samples = light_under_load(
            url, "/v1/functions/run", light, VOLTAGE, hammer=[], connections=0
        )
    finally:
        stop.set()
        thread.join()
    return samples, finished


def class_rps(url: str, students: list[str], seconds: int) -> float:
    """A class: ``get_voltage('CH1')`` from each student's keep-alive connection (wrk)."""
    return wrk(
        url + "/v1/functions/run",
        connections=len(students),
        seconds=seconds,
        method="POST",
        body=VOLTAGE,
        auths=students,
    )


def main() -> None:
    psl = ScienceLab(device=Emulator(seed=1))
    direct_v = direct_latencies(lambda: psl.multimeter.measure_voltage("CH1"))
    direct_c = direct_latencies(lambda: psl.oscilloscope.capture("CH1", 1000, 1), 100)
    big = direct_latencies(lambda: psl.oscilloscope.capture("CH1", 10_000, 1), 20)

    limits = {"function_calls_per_minute": "100000000", "device_queue_per_user": "256"}
    port = free_port()
    bare_url = f"http://127.0.0.1:{port}"
    bare_args = [sys.executable, "-m", "benchmarks.bare_app", str(port)]
    with (
        tempfile.TemporaryDirectory() as instance,
        process(bare_args, bare_url + "/health", lab_environment(instance, **limits)),
        lab_server(**limits) as server,
    ):
        heavy = server.account("hammer@example.org")
        light = server.account("light@example.org")
        http_latencies(server.url, heavy, "get_voltage('CH1')", 50)  # warm up
        http_v = http_latencies(server.url, heavy, "get_voltage('CH1')")
        http_c = http_latencies(server.url, heavy, "capture1('CH1', 1000, 1)", 100)
        # A class: 32 students, one keep-alive connection each.
        students = [server.account(f"s{i}@example.org")["Authorization"] for i in range(32)]

        # Lab and bare endpoint in turns, so that drifts of the machine hit both alike.
        def lab_class() -> float:
            return class_rps(server.url, students, ROUND_SECONDS)

        def bare_class() -> float:
            return wrk(
                bare_url + "/echo",
                connections=32,
                seconds=ROUND_SECONDS,
                method="POST",
                body=VOLTAGE,
            )

        lab_class(), bare_class()  # warm up both
        rounds = [(lab_class(), bare_class()) for _ in range(ROUNDS)]
        lab_rps = statistics.median(lab for lab, _ in rounds)
        bare_rps = statistics.median(bare for _, bare in rounds)
        ratio = statistics.median(lab / bare for lab, bare in rounds)
        bare_idle = light_under_load(bare_url, "/echo", {}, VOLTAGE, hammer=[], connections=0)
        bare_flooded = light_under_load(bare_url, "/echo", {}, VOLTAGE, hammer=[], connections=31)
        # The light client alone; with one client hammering back to back; then with the
        # hammer on 31 connections, which saturates the event loop (the bare endpoint is
        # measured that way too, for comparison).
        idle = light_under_load(
            server.url, "/v1/functions/run", light, VOLTAGE, hammer=[], connections=0
        )
        loaded = light_under_load(
            server.url,
            "/v1/functions/run",
            light,
            VOLTAGE,
            hammer=[heavy["Authorization"]],
            connections=1,
        )
        flooded = light_under_load(
            server.url,
            "/v1/functions/run",
            light,
            VOLTAGE,
            hammer=[heavy["Authorization"]],
            connections=31,
        )

        # Fairness by device time: the light client while another user loops the longest
        # call allowed. get_freq on FRQ (no signal on the default bench) waits its whole
        # timeout, in slices; in firmware mode the same measurement cannot be sliced (the
        # PSLab answers nothing until it is done, and pslab asks twice).
        longest = DeviceSettings().max_call_seconds
        sliced_call = f"get_freq('FRQ', {longest:g})"
        whole_call = f"logic_analyzer_measure_frequency('FRQ', True, {longest / 2:g})"
        sliced, sliced_calls = light_while_looping(server.url, light, heavy, sliced_call)
        whole, whole_calls = light_while_looping(server.url, light, heavy, whole_call)

    # The same class with shared readings off: every call reaches the device.
    with lab_server(**limits, device_share_readings="false") as server:
        students = [server.account(f"s{i}@example.org")["Authorization"] for i in range(32)]
        class_rps(server.url, students, 2)  # warm up
        unshared_rps = class_rps(server.url, students, SECONDS)

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
        f"Throughput, 32 keep-alive connections (wrk): medians of {ROUNDS} rounds of "
        f"{ROUND_SECONDS} s, lab and bare endpoint in turns",
        ["endpoint", "requests/s", "ratio to bare", "target"],
        [
            ["bare Quart JSON endpoint", f"{bare_rps:.0f}", "1.00", "-"],
            [
                "POST /v1/functions/run get_voltage('CH1') (32 users)",
                f"{lab_rps:.0f}",
                f"{ratio:.2f}",
                ">= 0.75",
            ],
            [
                "the same with REMOTELAB_DEVICE_SHARE_READINGS=false",
                f"{unshared_rps:.0f}",
                f"{unshared_rps / bare_rps:.2f}",
                "-",
            ],
        ],
    )
    i99 = summary(idle)[1]
    bi99 = summary(bare_idle)[1]

    def row(name: str, samples: list[float], base: float, target: str) -> list[object]:
        p50, p99 = summary(samples)
        return [name, len(samples), f"{p50:.3f}", f"{p99:.3f}", f"{p99 / base:.2f}", target]

    table(
        "Fairness: a light user's call (every 20 ms) while another client hammers",
        ["light client", "samples", "p50 ms", "p99 ms", "p99 / idle p99", "target"],
        [
            row("lab, idle", idle, i99, "-"),
            row("lab, hammer: one client back to back", loaded, i99, "<= 2"),
            row("lab, hammer: 31 connections (loop saturated)", flooded, i99, "-"),
            row("bare endpoint, idle", bare_idle, bi99, "-"),
            row("bare endpoint, hammer: 31 connections", bare_flooded, bi99, "-"),
        ],
    )
    device = DeviceSettings()
    quantum, slice_ms = device.quantum_ms, device.slice_ms
    limit_ms = device.max_call_seconds * 1000

    def timed_row(name: str, samples: list[float], target: str) -> list[object]:
        p50, p99 = summary(samples)
        return [name, len(samples), f"{p50:.3f}", f"{p99:.3f}", f"{max(samples):.1f}", target]

    table(
        f"Fairness by device time: a light user's get_voltage('CH1') (every 20 ms) while another "
        f"user loops the longest call allowed (quantum {quantum:g} ms, slice {slice_ms:g} ms, "
        f"a call at most {limit_ms:g} ms)",
        ["light client", "samples", "p50 ms", "p99 ms", "max ms", "target"],
        [
            timed_row("idle", idle, "-"),
            timed_row(
                f"another user loops {sliced_call} ({sliced_calls} done): in slices",
                sliced,
                f"<= {i99 + quantum + limit_ms:.0f} (idle p99 + quantum + call limit), "
                f"< 1000; expected <= {i99 + quantum + slice_ms:.0f} (+ slice)",
            ),
            timed_row(
                f"another user loops {whole_call} ({whole_calls} done): in one piece",
                whole,
                f"<= {i99 + quantum + limit_ms:.0f} (idle p99 + quantum + call limit)",
            ),
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
