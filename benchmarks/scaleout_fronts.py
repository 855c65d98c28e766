"""Front CPU: function strings through 2 front processes versus 1, on one emulator agent.

One `remotelab agent` (emulator, not realtime), and two fronts on NATS at once: `remotelab
serve` (one process) and `remotelab serve --workers 2`, each with its own 32 students. A
class (32 keep-alive connections, `get_voltage('CH1')` back to back, wrk) is sent to each
in turns, `ROUNDS` times, so that what else runs on this shared machine hits both alike;
the ratio of each pair is the figure (target: at least 1.6).

The load generator competes for the same 2 cores. It is wrk (C, one thread, a few
microseconds per request: about 1/50 of a front's cost), not a Python client, and the table
shows the CPU each part used in each round (fronts, agent, nats-server, wrk, as a share of
one core, from /proc and getrusage): what the fronts got is what the ratio can show. From
the CPU each call costs, it prints the most 2 cores allow (one front uses one core at most;
two share both with the agent, NATS and wrk).

It also prices the shared rate limit (ADR 0019) on the same NATS: a call with calls of its
lease left (no I/O) and a lease (one compare-and-set on the bucket), beside the
in-process limit.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_functions import VOLTAGE
from benchmarks.support import (
    LabServer,
    child_pids,
    cpu_seconds,
    nats_agent,
    nats_front,
    table,
    wrk,
)
from tests.support.nats import NatsServer, running_nats_server

STUDENTS = 32
ROUND_SECONDS = 5
ROUNDS = 3
TARGET = 1.6
LIMITS = {
    "function_calls_per_minute": "100000000",
    "device_queue_per_user": "256",
    "access_log": "false",
}


@dataclass
class Round:
    rps: float
    fronts: float  # CPU as a share of one core
    agent: float
    nats: float
    load: float


def class_round(
    lab: LabServer, students: list[str], others: Callable[[], dict[str, list[int]]]
) -> Round:
    pids = others()
    before = {name: cpu_seconds(*p) for name, p in pids.items()}
    fronts_before = cpu_seconds(*lab.pids())
    load_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    rps = wrk(
        lab.url + "/v1/functions/run",
        connections=len(students),
        seconds=ROUND_SECONDS,
        method="POST",
        body=VOLTAGE,
        auths=students,
    )
    elapsed = time.monotonic() - start
    load_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = {name: (cpu_seconds(*p) - before[name]) / elapsed for name, p in pids.items()}
    load = (
        load_after.ru_utime + load_after.ru_stime - load_before.ru_utime - load_before.ru_stime
    ) / elapsed
    return Round(
        rps,
        (cpu_seconds(*lab.pids()) - fronts_before) / elapsed,
        used["agent"],
        used["nats"],
        load,
    )


def limit_costs(nats: NatsServer) -> tuple[float, float, float]:
    """µs per call: the in-process limit, the shared one with calls of its lease left, a
    lease (a compare-and-set on the bucket, over loopback)."""
    from remotelab.auth.ratelimit import LocalRateLimit
    from remotelab.cluster import wire
    from remotelab.cluster.connection import close_quietly, connect
    from remotelab.cluster.limits import SharedLimits
    from remotelab.config import NatsSettings, Secret

    async def measure() -> tuple[float, float, float]:
        n = 20_000
        local = LocalRateLimit(10**9, 60, max_keys=100_000)
        start = time.perf_counter()
        for i in range(n):
            await local.hit(str(i % 32))
        local_us = (time.perf_counter() - start) / n * 1e6
        settings = NatsSettings(url=nats.url, user="front", password=Secret(nats.front_password))
        nc = await connect(settings, "bench limits", inbox=wire.FRONT_INBOX, attempts=3)
        try:
            limits = await SharedLimits.open(nc, max_keys=100_000)
            shared = limits.limit("bench", 10**9, 60)
            start = time.perf_counter()
            for i in range(n):
                await shared.hit(str(i % 32))
            leases = shared.leases
            shared_us = (time.perf_counter() - start) / n * 1e6
            single = limits.limit("bench_single", 10**9, 60)
            start = time.perf_counter()
            for i in range(500):
                await single.hit(f"k{i}")  # a new caller each: one lease each
            lease_us = (time.perf_counter() - start) / 500 * 1e6
            assert single.leases == 500
        finally:
            await close_quietly(nc)
        print(f"({leases} leases in {n} shared calls)")
        return local_us, shared_us, lease_us

    return asyncio.run(measure())


def section() -> None:
    with running_nats_server() as nats, nats_agent(nats, "bench-agent"):
        agent_pids = _agent_pids()
        nats_pid = nats.process.pid
        with nats_front(nats, **LIMITS) as one, nats_front(nats, workers=2, **LIMITS) as two:
            one_students = [
                one.account(f"s{i}@example.org")["Authorization"] for i in range(STUDENTS)
            ]
            two_students = [
                two.account(f"s{i}@example.org")["Authorization"] for i in range(STUDENTS)
            ]

            def others() -> dict[str, list[int]]:
                return {"agent": agent_pids, "nats": [nats_pid]}

            wrk(one.url + "/v1/health", connections=4, seconds=1)  # warm up both
            class_round(one, one_students, others)
            class_round(two, two_students, others)
            rounds = [
                (class_round(one, one_students, others), class_round(two, two_students, others))
                for _ in range(ROUNDS)
            ]
        costs = limit_costs(nats)
    rows = []
    for n, (a, b) in enumerate(rounds, 1):
        rows.append(
            [
                n,
                f"{a.rps:.0f}",
                f"{b.rps:.0f}",
                f"{b.rps / a.rps:.2f}",
                f"{a.fronts:.2f} / {b.fronts:.2f}",
                f"{a.agent:.2f} / {b.agent:.2f}",
                f"{a.nats:.2f} / {b.nats:.2f}",
                f"{a.load:.2f} / {b.load:.2f}",
                f"{a.fronts / a.rps * 1e6:.0f} / {b.fronts / b.rps * 1e6:.0f}",
            ]
        )
    table(
        f"get_voltage('CH1'), {STUDENTS} students on keep-alive connections (wrk), "
        f"{ROUND_SECONDS} s per round, 1 front and 2 in turns; CPU as a share of one core, "
        "1 front / 2 fronts",
        [
            "round",
            "1 front req/s",
            "2 fronts req/s",
            "ratio",
            "fronts CPU",
            "agent CPU",
            "nats CPU",
            "wrk CPU",
            "front µs CPU per call",
        ],
        rows,
    )
    local_us, shared_us, lease_us = costs
    print(
        f"\nrate limit per call: in-process {local_us:.1f} µs; shared {shared_us:.1f} µs "
        f"(calls of a lease); a lease (compare-and-set on the bucket) {lease_us:.0f} µs"
    )
    # What 2 cores allow at the CPU each call costs (medians of the 2-front rounds): one
    # front can use at most one core; two fronts share both cores with the rest.
    front_us = statistics.median(b.fronts / b.rps * 1e6 for _, b in rounds)
    rest_us = statistics.median((b.agent + b.nats + b.load) / b.rps * 1e6 for _, b in rounds)
    both = 2e6 / (front_us + rest_us)
    ceiling = both / min(1e6 / front_us, both)
    print(
        f"CPU per call: fronts {front_us:.0f} µs, agent + nats-server + wrk {rest_us:.0f} µs: "
        f"on 2 cores shared with those, 2 fronts can serve at most {ceiling:.2f}x the calls of 1"
    )
    ratio = statistics.median(b.rps / a.rps for a, b in rounds)
    verdict = "meets" if ratio >= TARGET else "misses"
    print(
        f"Front CPU: 2 fronts serve {ratio:.2f}x the calls of 1, the median of {ROUNDS} "
        f"rounds ({verdict} {TARGET}x)"
    )


def _agent_pids() -> list[int]:
    """The agent process started by ``bench_scaleout.agent`` (a child of this process)."""
    return [p for p in child_pids(os.getpid()) if b"agent" in _cmdline(p)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


if __name__ == "__main__":
    section()
