"""kill -9 of a real server (subprocess, SQLite) in the middle of writes and of a script run.

Each round: start `remotelab serve` on the same instance folder, run a script that never ends
(so the zygote has a worker), create scripts from several threads and note the ones the server
acknowledged (201), SIGKILL the server while the writes go on. Then: no process of the killed
server survives (the zygote and its workers die with it), and after a restart every
acknowledged script is there, intact.

`make test`: a few rounds; `make fuzz` (REMOTELAB_FUZZ=1): many.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.server import Server, budget

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]

ROUNDS = budget(ci=3, fuzz=25)
WRITERS = 3
EMAIL, PASSWORD = "crash@example.org", "password123"
FOREVER = "while True:\n    pass\n"


def children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def start_time(pid: int) -> str | None:
    """A process's start time (tells it from a later process with the same pid), or None
    when it is gone or a zombie (dead, waiting for a parent that may never reap it)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def descendants(pid: int) -> dict[int, str]:
    tree, found, todo = children(), {}, [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            started = start_time(child)
            if started is not None:
                found[child] = started
                todo.append(child)
    return found


def survivors(processes: dict[int, str], timeout: float = 10) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid: t for pid, t in processes.items() if start_time(pid) == t}
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def describe(pids: dict[int, str]) -> str:
    lines = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmdline = "?"
        lines.append(f"{pid}: {cmdline[:200]}")
    return "\n".join(lines)


@dataclass
class Acknowledged:
    scripts: dict[int, tuple[str, str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def write_until_killed(url: str, headers: dict[str, str], writer: int, ack: Acknowledged) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for n in range(10**9):
            title = f"w{writer}-{n}-{random.getrandbits(32):08x}"
            code = f"# {hashlib.sha256(title.encode()).hexdigest()}\nprint({title!r})\n" * (
                n % 7 + 1
            )
            try:
                r = http.post("/v1/scripts", json={"title": title, "code": code})
            except httpx.TransportError:
                return  # the server is gone: what was acknowledged before counts
            if r.status_code != 201:
                raise AssertionError(f"creating a script: {r.status_code} {r.text}")
            with ack.lock:
                ack.scripts[r.json()["id"]] = (title, code)


def run_forever(url: str, headers: dict[str, str]) -> None:
    with contextlib.suppress(httpx.TransportError):
        httpx.post(f"{url}/v1/run", json={"code": FOREVER}, headers=headers, timeout=60)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    server = Server(
        tmp_path / "instance",
        {
            "sandbox_wall_seconds": "60",
            "sandbox_cpu_seconds": "60",
            "max_scripts_per_user": "1000000",
        },
    )
    yield server
    server.kill()


def test_acknowledged_scripts_survive_kill_9_and_no_sandbox_process_is_left(
    server: Server,
) -> None:
    ack = Acknowledged()
    rng = random.Random(0 if os.environ.get("CI") == "true" else None)
    for round_ in range(ROUNDS):
        server.start()
        headers = server.signup(EMAIL, PASSWORD) if round_ == 0 else server.login(EMAIL, PASSWORD)
        check_intact(server, headers, ack)
        runner = threading.Thread(target=run_forever, args=(server.url, headers), daemon=True)
        runner.start()
        deadline = time.monotonic() + 30
        while len(descendants(server.pid)) < 2:  # the zygote and the script's worker
            assert time.monotonic() < deadline, "no worker started:\n" + server.log.read_text()
            time.sleep(0.05)
        before = len(ack.scripts)
        writers = [
            threading.Thread(target=write_until_killed, args=(server.url, headers, w, ack))
            for w in range(WRITERS)
        ]
        for w in writers:
            w.start()
        while len(ack.scripts) < before + 5:
            assert all(w.is_alive() for w in writers), "a writer failed"
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.5))
        processes = descendants(server.pid)
        server.kill()
        for w in writers:
            w.join(30)
        runner.join(30)
        left = survivors(processes)
        assert not left, "processes of the killed server survive:\n" + describe(left)
        assert len(ack.scripts) > before
    server.start()
    check_intact(server, server.login(EMAIL, PASSWORD), ack)
    processes = descendants(server.pid)
    server.stop()
    assert not survivors(processes), "processes survive a clean stop"


def check_intact(server: Server, headers: dict[str, str], ack: Acknowledged) -> None:
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        for script_id, (title, code) in ack.scripts.items():
            r = http.get(f"/v1/scripts/{script_id}")
            assert r.status_code == 200, f"acknowledged script {script_id} lost: {r.text}"
            body = r.json()
            assert (body["title"], body["code"]) == (title, code)
        assert http.get("/v1/scripts").json()["total"] >= len(ack.scripts)
