"""This tree beside a baseline checkout of remotelab, both served in the same run.

``REMOTELAB_BENCH_BASELINE=/path/to/other/worktree python -m benchmarks baseline``

The function and stream benchmarks print this tree's figures only, and on a machine shared
with other work two runs a few minutes apart differ by more than 10 %. Here the lab from
this tree and the lab from the baseline (another checkout with its own virtualenv in
``.venv``, e.g. ``git worktree add ../old <commit> && make -C ../old install``) are served
at once, each by its own Python, beside the bare Quart endpoint, and measured in turns for
``REMOTELAB_BENCH_ROUNDS`` rounds (default 5; the order flips every round), so that what
else runs on the machine hits both alike. Per tree, medians of the rounds:

- requests/s of ``get_voltage('CH1')`` from 32 users (wrk, as in bench_functions), and the
  ratio to the bare endpoint measured right before it;
- the server process's CPU time per request (``/proc/<pid>/stat``): the figure least
  disturbed by other load, since it does not count the time the server waited for a core;
- the same two with shared readings off;
- the p50 round trip of ``get_voltage('CH1')`` from one client;
- one oscilloscope stream without a frame-rate cap (as in bench_stream) to 1 client, then
  to 50: the slowest client's frames/s, and the server's CPU time per frame captured.

Then each of this tree's figures relative to the baseline's. Without the variable it says
how to set it and measures nothing (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

from benchmarks.support import (
    ROOT,
    LabServer,
    RawHTTP,
    cpu_seconds,
    lab_environment,
    process,
    summary,
    table,
    wrk,
)
from tests.support.ports import free_port

SECONDS = 3
CLASS = 32
VOLTAGE = json.dumps({"function": "get_voltage('CH1')"})
SETTINGS = {
    "function_calls_per_minute": "100000000",
    "device_queue_per_user": "256",
    "stream_max_fps": "0",
    "stream_max_subscriptions_per_user": "100",
}
SCOPE = {"channels": 1, "samples": 1000, "timegap": 1}


@dataclass
class Served:
    """One lab server of one tree, with its class of users."""

    label: str
    url: str
    pid: int
    students: list[str]


@contextlib.contextmanager
def serve(tree: Path, label: str, **settings: str) -> Iterator[Served]:
    """``remotelab serve`` run by ``tree``'s own virtualenv, in ``tree``."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    python = tree / ".venv" / "bin" / "python"
    args = [str(python), "-m", "remotelab.cli", "serve", "--port", str(port)]
    with (
        tempfile.TemporaryDirectory() as instance,
        process(
            args, url + "/v1/health", lab_environment(instance, **SETTINGS, **settings), tree
        ) as proc,
    ):
        lab = LabServer(url)
        students = [lab.account(f"s{i}@example.org")["Authorization"] for i in range(CLASS)]
        httpx.post(
            url + "/v1/functions/run",
            json={"function": "set_sine1(1000)"},
            headers={"Authorization": students[0]},
        ).raise_for_status()
        yield Served(label, url, proc.pid, students)


def class_round(served: Served, bare_url: str) -> dict[str, float]:
    bare = wrk(bare_url + "/echo", connections=CLASS, seconds=SECONDS, method="POST", body=VOLTAGE)
    before = cpu_seconds(served.pid)
    rps = wrk(
        served.url + "/v1/functions/run",
        connections=CLASS,
        seconds=SECONDS,
        method="POST",
        body=VOLTAGE,
        auths=served.students,
    )
    cpu = cpu_seconds(served.pid) - before
    return {"rps": rps, "ratio": rps / bare, "cpu_us": cpu / (rps * SECONDS) * 1e6}


def latency_p50(served: Served, n: int = 300) -> float:
    client = RawHTTP(served.url)
    headers = {"Authorization": served.students[0], "Content-Type": "application/json"}
    body = VOLTAGE.encode()
    samples = []
    try:
        for _ in range(n):
            start = time.perf_counter()
            status = client.request("POST", "/v1/functions/run", headers, body)
            samples.append((time.perf_counter() - start) * 1000)
            assert status == 200, status
    finally:
        client.close()
    return summary(samples)[0]


async def _count(ws: ClientConnection, seconds: float) -> int:
    frames = 0
    end = time.monotonic() + seconds
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds + 1):
            while time.monotonic() < end:
                if isinstance(await ws.recv(), bytes):
                    frames += 1
    return frames


