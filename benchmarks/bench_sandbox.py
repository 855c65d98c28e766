"""Sandboxed script runs through HTTP, side by side with a cold Python start, in one run.

Prints: the round trip of `print(1)` through a real Hypercorn beside a warm Jupyter
kernel's `print(1)` (alternating blocks, so both see the same load) and a cold
`python -c 'import numpy'`; a capture-and-plot script; the first live message and a
cancel over /v1/runs/live; 16 concurrent runs; the server's answer time for GET /v1/device
while 16 runs — CPU and memory bombs among them — execute; worker memory per run.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import httpx
from websockets.sync.client import connect

from benchmarks.support import RawHTTP, child_pids, cpu_seconds, lab_server, summary, table

CAPTURE = "x, y = capture1('CH1', 1000, 1)\nplot(x, y)\nprint(len(x))\n"
CPU_BOMB = "while True:\n    try:\n        pass\n    except BaseException:\n        pass\n"
MEMORY_BOMB = "x = []\nwhile True:\n    x.append('a' * 1000000)\n"


def cold_numpy(n: int = 10) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numpy"], check=True)
        out.append((time.perf_counter() - start) * 1000)
    return out


class Kernel:
    """A warm Jupyter kernel (``ipykernel``, started once), for `print(1)` until idle."""

    def __init__(self) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3")
        for _ in range(20):
            self.print1()

    def print1(self) -> float:
        """ms from the execute request until the kernel reports idle (and the reply is in)."""
        start = time.perf_counter()
        msg_id = self.client.execute("print(1)")
        while True:
            msg = self.client.get_iopub_msg(timeout=10)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        self.client.get_shell_msg(timeout=10)
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@dataclass
class CpuUse:
    """CPU seconds used while the HTTP blocks ran, by part, and their wall time."""

    server: float = 0.0
    zygote: float = 0.0
    workers: float = 0.0
    client: float = 0.0
    wall: float = 0.0

    def snapshot(self, server_pid: int) -> CpuUse:
        zygotes = child_pids(server_pid)
        own = cpu_seconds(*zygotes)
        return CpuUse(
            cpu_seconds(server_pid),
            own,
            cpu_seconds(*zygotes, children=True) - own,
            time.process_time(),
            time.perf_counter(),
        )

    def add(self, before: CpuUse, after: CpuUse) -> None:
        for name in ("server", "zygote", "workers", "client", "wall"):
            setattr(self, name, getattr(self, name) + getattr(after, name) - getattr(before, name))


CLIENTS = ("lean", "httpx")
SPARES = 2  # the default sandbox_spare_workers


def settle(server_pid: int, timeout: float = 1.0) -> None:
    """Wait until the zygote's only children are its spares: a run answers before its
    worker exits, and a worker's CPU is counted once the zygote has reaped it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(child_pids(z)) <= SPARES for z in child_pids(server_pid)):
            return
        time.sleep(0.002)


def side_by_side(
    client: httpx.Client,
    lean: RawHTTP,
    headers: dict[str, str],
    kernel: Kernel,
    server_pid: int,
    rounds: int = 10,
    block: int = 20,
) -> tuple[dict[str, list[dict]], list[float], dict[str, CpuUse]]:
    """`print(1)` through POST /v1/run, by the lean client and by httpx, and in the kernel,
    in alternating blocks, so that all see the same load of a shared machine. Returns the
    runs' answers by client, the kernel's times, and the CPU each client's blocks used
    (server, zygote, workers reaped, this client)."""
    answers: dict[str, list[dict]] = {name: [] for name in CLIENTS}
    used = {name: CpuUse() for name in CLIENTS}
    kernel_ms: list[float] = []
    for round_ in range(rounds):
        for name in CLIENTS if round_ % 2 == 0 else CLIENTS[::-1]:
            settle(server_pid)
            before = used[name].snapshot(server_pid)
            if name == "lean":
                answers[name] += lean_runs(lean, headers, "print(1)", block)
            else:
                answers[name] += runs(client, headers, "print(1)", block)
            settle(server_pid)  # the block's last workers reaped: their CPU counted here
            used[name].add(before, used[name].snapshot(server_pid))
        kernel_ms += [kernel.print1() for _ in range(block)]
    return answers, kernel_ms, used


