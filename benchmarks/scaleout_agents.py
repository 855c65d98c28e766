"""Scale-out targets that add device agents: throughput with 1-10 agents, failover.

A section of ``bench_scaleout`` (:func:`section`). Everything is real: nats-server with the
lab's users file, ``remotelab serve`` as the front (one process) and ``remotelab agent``
processes with realtime emulators, on loopback.

- **Throughput**: ``capture1('CH1', 1000, 10)`` is device-bound: 10 ms of capture plus 2,000
  bytes at 1 Mbaud (20 ms) and the command overhead, about 33 ms a call on the realtime
  emulator. Agents are added (1, 2, 4, 10) to one front; with each, ``USERS_PER_AGENT`` more
  users are placed one after the other (each on the least busy device: evenly), then all
  users so far call back to back (one call in flight each, a lean keep-alive client) for
  ``SECONDS``. Readings are not shared (``REMOTELAB_DEVICE_SHARE_READINGS=false``): every
  call captures on its own, as different users' outputs would make them anyway. The table
  also gives the CPU the front and the agents used (of one core), to show what bounds the
  figure. Target: N agents serve at least 0.8 x N times what one agent serves, same run.
- **Failover**: two agents (default heartbeat) serve ``USERS_PER_AGENT`` users each, calling
  back to back; one agent gets SIGKILL. Its users' gap is the time from the kill to their
  first answered call after it (meanwhile they get 503s and call again). Target: 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchmarks.support import LabServer, cpu_seconds, nats_front, percentile, table
from tests.support.nats import NatsServer, running_nats_server

CALL = "capture1('CH1', 1000, 10)"
AGENT_COUNTS = (1, 2, 4, 10)
USERS_PER_AGENT = 4
WARMUP_SECONDS = 2.0
SECONDS = 8.0
THROUGHPUT_TARGET = 0.8  # x N times the one-agent figure
FAILOVER_TARGET_S = 5.0
FAILOVER_SECONDS_BEFORE = 3.0
RETRY_PAUSE_S = 0.05
START_TIMEOUT_S = 120
LIMITS = {"function_calls_per_minute": "100000000", "access_log": "false"}


# ---------------------------------------------------------------------------- processes


@dataclass
class Agents:
    """``remotelab agent`` processes (realtime emulators), started and stopped here."""

    nats: NatsServer
    folder: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, names: list[str]) -> None:
        """Start agents ``names`` together; back once each says it is serving."""
        for name in names:
            env = {
                **os.environ,
                **self.nats.agent_env(name),
                "REMOTELAB_INSTANCE_PATH": str(self.folder / name),
                "REMOTELAB_LOG_LEVEL": "WARNING",
                "REMOTELAB_EMULATOR_REALTIME": "true",
                "REMOTELAB_DEVICE_SHARE_READINGS": "false",
            }
            args = [sys.executable, "-m", "remotelab.cli", "agent", "--device", "emulator"]
            with self.log(name).open("wb") as out:
                self.procs[name] = subprocess.Popen(
                    [*args, "--name", name], stdout=out, stderr=subprocess.STDOUT, env=env
                )
        deadline = time.monotonic() + START_TIMEOUT_S
        for name in names:
            while f"remotelab agent {name} serving" not in self.log(name).read_text(
                "utf-8", "replace"
            ):
                if self.procs[name].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"agent {name} did not start:\n{self.log(name).read_text()}")
                time.sleep(0.05)

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs.values() if p.poll() is None)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def agents(nats: NatsServer) -> Iterator[Agents]:
    with tempfile.TemporaryDirectory() as folder:
        group = Agents(nats, Path(folder))
        try:
            yield group
        finally:
            group.stop()


def device_of(lab: LabServer, headers: dict[str, str]) -> str:
    listed = httpx.get(f"{lab.url}/v1/devices", headers=headers).json()["devices"]
    (mine,) = [d["name"] for d in listed if d["yours"]]
    return str(mine)


def registered(lab: LabServer, headers: dict[str, str]) -> int:
    return len(httpx.get(f"{lab.url}/v1/devices", headers=headers).json()["devices"])


# ---------------------------------------------------------------------------- load


class Caller:
    """One user calling ``CALL`` back to back over one keep-alive connection."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.host, port = url.split("//", 1)[1].split(":")
        self.port = int(port)
        body = json.dumps({"function": CALL}).encode()
        lines = [
            "POST /v1/functions/run HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        #: (when it was answered: time.monotonic(), status, seconds it took), in order.
        self.answers: list[tuple[float, int, float]] = []

    async def run(self, until: float) -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while time.monotonic() < until:
                start = time.monotonic()
                try:
                    if connection is None:
                        connection = await asyncio.open_connection(self.host, self.port)
                    status = await self.call(*connection)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0  # the connection went: a new one for the next call
                    connection = None
                end = time.monotonic()
                self.answers.append((end, status, end - start))
                if status != 200:
                    await asyncio.sleep(RETRY_PAUSE_S)
        finally:
            if connection is not None:
                connection[1].close()
                with contextlib.suppress(Exception):
                    await connection[1].wait_closed()

    async def call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        """Send the call, read the whole answer; its status."""
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return int(head.split(b" ", 2)[1])


def place(lab: LabServer, emails: list[str]) -> list[dict[str, str]]:
    """Sign ``emails`` up and give each a device by one call, one after the other (each on
    the least busy device); their headers."""
    users = []
    for email in emails:
        headers = lab.account(email)
        answer = httpx.post(
            f"{lab.url}/v1/functions/run", json={"function": CALL}, headers=headers, timeout=60
        )
        if answer.status_code != 200:
            raise RuntimeError(f"{email}: {answer.status_code} {answer.text}")
        users.append(headers)
    return users


# ---------------------------------------------------------------------------- throughput


@dataclass
class Round:
    agents: int
    users: int
    per_second: float
    errors: int
    p50_ms: float
    p99_ms: float
    front_cpu: float  # of one core
    agents_cpu: float  # of one core, all agents together
    load: float  # the machine's 1-minute load average at the end

    @property
    def cpu_ms_per_call(self) -> float:
        """CPU time the front and the agents spent per call answered."""
        return 1000 * (self.front_cpu + self.agents_cpu) / self.per_second if self.per_second else 0


def measure(lab: LabServer, group: Agents, users: list[dict[str, str]], n_agents: int) -> Round:
    callers = [Caller(lab.url, headers) for headers in users]
    front_pid = lab.pid
    assert front_pid is not None
    start = time.monotonic()
    begin, end = start + WARMUP_SECONDS, start + WARMUP_SECONDS + SECONDS
    cpu: dict[str, float] = {}

    async def drive() -> None:
        async def sample_cpu() -> None:
            await asyncio.sleep(begin - time.monotonic())
            cpu["front"], cpu["agents"] = cpu_seconds(front_pid), group.cpu()
            await asyncio.sleep(end - time.monotonic())
            cpu["front"] = cpu_seconds(front_pid) - cpu["front"]
            cpu["agents"] = group.cpu() - cpu["agents"]

        await asyncio.gather(sample_cpu(), *(c.run(end) for c in callers))

    asyncio.run(drive())
    window = [a for c in callers for a in c.answers if begin <= a[0] < end]
    ok = [a for a in window if a[1] == 200]
    took = [a[2] * 1000 for a in ok] or [float("nan")]
    return Round(
        n_agents,
        len(users),
        len(ok) / SECONDS,
        len(window) - len(ok),
        statistics.median(took),
        percentile(took, 99),
        cpu["front"] / SECONDS,
        cpu["agents"] / SECONDS,
        os.getloadavg()[0],
    )


def throughput() -> list[Round]:
    rounds: list[Round] = []
    with running_nats_server() as nats, agents(nats) as group, nats_front(nats, **LIMITS) as lab:
        users: list[dict[str, str]] = []
        for n in AGENT_COUNTS:
            new = [f"agent{i:02d}" for i in range(len(group.procs), n)]
            group.start(new)
            probe = users[0] if users else lab.account("probe@example.org")
            deadline = time.monotonic() + 30
            while registered(lab, probe) < n:  # the front has heard of every agent
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the front does not see {n} agents")
                time.sleep(0.1)
            emails = [f"u{i}@example.org" for i in range(len(users), n * USERS_PER_AGENT)]
            users += place(lab, emails)
            rounds.append(measure(lab, group, users, n))
    return rounds


# ---------------------------------------------------------------------------- failover


@dataclass
class Failover:
    gaps: list[float]  # the killed agent's users: kill -> their first answer after it
    others_gap: float  # the other users' longest wait between two answers meanwhile
    errors: int  # answers other than 200 after the kill
    served_after: int  # calls answered after the kill


def failover() -> Failover:
    with running_nats_server() as nats, agents(nats) as group, nats_front(nats, **LIMITS) as lab:
        group.start(["agent-a", "agent-b"])
        users = place(lab, [f"f{i}@example.org" for i in range(2 * USERS_PER_AGENT)])
        on = [device_of(lab, h) for h in users]
        victim = on[0]
        callers = [Caller(lab.url, headers) for headers in users]
        killed: dict[str, float] = {}
        until = time.monotonic() + FAILOVER_SECONDS_BEFORE + 2 * FAILOVER_TARGET_S

        async def drive() -> None:
            async def kill() -> None:
                await asyncio.sleep(FAILOVER_SECONDS_BEFORE)
                killed["at"] = time.monotonic()
                group.procs[victim].send_signal(signal.SIGKILL)

            await asyncio.gather(kill(), *(c.run(until) for c in callers))

        asyncio.run(drive())
        at = killed["at"]
        gaps, others = [], []
        for name, caller in zip(on, callers, strict=True):
            after = [a for a in caller.answers if a[0] > at]
            served = [a[0] for a in after if a[1] == 200]
            if name == victim:
                gaps.append(served[0] - at if served else float("inf"))
            else:
                times = [at, *served]
                others.append(max(b - a for a, b in itertools.pairwise(times)))
        every = [a for c in callers for a in c.answers if a[0] > at]
        return Failover(
            gaps,
            max(others, default=float("nan")),
            sum(1 for a in every if a[1] != 200),
            sum(1 for a in every if a[1] == 200),
        )


# ---------------------------------------------------------------------------- the section


def section() -> None:
    """Measure both targets and print their tables and verdicts."""
    rounds = throughput()
    one = rounds[0].per_second
    rows = []
    verdicts = []
    for r in rounds:
        ratio = r.per_second / one
        target = THROUGHPUT_TARGET * r.agents
        meets = r.agents == 1 or ratio >= target
        verdicts.append(meets)
        rows.append(
            [
                r.agents,
                r.users,
                f"{r.per_second:.1f}",
                f"{ratio:.2f}",
                "-" if r.agents == 1 else f">= {target:.1f}",
                r.errors,
                f"{r.p50_ms:.1f} / {r.p99_ms:.1f}",
                f"{100 * r.front_cpu:.0f} %",
                f"{100 * r.agents_cpu:.0f} %",
                f"{r.cpu_ms_per_call:.1f}",
                f"{r.load:.1f}",
            ]
        )
    table(
        f"{CALL} with realtime emulators, {USERS_PER_AGENT} users per agent calling back to "
        f"back, {SECONDS:g} s per row (CPU: of one core; load: 1-minute load average)",
        [
            "agents",
            "users",
            "calls/s",
            "x 1 agent",
            "target",
            "errors",
            "p50 / p99 ms",
            "front CPU",
            "agents CPU",
            "CPU ms/call",
            "load",
        ],
        rows,
    )
    worst = min(rounds[1:], key=lambda r: r.per_second / (one * r.agents))
    print(
        f"\nThroughput: {'meets' if all(verdicts) else 'misses'} >= {THROUGHPUT_TARGET} x N "
        f"times one agent ({one:.1f} calls/s); worst: {worst.agents} agents at "
        f"{worst.per_second / one:.2f} x ({worst.per_second / (one * worst.agents):.2f} x N)"
    )
    # What bounds the figure on this machine: every call costs the front and its agent CPU,
    # and the processes of the whole lab share this machine's cores (and other programs').
    cores = os.cpu_count() or 1
    per_call = rounds[-1].cpu_ms_per_call
    print(
        f"CPU bound: with {rounds[-1].agents} agents the lab spent {per_call:.1f} ms of CPU per "
        "call (front and agent); "
        f"{cores} core(s) here serve at most {1000 * cores / per_call:.0f} calls/s however many "
        f"agents, {1000 * cores / per_call / one:.1f} x one agent (with no other load)"
    )

    result = failover()
    gap = max(result.gaps)
    table(
        f"Failover: SIGKILL to one of 2 agents, {USERS_PER_AGENT} users on each calling {CALL} "
        "back to back",
        [
            "killed agent's users: gap p50 / max (s)",
            "others' longest wait (s)",
            "errors after",
            "answered after",
        ],
        [
            [
                f"{statistics.median(result.gaps):.2f} / {gap:.2f}",
                f"{result.others_gap:.2f}",
                result.errors,
                result.served_after,
            ]
        ],
    )
    verdict = "meets" if gap <= FAILOVER_TARGET_S else "misses"
    print(
        f"\nFailover: the killed agent's users were served again {gap:.2f} s after the kill at "
        f"the latest ({verdict} {FAILOVER_TARGET_S:g} s)"
    )
