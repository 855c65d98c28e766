"""`remotelab serve --workers N` through real processes: a real nats-server, a
`remotelab agent`, the supervisor and its workers (and PostgreSQL where fronts share it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import agent_process
from tests.support.nats import NatsServer
from tests.support.postgres import PostgresServer
from tests.support.server import BASE_SETTINGS

pytestmark = pytest.mark.timeout(240)

REMOTELAB = Path(sys.executable).parent / "remotelab"
START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 60
# Hypercorn's access line, as the worker prefixes it; the user agent marks a test's request.
ACCESS = re.compile(r'worker (\d+) <(\d+)> .*?"(\S+) (\S+) [^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)"')


@dataclass
class Front:
    """A running `remotelab serve --workers N` and what its log says."""

    process: subprocess.Popen[bytes]
    log_path: Path
    workers: int
    base: str = ""

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> dict[int, int]:
        """Worker number -> pid of its latest start."""
        return {
            int(n): int(pid)
            for n, pid in re.findall(r"worker (\d+) started \(pid (\d+)\)", self.log)
        }

    def served(self) -> list[tuple[int, int, str, str, int, str]]:
        """Access-log lines: (worker, pid, method, path, status, user agent)."""
        return [
            (int(w), int(pid), method, path, int(status), agent)
            for w, pid, method, path, status, agent in ACCESS.findall(self.log)
        ]

    async def served_marked(
        self, prefix: str, count: int, within: float = 10
    ) -> list[tuple[int, int]]:
        """(worker, status) of the ``count`` requests whose user agent starts with
        ``prefix``, once all are logged (a worker logs a request after answering it)."""
        deadline = time.monotonic() + within
        while True:
            found = [(w, status) for w, *_, status, a in self.served() if a.startswith(prefix)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    def worker_of(self, marker: str) -> int:
        """The worker that served the request sent with the user agent ``marker``."""
        [worker] = [w for w, *_, agent in self.served() if agent == marker]
        return worker

    async def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"the supervisor did not stop:\n{self.log}")
            await asyncio.sleep(0.1)
        return self.process.returncode


def marked(marker: str) -> dict[str, str]:
    return {"User-Agent": marker}


def front_env(instance: Path, nats: NatsServer | None, **settings: str) -> dict[str, str]:
    values = {**BASE_SETTINGS, "log_level": "INFO", "access_log": "true", **settings}
    env = {
        **os.environ,
        "REMOTELAB_INSTANCE_PATH": str(instance),
        **{f"REMOTELAB_{k.upper()}": v for k, v in values.items()},
    }
    if nats is not None:
        env |= {
            "REMOTELAB_NATS_URL": nats.url,
            "REMOTELAB_NATS_USER": "front",
            "REMOTELAB_NATS_PASSWORD": nats.front_password,
        }
    return env


@contextlib.asynccontextmanager
async def front(
    tmp_path: Path, nats: NatsServer, name: str, workers: int = 2, **settings: str
) -> AsyncIterator[Front]:
    """`remotelab serve --workers WORKERS --port 0`, ready when every worker is."""
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [str(REMOTELAB), "serve", "--workers", str(workers), "--port", "0"],
            env=front_env(tmp_path / name, nats, **settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Front(process, log_path, workers)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = "remotelab serving on" if workers > 1 else "Running on http://"
        while ready not in served.log:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start:\n{served.log}")
            await asyncio.sleep(0.1)
        said = "serving on" if workers > 1 else "Running on"
        port = re.search(said + r" http://127\.0\.0\.1:(\d+)", served.log)
        assert port is not None, served.log
        served.base = f"http://127.0.0.1:{port[1]}"
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def family(pids: list[int]) -> set[int]:
    """``pids`` and all their descendants alive now."""
    found: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        found.add(pid)
        with contextlib.suppress(FileNotFoundError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def all_gone(pids: set[int], within: float = 10) -> set[int]:
    """Those of ``pids`` still alive after ``within`` seconds (empty: all gone)."""
    deadline = time.monotonic() + within
    while (left := {p for p in pids if alive(p)}) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return left


async def within_one_window(window: float, needed: float) -> None:
    """Wait, if need be, until ``needed`` seconds of a fixed ``window`` are ahead (shared
    limits count in windows aligned on the clock: a test must not straddle two)."""
    left = window - time.time() % window
    if left < needed:
        await asyncio.sleep(left + 0.05)


async def account(client: httpx.AsyncClient, base: str, email: str) -> dict[str, str]:
    body = {"email": email, "password": "password123"}
    assert (await client.post(f"{base}/v1/users", json=body)).status_code == 201
    login = await client.post(f"{base}/v1/auth/login", json=body, headers=marked("login"))
    assert login.status_code == 200, login.text
    return {"Authorization": "JWT " + login.json()["access_token"]}


def test_more_than_one_worker_without_nats_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(REMOTELAB), "serve", "--workers", "2", "--port", "0"],
        env=front_env(tmp_path / "inst", None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "remotelab: REMOTELAB_WORKERS=2 (--workers): more than one worker needs device agents "
        "on NATS (REMOTELAB_NATS_URL); without it this server owns the device, and a device "
        "has one owner. Run one worker, or see "
        "docs/reference/deploy.md#scale-out-many-devices-many-fronts"
    )
    assert "started" not in done.stdout


async def test_two_workers_share_the_port_tokens_and_the_rate_limit_and_stop_on_ctrl_c(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    limit = 40
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        front(
            tmp_path,
            nats_server,
            "front",
            function_calls_per_minute=str(limit),
            login_attempts_per_account="5",
            login_window_seconds="3600",
        ) as lab,
    ):
        async with httpx.AsyncClient(timeout=30) as client:
            headers = await account(client, lab.base, "student@example.org")
        statuses: list[int] = []
        await within_one_window(60, 30)
        for i in range(2 * limit):  # a fresh connection each: the kernel spreads them
            async with httpx.AsyncClient(timeout=30) as one:
                response = await one.post(
                    f"{lab.base}/v1/functions/run",
                    json={"function": "get_voltage('CH1')"},
                    headers=headers | marked(f"call-{i}"),
                )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert "Too many attempts. Try again in" in response.text
                assert 1 <= int(response.headers["Retry-After"]) <= 60
        calls = await lab.served_marked("call-", 2 * limit)
        assert len(calls) == 2 * limit
        # Calls landed on both workers, and both answered with the token one of them issued.
        issuer = lab.worker_of("login")
        assert {w for w, status in calls if status == 200} == {1, 2}
        assert any(w != issuer and status == 200 for w, status in calls)
        # One student, one limit over both workers (per process it would be 2 x 40): never
        # more, and at most a few calls early (leases a worker still held).
        assert limit - 8 <= statuses.count(200) <= limit, statuses
        assert set(statuses) == {200, 429}
        assert {w for w, status in calls if status == 429} == {1, 2}
        # Wrong passwords: 5 per account over both workers, not 5 on each.
        wrong = {"email": "student@example.org", "password": "not the password"}
        tries = []
        await within_one_window(3600, 30)
        for i in range(12):
            async with httpx.AsyncClient(timeout=30) as one:
                response = await one.post(
                    f"{lab.base}/v1/auth/login", json=wrong, headers=marked(f"guess-{i}")
                )
            tries.append(response.status_code)
        assert tries == [401] * 5 + [429] * 7, tries
        guessed = await lab.served_marked("guess-", 12)
        assert {w for w, _ in guessed} == {1, 2}
        # Logs name the worker.
        assert re.search(r"INFO:worker 1 \(pid \d+\):remotelab", lab.log)
        assert re.search(r"INFO:worker 2 \(pid \d+\):remotelab", lab.log)
        pids = lab.worker_pids()
        processes = family([lab.process.pid])
        # Each worker has its own sandbox zygote (a child of the worker).
        for pid in pids.values():
            assert family([pid]) - {pid}, f"worker {pid} has no zygote"
        assert set(pids.values()) <= processes
        # Ctrl+C (SIGINT to the supervisor): everything stops, nothing is left behind.
        assert await lab.stop(signal.SIGINT) == 0
        assert await all_gone(processes) == set()
        assert "worker 1 stopped (exit status 0)" in lab.log
        assert "worker 2 stopped (exit status 0)" in lab.log


async def test_a_killed_worker_is_started_again_and_sigterm_stops_all(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        front(tmp_path, nats_server, "front") as lab,
    ):
        before = lab.worker_pids()
        killed = before[1]
        zygotes = family([killed]) - {killed}
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while lab.log.count("all 2 workers ready") < 2:
            assert time.monotonic() < deadline, lab.log
            await asyncio.sleep(0.1)
        assert f"worker 1 (pid {killed}) died (exit status -9); starting it again" in lab.log
        after = lab.worker_pids()
        assert after[1] != killed and after[2] == before[2]
        assert await all_gone(zygotes) == set()  # the dead worker's zygote went with it
        async with httpx.AsyncClient(timeout=30) as client:
            headers = await account(client, lab.base, "s@example.org")
            for _ in range(4):
                response = await client.post(
                    f"{lab.base}/v1/functions/run",
                    json={"function": "get_voltage('CH1')"},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
        processes = family([lab.process.pid])
        assert await lab.stop(signal.SIGTERM) == 0
        assert await all_gone(processes) == set()


async def test_fronts_on_one_postgresql_start_together_and_share_accounts_and_scripts(
    nats_server: NatsServer, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = postgres_server.url(postgres_server.new_database("workers"))
    # Fronts on several hosts share the secret key (each instance folder would make its own).
    shared = {"database_url": url, "secret_key": "k" + os.urandom(24).hex()}
    # Two fronts (two workers and one) start at once on a fresh database: the migrations
    # and the examples run once, under the database's start-up lock.
    async with (
        agent_process(nats_server, "bench-a", tmp_path),
        contextlib.AsyncExitStack() as stack,
        httpx.AsyncClient(timeout=60) as client,
    ):
        one, two = await asyncio.gather(
            stack.enter_async_context(front(tmp_path, nats_server, "one", **shared)),
            stack.enter_async_context(front(tmp_path, nats_server, "two", workers=1, **shared)),
        )
        headers = await account(client, one.base, "pg@example.org")
        saved = await client.post(
            f"{one.base}/v1/scripts",
            json={"title": "volts", "code": "print(round(get_voltage('CH3'), 1))"},
            headers=headers,
        )
        assert saved.status_code == 201, saved.text
        login = await client.post(
            f"{two.base}/v1/auth/login",
            json={"email": "pg@example.org", "password": "password123"},
        )
        assert login.status_code == 200, login.text
        elsewhere = {"Authorization": "JWT " + login.json()["access_token"]}
        ran = await client.post(
            f"{two.base}/v1/scripts/{saved.json()['id']}/run", json={}, headers=elsewhere
        )
        assert ran.status_code == 200, ran.text
        assert ran.json()["status"] == "ok", ran.json()
        # The token the first front issued is good on the second, and the other way round.
        mine = await client.get(f"{two.base}/v1/scripts", headers=headers)
        assert [s["title"] for s in mine.json()["items"]] == ["volts"]
        assert (await client.get(f"{one.base}/v1/scripts", headers=elsewhere)).status_code == 200
        examples = postgres_server.psql(
            "SELECT count(*), count(DISTINCT source_file) FROM lab_scripts "
            "WHERE source_file IS NOT NULL",
            db=url.rsplit("/", 1)[1],
        ).strip()
        total, distinct = examples.split("|")
        assert int(total) == int(distinct) > 0  # each example once, not once per process
        for lab in (one, two):
            assert await lab.stop(signal.SIGTERM) == 0