def live_first_and_cancel(url: str, headers: dict[str, str]) -> tuple[list[float], list[float]]:
    """Over /v1/runs/live: ms from the run request to its first output (`print(1)` then a
    busy loop), then ms from DELETE /v1/runs/{id} to its answer (the worker is gone by then:
    the result waits for its exit)."""
    first: list[float] = []
    cancel: list[float] = []
    ws_url = url.replace("http", "ws") + "/v1/runs/live"
    code = "print(1)\nwhile True:\n    pass\n"
    with connect(ws_url, additional_headers=headers) as ws, httpx.Client(base_url=url) as http:
        for i in range(60):
            start = time.perf_counter()
            ws.send(json.dumps({"type": "run", "code": code}))
            run = json.loads(ws.recv(10))["run"]
            output = json.loads(ws.recv(10))
            assert output["type"] == "run.output", output
            elapsed = (time.perf_counter() - start) * 1000
            time.sleep(0.02)
            asked = time.perf_counter()
            response = http.delete(f"/v1/runs/{run}", headers=headers)
            stopped = (time.perf_counter() - asked) * 1000
            assert response.json()["status"] == "cancelled"
            result = json.loads(ws.recv(10))
            assert result["type"] == "run.result", result
            if i >= 10:
                first.append(elapsed)
                cancel.append(stopped)
    return first, cancel


def lean_runs(client: RawHTTP, headers: dict[str, str], code: str, n: int) -> list[dict]:
    """As :func:`runs`, by a client that spends microseconds per request, not httpx's 0.3 ms+
    (benchmarks/support.py; bench_functions times its calls the same way)."""
    body = json.dumps({"code": code}).encode()
    headers = {**headers, "Content-Type": "application/json"}
    out = []
    for _ in range(n):
        start = time.perf_counter()
        status, answer = client.exchange("POST", "/v1/run", headers, body)
        elapsed = (time.perf_counter() - start) * 1000
        assert status == 200, (status, answer)
        result = json.loads(answer)
        result["round_trip_ms"] = elapsed
        out.append(result)
    return out


