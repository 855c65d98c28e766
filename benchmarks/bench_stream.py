"""Live streams through a real Hypercorn, beside a direct capture loop on the same emulator.

Prints: frames/s and samples/s delivered to 1, 10 and 50 clients of one 1-channel
1,000-sample oscilloscope stream, beside a direct pslab capture loop in the same run;
bytes on the wire per sample; the server's memory while one client is stalled for 10 s,
and the other clients' rate meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import httpx
from pslab import ScienceLab
from websockets.asyncio.client import ClientConnection, connect

from benchmarks.support import lab_server, table
from remotelab.config import Settings
from remotelab.device.emulator import Emulator

SAMPLES = 1000
CONFIG = {"channels": 1, "samples": SAMPLES, "timegap": 1}
SECONDS = 5.0
DEFAULT_MAX_FPS = Settings.from_env({}).streaming.max_fps


def direct_rate(seconds: float = SECONDS) -> float:
    psl = ScienceLab(device=Emulator(seed=1))
    psl.waveform_generator.generate("SI1", 1000)
    frames = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        psl.oscilloscope.capture("CH1", SAMPLES, 1)
        frames += 1
    return frames / (time.perf_counter() - start)


async def open_client(url: str, token: str, sub_id: str, **kwargs: object) -> ClientConnection:
    ws = await connect(f"{url}?token={token}", max_size=2**22, **kwargs)  # type: ignore[arg-type]
    await ws.send(
        json.dumps(
            {"type": "subscribe", "id": sub_id, "instrument": "oscilloscope", "config": CONFIG}
        )
    )
    return ws


async def count(ws: ClientConnection, seconds: float, sizes: list[int]) -> int:
    frames = 0
    end = time.monotonic() + seconds
    try:
        async with asyncio.timeout(seconds + 1):
            while time.monotonic() < end:
                message = await ws.recv()
                if isinstance(message, bytes):
                    frames += 1
                    sizes.append(len(message))
    except TimeoutError:
        pass
    return frames


async def rates(url: str, tokens: list[str], n: int) -> tuple[list[float], int]:
    clients = [await open_client(url, tokens[i % len(tokens)], f"c{i}") for i in range(n)]
    sizes: list[int] = []
    await asyncio.gather(*(count(ws, 1.0, sizes) for ws in clients))  # warm up
    counted = await asyncio.gather(*(count(ws, SECONDS, sizes) for ws in clients))
    for ws in clients:
        await ws.close()
    return [c / SECONDS for c in counted], sizes[-1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def stalled(url: str, tokens: list[str], pid: int) -> tuple[int, int, float, float]:
    readers = [await open_client(url, tokens[i], f"r{i}") for i in range(3)]
    sizes: list[int] = []
    before = await asyncio.gather(*(count(ws, 3.0, sizes) for ws in readers))
    rss_before = rss_kib(pid)
    stuck = await open_client(url, tokens[3], "stuck", max_queue=1, close_timeout=0.5)
    during = await asyncio.gather(*(count(ws, 10.0, sizes) for ws in readers))
    rss_after = rss_kib(pid)
    for ws in [*readers, stuck]:
        await ws.close()
    return rss_before, rss_after, sum(before) / 3 / 3.0, sum(during) / 3 / 10.0


async def measure(url: str, tokens: list[str], pid: int, stall: bool) -> dict[str, object]:
    results: dict[str, object] = {}
    for n in (1, 10, 50):
        results[f"rates{n}"], results["frame_bytes"] = await rates(url, tokens, n)
    if stall:
        results["stall"] = await stalled(url, tokens, pid)
    return results


def serve_and_measure(stall: bool, **settings: str) -> dict[str, object]:
    with lab_server(stream_max_subscriptions_per_user="100", **settings) as server:
        tokens = [
            server.account(f"viewer{i}@example.org")["Authorization"].split()[1] for i in range(10)
        ]
        httpx.post(
            f"{server.url}/v1/functions/run",
            json={"function": "set_sine1(1000)"},
            headers={"Authorization": f"JWT {tokens[0]}"},
        ).raise_for_status()
        port = server.url.rsplit(":", 1)[1]
        pid = int(
            subprocess.check_output(["pgrep", "-f", f"remotelab.cli serve --port {port}"]).split()[
                0
            ]
        )
        ws_url = server.url.replace("http://", "ws://") + "/v1/stream"
        return asyncio.run(measure(ws_url, tokens, pid, stall))


def rate_rows(results: dict[str, object], ceiling: float, label: str) -> list[list[object]]:
    """``ceiling``: what one client can get at best (the direct loop, or the frame cap)."""
    one = results["rates1"][0]  # type: ignore[index]
    rows: list[list[object]] = []
    for n in (1, 10, 50):
        per_client: list[float] = results[f"rates{n}"]  # type: ignore[assignment]
        worst = min(per_client)
        if n == 1:
            ratio, target = worst / ceiling, ">= 0.90 of direct (or of the cap)"
        else:
            ratio, target = worst / one, ">= 0.80 of one client"
        rows.append(
            [
                f"{label}: {n} client(s)",
                f"{worst:.1f}",
                f"{worst * SAMPLES:,.0f}",
                f"{ratio:.2f}",
                target,
            ]
        )
    return rows


def main() -> None:
    direct = direct_rate()
    unlimited = serve_and_measure(True, stream_max_fps="0")
    capped = serve_and_measure(False)  # the default REMOTELAB_STREAM_MAX_FPS
    rows: list[list[object]] = [
        ["direct pslab capture loop", f"{direct:.1f}", f"{direct * SAMPLES:,.0f}", "1.00", "-"]
    ]
    rows += rate_rows(unlimited, direct, "no frame-rate cap")
    rows += rate_rows(capped, min(direct, DEFAULT_MAX_FPS), "default cap (60 fps)")
    table(
        "Oscilloscope stream, 1 channel x 1,000 samples, one shared loop (slowest client)",
        ["what", "frames/s", "samples/s", "ratio", "target"],
        rows,
    )
    frame = int(unlimited["frame_bytes"])  # type: ignore[call-overload]
    wire = frame + 4  # websocket header of an unmasked server frame of this size
    table(
        "Bytes on the wire per sample",
        ["frame bytes", "with websocket header", "bytes per sample", "target"],
        [[frame, wire, f"{wire / SAMPLES:.3f}", "<= 2.2"]],
    )
    rss_before, rss_after, rate_before, rate_during = unlimited["stall"]  # type: ignore[misc]
    table(
        "One client stalled for 10 s (3 other clients reading, no frame-rate cap)",
        [
            "server RSS before KiB",
            "after 10 s KiB",
            "growth KiB",
            "others' frames/s before",
            "during",
            "target",
        ],
        [
            [
                rss_before,
                rss_after,
                rss_after - rss_before,
                f"{rate_before:.1f}",
                f"{rate_during:.1f}",
                "growth <= 1024 KiB, rate not lower",
            ]
        ],
    )


if __name__ == "__main__":
    main()
