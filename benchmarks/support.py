"""Helpers for the benchmarks: a real server on a loopback port, wrk, percentiles, tables."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from remotelab.cluster.local.nats import NatsServer
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server did not start within {timeout} s:\n{log.read_text()}")


CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(*pids: int, children: bool = False) -> float:
    """User + system CPU time the processes ``pids`` (all their threads) have used so far,
    from ``/proc`` (a process gone counts 0); with ``children``, also that of the children
    each has reaped."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
        if children:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICK


def child_pids(pid: int) -> list[int]:
    """The children of process ``pid`` now (none once it is gone)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread gone
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


@contextlib.contextmanager
def process(
    args: list[str], probe: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` in ``cwd`` until the block ends, once ``probe`` answers."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        try:
            wait_until_up(probe, proc, log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class LabServer:
    url: str
    pid: int | None = None
    """The server's process (None: one started elsewhere)."""

    def account(self, email: str, password: str = "benchmark password") -> dict[str, str]:
        """Sign up (if needed) and log in; the JWT headers."""
        httpx.post(f"{self.url}/v1/users", json={"email": email, "password": password})
        r = httpx.post(f"{self.url}/v1/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        return {"Authorization": "JWT " + r.json()["access_token"]}

    def pids(self) -> list[int]:
        """The server (or supervisor) and its children: its workers, or its zygote (idle)."""
        assert self.pid is not None
        return [self.pid, *child_pids(self.pid)]


@contextlib.contextmanager
def nats_front(nats: NatsServer, *, workers: int = 1, **settings: str) -> Iterator[LabServer]:
    """``remotelab serve --workers N`` with the NATS URL set, on a loopback port it picks
    itself (read from its log), until the block ends."""
    with tempfile.TemporaryDirectory() as instance:
        env = lab_environment(
            instance,
            nats_url=nats.url,
            nats_user="front",
            nats_password=nats.front_password,
            **settings,
        )
        args = [sys.executable, "-m", "remotelab.cli", "serve", "--port", "0"]
        args += ["--workers", str(workers)]
        log = Path(instance) / "front.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 90
            ready = "remotelab serving on" if workers > 1 else "Running on http://"
            said = "serving on" if workers > 1 else "Running on"
            while ready not in (text := log.read_text(errors="replace")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the front did not start:\n{text}")
                time.sleep(0.1)
            port = re.search(said + r" http://127\.0\.0\.1:(\d+)", text)
            assert port is not None, text
            yield LabServer(f"http://127.0.0.1:{port[1]}", proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def nats_agent(nats: NatsServer, name: str, *, realtime: bool = False) -> Iterator[None]:
    """``remotelab agent --device emulator`` named ``name`` on ``nats`` until the block ends
    (``realtime``: the emulator takes a real PSLab's time)."""
    with tempfile.TemporaryDirectory() as instance:
        env = {
            **os.environ,
            **nats.agent_env(name),
            "REMOTELAB_INSTANCE_PATH": instance,
            "REMOTELAB_LOG_LEVEL": "WARNING",
        }
        if realtime:
            env["REMOTELAB_EMULATOR_REALTIME"] = "true"
        args = [sys.executable, "-m", "remotelab.cli", "agent", "--device", "emulator"]
        log = Path(instance) / "agent.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while f"remotelab agent {name} serving" not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the agent did not start:\n{log.read_text()}")
                time.sleep(0.05)
            yield
        finally:
            proc.terminate()
            proc.wait(30)


def lab_environment(instance: str, **settings: str) -> dict[str, str]:
    """The environment ``lab_server`` runs with (also given to the bare endpoint: Hypercorn's
    access log formats every variable on each request, so both must carry the same)."""
    return {
        **os.environ,
        "REMOTELAB_INSTANCE_PATH": instance,
        "REMOTELAB_BCRYPT_ROUNDS": "4",
        "REMOTELAB_LOG_LEVEL": "WARNING",
        "REMOTELAB_SIGNUPS_PER_ADDRESS": "100000",
        "REMOTELAB_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
        **{f"REMOTELAB_{k.upper()}": v for k, v in settings.items()},
    }


@contextlib.contextmanager
def lab_server(**settings: str) -> Iterator[LabServer]:
    """``remotelab serve`` (Hypercorn, one worker, emulator, SQLite) on a loopback port."""
    port = free_port()
    with tempfile.TemporaryDirectory() as instance:
        env = lab_environment(instance, **settings)
        args = [sys.executable, "-m", "remotelab.cli", "serve", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        with process(args, url + "/v1/health", env) as proc:
            yield LabServer(url, proc.pid)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(samples: list[float]) -> tuple[float, float]:
    return statistics.median(samples), percentile(samples, 99)


def need_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is missing: run `bash scripts/ensure-system-packages.sh wrk`")
    return path


WRK_SCRIPT = """
wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.body = os.getenv("WRK_BODY")
local auths = {}
for a in string.gmatch(os.getenv("WRK_AUTHS") or "", "[^;]+") do table.insert(auths, a) end
local i = 0
request = function()
  i = i + 1
  local headers = {["Content-Type"] = "application/json"}
  if #auths > 0 then headers["Authorization"] = auths[(i % #auths) + 1] end
  return wrk.format(wrk.method, nil, headers, wrk.body)
end
"""


def wrk(
    url: str,
    *,
    connections: int,
    seconds: int,
    method: str = "GET",
    body: str = "",
    auths: list[str] | None = None,
    threads: int = 1,
) -> float:
    """Requests per second that wrk achieved (non-2xx answers make it fail loudly).

    ``auths``: Authorization header values, used in turn (several users at once).
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    env = {**os.environ, "WRK_METHOD": method, "WRK_BODY": body, "WRK_AUTHS": ";".join(auths or [])}
    out = subprocess.run(
        [need_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw error answers:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    return float(match.group(1))


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


class RawHTTP:
    """A minimal keep-alive HTTP/1.1 client over one socket, for latency measurements.

    httpx spends about 0.3 ms of its own per request; this spends a few microseconds, so
    what is timed is the server (and the loopback), not the client.
    """

    def __init__(self, url: str) -> None:
        host, port = url.split("//", 1)[1].split(":")
        self.host = f"{host}:{port}"
        self.address = (host, int(port))
        self.sock = self._connect()
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
        """Send one request and read the whole answer; returns the status code."""
        return self.exchange(method, path, headers, body)[0]

    def exchange(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """Send one request and read the whole answer; returns its status and body."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self._receive()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        length = 0
        closing = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                # Hypercorn ends a keep-alive connection after 1,000 requests by default.
                closing = value.strip().lower() == b"close"
        while len(self.buffer) < length:
            self._receive()
        answer, self.buffer = self.buffer[:length], self.buffer[length:]
        if closing:
            self.sock.close()
            self.sock, self.buffer = self._connect(), b""
        return int(head.split(b" ", 2)[1]), answer

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"{self.host} closed the connection mid-answer")
        self.buffer += data

    def close(self) -> None:
        self.sock.close()
