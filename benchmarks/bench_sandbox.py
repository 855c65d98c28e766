"""Sandboxed script runs through HTTP, side by side with a cold Python start, in one run.

Prints: the round trip of `print(1)` and of a capture-and-plot script through a real
Hypercorn (p50/p99) beside a cold `python -c 'import numpy'`; 16 concurrent runs; the
server's answer time for GET /v1/device while 16 runs — CPU and memory bombs among them —
execute; worker memory per run.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import threading
import time

import httpx

from benchmarks.support import lab_server, summary, table

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
            hello = runs(client, user, "print(1)", 200)
            capture = runs(client, user, CAPTURE, 50)
            assert all(r["status"] == "ok" for r in hello + capture)
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