def runs(client: httpx.Client, headers: dict[str, str], code: str, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = client.post("/v1/run", headers=headers, json={"code": code})
        r.raise_for_status()
        body = r.json()
        body["round_trip_ms"] = (time.perf_counter() - start) * 1000
        out.append(body)
    return out


def main() -> None:
    cold = cold_numpy()
    kernel = Kernel()
    settings = {
        "script_runs_per_minute": "1000000",
        "sandbox_max_concurrent": "4",
        "sandbox_max_queued": "64",
        "sandbox_wall_seconds": "5",
    }
    with lab_server(**settings) as server:
        user = server.account("bench@example.org")
        others = [server.account(f"u{i}@example.org") for i in range(16)]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            runs(client, user, "print(1)", 20)  # warm up
            lean = RawHTTP(server.url)
            try:
                assert server.pid is not None
                lean_runs(lean, user, "print(1)", 20)  # warm up
                by_client, jupyter, used = side_by_side(client, lean, user, kernel, server.pid)
            finally:
                kernel.close()
                lean.close()
            hello = by_client["httpx"]
            first, cancel = live_first_and_cancel(server.url, user)
            capture = runs(client, user, CAPTURE, 50)
            assert all(r["status"] == "ok" for r in by_client["lean"] + hello + capture)
            idle_device = []
            for _ in range(100):
                start = time.perf_counter()
                client.get("/v1/device", headers=user).raise_for_status()
                idle_device.append((time.perf_counter() - start) * 1000)

        # 16 concurrent runs of print(1), one per user.
        def one(headers: dict[str, str], code: str) -> dict:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                return runs(c, headers, code, 1)[0]

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            burst = list(pool.map(lambda h: one(h, "print(1)"), others))
        burst_wall = (time.perf_counter() - start) * 1000

        # GET /v1/device while 16 runs execute: CPU bombs, memory bombs, captures.
        codes = [CPU_BOMB] * 6 + [MEMORY_BOMB] * 5 + [CAPTURE] * 5
        busy_device: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    c.get("/v1/device", headers=user).raise_for_status()
                    busy_device.append((time.perf_counter() - t) * 1000)
                    time.sleep(0.02)

        poller = threading.Thread(target=poll)
        poller.start()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            storm = list(pool.map(lambda pair: one(*pair), zip(others, codes, strict=True)))
        stop.set()
        poller.join()

    h50, h99 = summary([r["round_trip_ms"] for r in hello])
    c50, c99 = summary([r["round_trip_ms"] for r in capture])
    n50, n99 = summary(cold)
    table(
        "Run round trip through HTTP (ms) vs a cold `python -c 'import numpy'`",
        ["what", "p50", "p99", "cold numpy p50 / p50", "target"],
        [
            [
                "print(1)",
                f"{h50:.1f}",
                f"{h99:.1f}",
                f"{n50 / h50:.1f}x",
                "p50 <= 30, p99 <= 100, >= 5x",
            ],
            ["capture1 1000 samples + plot", f"{c50:.1f}", f"{c99:.1f}", f"{n50 / c50:.1f}x", "-"],
            ["cold python -c 'import numpy'", f"{n50:.1f}", f"{n99:.1f}", "1.0x", "-"],
        ],
    )
    j50, j99 = summary(jupyter)
    l50, l99 = summary([r["round_trip_ms"] for r in by_client["lean"]])
    table(
        "print(1): HTTP POST /v1/run vs a warm Jupyter kernel (execute until idle), "
        "alternating blocks of 20; the lean client spends microseconds per request (as "
        "bench_functions' timings), httpx 0.3-0.5 ms",
        ["what", "p50 ms", "p99 ms", "ratio p50 / jupyter p50", "target"],
        [
            ["POST /v1/run print(1), lean client", f"{l50:.2f}", f"{l99:.2f}", f"{l50 / j50:.2f}",
             "<= 1.0"],
            ["POST /v1/run print(1), httpx", f"{h50:.2f}", f"{h99:.2f}", f"{h50 / j50:.2f}", "-"],
            ["jupyter kernel print(1)", f"{j50:.2f}", f"{j99:.2f}", "1.00", "-"],
        ],
    )  # fmt: skip
    parts = ("server", "zygote", "workers", "client")
    rows = []
    for name in CLIENTS:
        per_run = {
            part: getattr(used[name], part) * 1000 / len(by_client[name])
            for part in (*parts, "wall")
        }
        busy = sum(per_run[part] for part in parts)
        rows.append(
            [
                name,
                *(f"{per_run[part]:.2f}" for part in parts),
                f"{busy:.2f}",
                f"{per_run['wall']:.2f}",
                f"{busy / per_run['wall']:.2f} of {os.cpu_count()}",
            ]
        )
    table(
        "CPU per print(1) run during those blocks, back to back (ms; /proc, 10 ms ticks)",
        ["client", *parts, "total", "wall", "cores busy"],
        rows,
    )
    f50, f99 = summary(first)
    k50, k99 = summary(cancel)
    table(
        "Live runs (/v1/runs/live) and cancel (DELETE /v1/runs/{id})",
        ["what", "samples", "p50 ms", "p99 ms", "target"],
        [
            ["request -> first run.output", len(first), f"{f50:.2f}", f"{f99:.2f}", "p50 <= 10"],
            ["DELETE -> result (worker gone)", len(cancel), f"{k50:.2f}", f"{k99:.2f}", "<= 100"],
        ],
    )
    b50, b99 = summary([r["round_trip_ms"] for r in burst])
    table(
        "16 concurrent print(1) runs (16 users, 4 workers at once)",
        ["runs", "all ok", "wall ms", "p50 ms", "p99 ms"],
        [
            [
                len(burst),
                all(r["status"] == "ok" for r in burst),
                f"{burst_wall:.0f}",
                f"{b50:.1f}",
                f"{b99:.1f}",
            ]
        ],
    )
    i50, i99 = summary(idle_device)
    d50, d99 = summary(busy_device)
    statuses = {
        code: sorted({r["status"] for r, c in zip(storm, codes, strict=True) if c == code})
        for code in (CPU_BOMB, MEMORY_BOMB, CAPTURE)
    }
    table(
        "GET /v1/device while 16 runs execute (6 CPU bombs, 5 memory bombs, 5 captures)",
        ["server", "samples", "p50 ms", "p99 ms", "target"],
        [
            ["idle", len(idle_device), f"{i50:.2f}", f"{i99:.2f}", "-"],
            ["16 runs executing", len(busy_device), f"{d50:.2f}", f"{d99:.2f}", "p99 <= 50"],
        ],
    )
    print(
        f"run statuses: cpu bombs {statuses[CPU_BOMB]}, memory bombs {statuses[MEMORY_BOMB]}, "
        f"captures {statuses[CAPTURE]}"
    )
    rss = [r["stats"]["max_rss_kb"] for r in hello + capture]
    table(
        "Worker memory per run (max RSS, KiB)",
        ["run", "p50", "max"],
        [
            ["print(1)", summary([r["stats"]["max_rss_kb"] for r in hello])[0], max(rss[:200])],
            [
                "capture + plot",
                summary([r["stats"]["max_rss_kb"] for r in capture])[0],
                max(rss[200:]),
            ],
        ],
    )


if __name__ == "__main__":
    main()