async def _frames(url: str, tokens: list[str], clients: int) -> list[int]:
    """Frames each of ``clients`` subscribers of one stream got in ``SECONDS``."""
    ws_url = url.replace("http://", "ws://") + "/v1/stream"
    sockets = []
    try:
        for n in range(clients):
            ws = await connect(f"{ws_url}?token={tokens[n % len(tokens)]}", max_size=2**22)
            sockets.append(ws)
            subscribe = {"type": "subscribe", "id": f"c{n}", "instrument": "oscilloscope"}
            await ws.send(json.dumps({**subscribe, "config": SCOPE}))
        await asyncio.gather(*(_count(ws, 0.5) for ws in sockets))  # warm up
        return await asyncio.gather(*(_count(ws, SECONDS) for ws in sockets))
    finally:
        for ws in sockets:
            await ws.close()


def stream_round(served: Served, clients: int) -> dict[str, float]:
    """The slowest client's frames/s, and the server's CPU time per frame captured."""
    tokens = [student.split()[1] for student in served.students]
    before = cpu_seconds(served.pid)
    counts = asyncio.run(_frames(served.url, tokens, clients))
    cpu = cpu_seconds(served.pid) - before
    return {
        f"fps {clients}": min(counts) / SECONDS,
        f"cpu_us_frame {clients}": cpu / statistics.mean(counts) * 1e6,
    }


def main() -> None:
    baseline = os.environ.get("REMOTELAB_BENCH_BASELINE")
    if not baseline:
        print(
            "REMOTELAB_BENCH_BASELINE is not set: nothing to compare. Set it to another "
            "checkout of remotelab with its own .venv (see this module's doc)."
        )
        return
    base = Path(baseline).resolve()
    if not (base / ".venv" / "bin" / "python").exists():
        raise SystemExit(f"{base} has no .venv/bin/python: run `make install` there first")
    rounds = int(os.environ.get("REMOTELAB_BENCH_ROUNDS", "5"))
    port = free_port()
    bare_url = f"http://127.0.0.1:{port}"
    bare_args = [sys.executable, "-m", "benchmarks.bare_app", str(port)]
    results: dict[tuple[str, str], list[float]] = {}
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(tempfile.TemporaryDirectory())
        stack.enter_context(
            process(bare_args, bare_url + "/health", lab_environment(instance, **SETTINGS))
        )
        shared = [
            stack.enter_context(serve(base, "baseline")),
            stack.enter_context(serve(ROOT, "this tree")),
        ]
        unshared = [
            stack.enter_context(serve(base, "baseline", device_share_readings="false")),
            stack.enter_context(serve(ROOT, "this tree", device_share_readings="false")),
        ]
        for served in shared + unshared:  # warm up
            wrk(
                served.url + "/v1/functions/run",
                connections=CLASS,
                seconds=1,
                method="POST",
                body=VOLTAGE,
                auths=served.students,
            )
        for n in range(rounds):
            pairs = list(zip(shared, unshared, strict=True))
            for one, other in pairs if n % 2 == 0 else reversed(pairs):
                figures = class_round(one, bare_url)
                figures |= {f"unshared {k}": v for k, v in class_round(other, bare_url).items()}
                figures["p50"] = latency_p50(one)
                figures |= stream_round(one, 1)
                figures |= stream_round(one, 50)
                for name, value in figures.items():
                    results.setdefault((one.label, name), []).append(value)
            print(f"round {n + 1} of {rounds} done", flush=True)

    rows: list[list[object]] = []
    for name, what, better in [
        ("rps", "functions: requests/s, 32 users", "higher"),
        ("ratio", "functions: ratio to the bare endpoint", "higher"),
        ("cpu_us", "functions: server CPU µs per request", "lower"),
        ("unshared rps", "shared readings off: requests/s", "higher"),
        ("unshared ratio", "shared readings off: ratio to bare", "higher"),
        ("unshared cpu_us", "shared readings off: CPU µs per request", "lower"),
        ("p50", "get_voltage('CH1') p50 ms, one client", "lower"),
        ("fps 1", "stream, 1 client, no cap: frames/s", "higher"),
        ("cpu_us_frame 1", "stream, 1 client: server CPU µs per frame", "lower"),
        ("fps 50", "stream, 50 clients: slowest client's frames/s", "higher"),
        ("cpu_us_frame 50", "stream, 50 clients: server CPU µs per frame", "lower"),
    ]:
        old = statistics.median(results[("baseline", name)])
        new = statistics.median(results[("this tree", name)])
        rows.append([what, f"{old:.3f}", f"{new:.3f}", f"{new / old:.3f}", better])
    table(
        f"This tree vs {base} (medians of {rounds} rounds, the trees in turns)",
        ["figure", "baseline", "this tree", "this / baseline", "better"],
        rows,
    )


if __name__ == "__main__":
    main()
