"""Soak: mixed traffic against a real server for 10 minutes (REMOTELAB_SOAK_SECONDS).

Function strings, script runs (bombs among them: CPU loop, memory hog, print flood), CRUD on
scripts and live streams, all at once. Prints the server's RSS every minute, the errors,
the p50/p99 of each route, and the RSS growth over the second half (target: at most 2 %).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.sync.client import connect

from benchmarks.support import summary, table
from tests.support.server import running

SECONDS = int(os.environ.get("REMOTELAB_SOAK_SECONDS", "600"))
SAMPLE_SECONDS = 5
GROWTH_TARGET = 0.02

SCRIPTS = {
    "run: capture": "x, y = capture1('CH1', 1000, 1)\nplot(x, y)\nprint(len(x))\n",
    "run: cpu bomb": "while True:\n    pass\n",
    "run: memory bomb": "x = []\nwhile True:\n    x.append('a' * 1000000)\n",
    "run: print flood": "while True:\n    print('flood' * 100)\n",
}
FUNCTIONS = ["get_voltage('CH1')", "capture1('CH1', 500, 2)", "get_resistance()"]


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self, route: str, call: Callable[[], httpx.Response], ok: set[int]
    ) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = call()
        except Exception as exc:
            self.error(route, f"{type(exc).__name__}: {exc}")
            return None
        elapsed = (time.perf_counter() - start) * 1000
        with self.lock:
            self.latencies[route].append(elapsed)
        if response.status_code not in ok:
            self.error(route, f"{response.status_code} {response.text[:200]}")
            return None
        return response

    def error(self, route: str, what: str) -> None:
        with self.lock:
            self.errors[route] += 1
            self.examples.setdefault(route, what)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def functions(url: str, headers: dict[str, str], rec: Record, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        n = 0
        while not stop.is_set():
            function = FUNCTIONS[n % len(FUNCTIONS)]
            n += 1
            rec.timed(
                "POST /v1/functions/run",
                lambda f=function: http.post("/v1/functions/run", json={"function": f}),
                {200},
            )


def runs(url: str, headers: dict[str, str], rec: Record, stop: threading.Event) -> None:
    names = list(SCRIPTS)
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        n = 0
        while not stop.is_set():
            name = names[n % len(names)]
            n += 1
            response = rec.timed(
                name, lambda c=SCRIPTS[name]: http.post("/v1/run", json={"code": c}), {200}
            )
            if response is not None:
                status = response.json()["status"]
                expected = "ok" if name == "run: capture" else ("timeout", "killed", "error")
                if status not in expected:
                    rec.error(name, f"status {status}: {response.text[:200]}")


def crud(url: str, headers: dict[str, str], rec: Record, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"title": f"soak {n}", "code": "print(1)\n" * (n % 50 + 1)}
            created = rec.timed(
                "POST /v1/scripts", lambda b=body: http.post("/v1/scripts", json=b), {201}
            )
            if created is None:
                continue
            path = f"/v1/scripts/{created.json()['id']}"
            rec.timed("GET /v1/scripts/{id}", lambda p=path: http.get(p), {200})
            rec.timed(
                "PATCH /v1/scripts/{id}",
                lambda p=path: http.patch(p, json={"code": "print(2)"}),
                {200},
            )
            rec.timed("GET /v1/scripts", lambda: http.get("/v1/scripts?limit=20"), {200})
            rec.timed("DELETE /v1/scripts/{id}", lambda p=path: http.delete(p), {204})


def streams(url: str, token: str, rec: Record, stop: threading.Event) -> None:
    """Subscribe, take 20 frames (time to the first is the route's latency), unsubscribe."""
    ws_url = url.replace("http://", "ws://") + "/v1/stream"
    n = 0
    while not stop.is_set():
        n += 1
        try:
            with connect(ws_url, additional_headers={"Authorization": f"JWT {token}"}) as ws:
                config = {"channels": 1, "samples": 500 + n % 500, "timegap": 1}
                start = time.perf_counter()
                ws.send(
                    json.dumps(
                        {
                            "type": "subscribe",
                            "id": "s",
                            "instrument": "oscilloscope",
                            "config": config,
                        }
                    )
                )
                frames = 0
                while frames < 20 and not stop.is_set():
                    message = ws.recv(timeout=10)
                    if isinstance(message, bytes):
                        if frames == 0:
                            with rec.lock:
                                rec.latencies["stream: first frame"].append(
                                    (time.perf_counter() - start) * 1000
                                )
                        frames += 1
                    elif json.loads(message)["type"] == "error":
                        rec.error("stream: first frame", message[:200])
                        break
                ws.send(json.dumps({"type": "unsubscribe", "id": "s"}))
        except Exception as exc:
            if not stop.is_set():
                rec.error("stream: first frame", f"{type(exc).__name__}: {exc}")


def main() -> None:
    settings = {
        "sandbox_wall_seconds": "3",
        "sandbox_cpu_seconds": "3",
        "sandbox_max_concurrent": "2",
        "sandbox_max_queued": "64",
        "max_scripts_per_user": "1000000",
    }
    rec = Record()
    stop = threading.Event()
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(Path(tmp) / "instance", **settings) as server,
    ):
        accounts = [server.signup(f"soak{i}@example.org", "soak password") for i in range(5)]
        tokens = [a["Authorization"].removeprefix("JWT ") for a in accounts]
        workers = [
            threading.Thread(target=functions, args=(server.url, accounts[0], rec, stop)),
            threading.Thread(target=functions, args=(server.url, accounts[1], rec, stop)),
            threading.Thread(target=runs, args=(server.url, accounts[2], rec, stop)),
            threading.Thread(target=crud, args=(server.url, accounts[3], rec, stop)),
            threading.Thread(target=streams, args=(server.url, tokens[4], rec, stop)),
            threading.Thread(target=streams, args=(server.url, tokens[4], rec, stop)),
        ]
        start = time.monotonic()
        for worker in workers:
            worker.start()
        samples: list[tuple[float, int]] = [(0.0, rss_kb(server.pid))]
        print(f"soak: {SECONDS} s of mixed traffic; RSS of the server process:", flush=True)
        next_print = 60.0
        while (elapsed := time.monotonic() - start) < SECONDS:
            time.sleep(min(SAMPLE_SECONDS, SECONDS - elapsed))
            elapsed = time.monotonic() - start
            samples.append((elapsed, rss_kb(server.pid)))
            if elapsed >= next_print:
                print(f"  {elapsed / 60:4.1f} min  RSS {samples[-1][1] / 1024:7.1f} MB", flush=True)
                next_print += 60
        stop.set()
        for worker in workers:
            worker.join(60)
        log = server.log.read_text()

    half = [kb for t, kb in samples if t >= SECONDS / 2]
    mid, end = half[0], samples[-1][1]
    growth = (end - mid) / mid
    rows = []
    for route in sorted(set(rec.latencies) | set(rec.errors)):
        times = rec.latencies.get(route, [])
        p50, p99 = summary(times) if times else (float("nan"), float("nan"))
        rows.append([route, len(times), rec.errors.get(route, 0), f"{p50:.1f}", f"{p99:.1f}"])
    table(
        f"Soak, {SECONDS} s ({len(workers)} clients)",
        ["route", "requests", "errors", "p50 ms", "p99 ms"],
        rows,
    )
    table(
        "RSS of the server",
        ["at", "RSS MB"],
        [
            [f"{t / 60:.1f} min", f"{kb / 1024:.1f}"]
            for t, kb in samples
            if t == 0 or int(t) % 60 < SAMPLE_SECONDS
        ]
        + [[f"{samples[-1][0] / 60:.1f} min (end)", f"{end / 1024:.1f}"]],
    )
    verdict = "meets" if growth <= GROWTH_TARGET else "MISSES"
    print(
        f"\nRSS growth over the second half: {growth * 100:+.2f} % "
        f"({mid / 1024:.1f} -> {end / 1024:.1f} MB): {verdict} the target of "
        f"{GROWTH_TARGET * 100:.0f} %"
    )
    for route, what in sorted(rec.examples.items()):
        print(f"first error of {route}: {what}")
    tracebacks = log.count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")


if __name__ == "__main__":
    main()
