"""Scale-out: one scope stream viewed through 2 fronts by 1,000 websocket viewers.

A class watching the teacher's scope: one realtime emulator agent, the real nats-server
(`tests/support/nats.py`), two `remotelab serve` processes with `REMOTELAB_NATS_URL` on two
ports sharing one database, and 1,000 viewers split between them. Each viewer is a student
of their own account (1,000 accounts, as in a class where everyone signs in), each with the
webapp's default scope configuration and subscription id, so every viewer asks for the same
stream: one capture loop on the agent (no student set an output, so all share one context)
and each frame published once to both fronts.

The viewers are lean raw-asyncio websocket clients in two extra processes (one per front):
they parse only the websocket framing and the frame's capture time. Frame age is the time
a frame arrives minus its capture time (the same machine's clock). A handshake that does
not answer within 10 s (the `websockets` library's default) counts as failed.

Target: every viewer >= 10 frames/s, frame age p99 <= 150 ms, no handshake failed.
Run alone: `python -m benchmarks.scaleout_viewers`.
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx

from benchmarks.support import (
    ROOT,
    cpu_seconds,
    lab_environment,
    nats_agent,
    percentile,
    process,
    table,
)
from tests.support.nats import running_nats_server
from tests.support.ports import free_port

VIEWERS = 1000
FRONTS = 2
CONFIG = {"channels": 1, "samples": 1000, "timegap": 2}  # the webapp's default scope
SUB_ID = "scope-1"  # the webapp's first subscription
HANDSHAKE_TIMEOUT_S = 10.0
CONNECTING_AT_ONCE = 50  # handshakes in flight per load generator
WARMUP_S = 3.0
SECONDS = 10.0
MIN_FPS = 10.0
MAX_AGE_P99_MS = 150.0
STAMP = struct.Struct("<d")
STAMP_OFFSET = 20  # the capture time in a frame (streaming/messages.py)


# --------------------------------------------------------------------- the viewers


class Viewer(asyncio.Protocol):
    """One websocket viewer: handshake, subscribe, count frames and their ages."""

    def __init__(self, gen: Generator, request: bytes, subscribe: bytes) -> None:
        self.gen = gen
        self.request = request
        self.subscribe = subscribe
        self.buffer = bytearray()
        self.open = False
        self.frames = 0
        self.errors: list[str] = []
        self.upgraded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(ConnectionError(f"closed before the handshake: {exc}"))
        elif self.open:
            self.errors.append("connection closed")
        self.open = False

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if not status.startswith(b"HTTP/1.1 101"):
                if not self.upgraded.done():
                    self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.open = True
            assert self.transport is not None
            self.transport.write(self.subscribe)
            self.upgraded.set_result(None)
        pos, size = 0, len(buffer)
        gen = self.gen
        while size - pos >= 2:
            length, head = buffer[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + length:
                break
            opcode = buffer[pos] & 0x0F
            if opcode == 2:
                if gen.start <= now < gen.end:
                    self.frames += 1
                    gen.ages.append(now - STAMP.unpack_from(buffer, pos + head + STAMP_OFFSET)[0])
            elif opcode == 1:
                if b'"type":"error"' in buffer[pos + head : pos + head + length]:
                    message = bytes(buffer[pos + head : pos + head + length])
                    self.errors.append(message.decode(errors="replace"))
            elif opcode == 8:
                self.errors.append("closed by the server")
            elif opcode == 9:
                payload = bytes(buffer[pos + head : pos + head + length])
                assert self.transport is not None
                self.transport.write(_client_frame(0xA, payload))
            pos += head + length
        del buffer[:pos]


def _client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payload under 64 KiB)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    if len(payload) < 126:
        length = bytes([0x80 | len(payload)])
    else:
        length = bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    return bytes([0x80 | opcode]) + length + mask + masked


class Generator:
    """The viewers of one front, in one process."""

    def __init__(self, host: str, port: int, tokens: list[str]) -> None:
        self.host, self.port, self.tokens = host, port, tokens
        self.viewers: list[Viewer] = []
        self.failures: list[str] = []
        self.ages = array.array("d")
        self.start = self.end = float("inf")

    async def connect_one(self, token: str, gate: asyncio.Semaphore) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /v1/stream HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: JWT {token}\r\n\r\n"
        ).encode()
        message = {"type": "subscribe", "id": SUB_ID, "instrument": "oscilloscope"}
        subscribe = _client_frame(0x1, json.dumps({**message, "config": CONFIG}).encode())
        loop = asyncio.get_running_loop()
        async with gate:
            viewer = Viewer(self, request, subscribe)
            try:
                async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                    await loop.create_connection(lambda: viewer, self.host, self.port)
                    await viewer.upgraded
            except (OSError, TimeoutError) as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                if viewer.transport is not None:
                    viewer.transport.abort()
                return
        self.viewers.append(viewer)

    async def run(self) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECTING_AT_ONCE)
        began = time.monotonic()
        await asyncio.gather(*(self.connect_one(token, gate) for token in self.tokens))
        connecting = time.monotonic() - began
        print("connected", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)  # "start end" (wall clock)
        self.start, self.end = map(float, line.split())
        await asyncio.sleep(max(0.0, self.end - time.time()) + 0.2)
        for viewer in self.viewers:
            if viewer.transport is not None:
                viewer.transport.abort()
        return {
            "frames": [viewer.frames for viewer in self.viewers],
            "ages": self.ages.tolist(),
            "failures": self.failures,
            "errors": [e for viewer in self.viewers for e in viewer.errors][:5],
            "connecting_s": connecting,
        }


def generate() -> None:
    """A load generator's process: its job as JSON on stdin's first line."""
    job = json.loads(sys.stdin.readline())
    result = asyncio.run(Generator(job["host"], job["port"], job["tokens"]).run())
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------- the lab


def tokens(url: str, n: int) -> list[str]:
    """``n`` student accounts (signed up, logged in): their access tokens."""
    out = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(n):
            account = {"email": f"viewer{i}@example.org", "password": "benchmark password"}
            client.post("/v1/users", json=account)
            r = client.post("/v1/auth/login", json=account)
            r.raise_for_status()
            out.append(r.json()["access_token"])
    return out


def watch(urls: list[str], all_tokens: list[str], pids: list[int]) -> dict[str, Any]:
    """The viewers split over ``urls``, one load generator process per front; the CPU time
    the fronts (``pids``) spent meanwhile."""
    procs = []
    for i, url in enumerate(urls):
        host, port = url.split("//", 1)[1].split(":")
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.scaleout_viewers", "--generate"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdin is not None
        job = {"host": host, "port": int(port), "tokens": all_tokens[i :: len(urls)]}
        proc.stdin.write(json.dumps(job) + "\n")
        proc.stdin.flush()
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "connected":
            raise RuntimeError("a load generator failed while connecting")
    start = time.time() + WARMUP_S
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start} {start + SECONDS}\n")
        proc.stdin.flush()
    time.sleep(max(0.0, start - time.time()))
    cpu = cpu_seconds(*pids)
    time.sleep(max(0.0, start + SECONDS - time.time()))
    cpu = cpu_seconds(*pids) - cpu
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=WARMUP_S + SECONDS + 60)
        results.append(json.loads(out))
    return {
        "frames": [f for r in results for f in r["frames"]],
        "ages": [a for r in results for a in r["ages"]],
        "failures": [f for r in results for f in r["failures"]],
        "errors": [e for r in results for e in r["errors"]],
        "connecting_s": max(r["connecting_s"] for r in results),
        "front_cpu_s": cpu,
    }


def measure(viewers: int = VIEWERS, fronts: int = FRONTS) -> list[object]:
    """One row of the table: the lab started, ``viewers`` watching through ``fronts``."""
    with (
        tempfile.TemporaryDirectory() as shared,
        running_nats_server() as nats,
        nats_agent(nats, "viewers-agent", realtime=True),
        contextlib.ExitStack() as stack,
    ):
        env = lab_environment(
            shared,  # one database for both fronts, as in a real lab
            nats_url=nats.url,
            nats_user="front",
            nats_password=nats.front_password,
            access_log="false",
        )
        urls, pids = [], []
        for _ in range(fronts):  # one after the other: the first one migrates the database
            port = free_port()
            args = [sys.executable, "-m", "remotelab.cli", "serve", "--port", str(port)]
            url = f"http://127.0.0.1:{port}"
            pids.append(stack.enter_context(process(args, url + "/v1/health", env)).pid)
            urls.append(url)
        result = watch(urls, tokens(urls[0], viewers), pids)
    rates = sorted(frames / SECONDS for frames in result["frames"])
    rates += [0.0] * (viewers - len(rates))  # a viewer that never connected got nothing
    ages_ms = [age * 1000 for age in result["ages"]] or [float("inf")]
    frames = sum(result["frames"])
    cpu_per_frame = result["front_cpu_s"] / frames * 1e6 if frames else float("inf")
    for error in result["errors"] + result["failures"][:3]:
        print(f"  (a viewer saw: {error[:200]})")
    return [
        viewers,
        fronts,
        f"{rates[0]:.1f} / {percentile(rates, 50):.1f}",
        f"{percentile(ages_ms, 50):.0f} / {percentile(ages_ms, 99):.0f}",
        len(result["failures"]),
        f"{result['connecting_s']:.1f}",
        f"{cpu_per_frame:.0f}",
    ]


def section() -> None:
    """Print the table and the verdict."""
    row = measure()
    table(
        "One scope stream (1 ch x 1,000 samples, realtime emulator agent) through NATS, "
        f"{SECONDS:g} s",
        [
            "viewers",
            "fronts",
            "frames/s per viewer min / p50",
            "frame age p50 / p99 ms",
            "handshake failures",
            "connecting s",
            "fronts' CPU µs per frame sent",
        ],
        [row],
    )
    slowest = float(str(row[2]).split(" / ")[0])
    p99 = float(str(row[3]).split(" / ")[1])
    failures = int(str(row[4]))
    ok = slowest >= MIN_FPS and p99 <= MAX_AGE_P99_MS and failures == 0
    print(
        f"\nViewers: slowest {slowest:.1f} frames/s (target >= {MIN_FPS:g}), frame age p99 "
        f"{p99:.0f} ms (target <= {MAX_AGE_P99_MS:g}), {failures} handshakes failed "
        f"({'meets' if ok else 'misses'} the target)"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--generate"]:
        generate()
    else:
        section()
