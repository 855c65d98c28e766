"""``make cluster``: the whole lab on one machine, started as make starts it, used through
nginx, then stopped by a signal with nothing left behind.

Each test runs ``python -m remotelab.cluster.local`` (what the Makefile runs) as a process on
a free port, with the real PostgreSQL, nats-server and nginx. A missing one fails the test
with the command that installs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from remotelab.cluster.local.nats import NatsUnavailable, nats_server_binary
from remotelab.cluster.local.nginx import NginxUnavailable, nginx_binary
from remotelab.cluster.local.ports import free_port
from remotelab.cluster.local.postgres import PostgresUnavailable, find_bin_dir
from tests.support.cluster import next_frames, subscribe

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60


def require_programs() -> None:
    """Fail (never skip) when a program the lab runs is missing, saying how to install it."""
    if not (ROOT / "webapp" / "dist" / "index.html").is_file():
        pytest.fail("the webapp is not built: run `make webapp`", pytrace=False)
    for find in (nginx_binary, find_bin_dir, nats_server_binary):
        try:
            find()
        except (NginxUnavailable, PostgresUnavailable, NatsUnavailable) as exc:
            pytest.fail(str(exc), pytrace=False)


@dataclass
class Cluster:
    process: asyncio.subprocess.Process
    port: int
    output: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def text(self) -> str:
        return "".join(self.output)

    def find(self, pattern: str) -> str:
        match = re.search(pattern, self.text)
        assert match is not None, f"{pattern!r} not in the output:\n{self.text}"
        return match.group(1)

    async def wait_for(self, needle: str, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while needle not in self.text:
                if self.reader is not None and self.reader.done():
                    raise AssertionError(f"make cluster ended before {needle!r}:\n{self.text}")
                await asyncio.sleep(0.05)

    async def stop(self, sig: int) -> int:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                status = await self.process.wait()
                if self.reader is not None:
                    await self.reader
        except TimeoutError:
            raise AssertionError(f"make cluster did not stop:\n{self.text}") from None
        return status


@contextlib.asynccontextmanager
async def make_cluster(*args: str) -> AsyncIterator[Cluster]:
    """``python -m remotelab.cluster.local --port FREE``, its output collected; killed (with
    what it started, by their process groups' parent-death signal) if the test leaves early."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "remotelab.cluster.local", "--port", str(port), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    cluster = Cluster(process, port)

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            cluster.output.append(line.decode(errors="replace"))

    cluster.reader = asyncio.create_task(read())
    try:
        yield cluster
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await cluster.reader


def descendants(pid: int) -> dict[int, str]:
    """Every process under ``pid`` (children, theirs, ...): pid -> command line."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


def alive(pids: dict[int, str]) -> dict[int, str]:
    """Those of ``pids`` still running with the same command (a pid may be reused)."""
    left = {}
    for pid, command in pids.items():
        with contextlib.suppress(OSError):
            now = (Path("/proc") / str(pid) / "cmdline").read_bytes()
            if now.replace(b"\0", b" ").decode(errors="replace") == command:
                left[pid] = command
    return left


async def sign_in(client: httpx.AsyncClient, cluster: Cluster) -> dict[str, str]:
    email = cluster.find(r"sign in as (\S+) with the password")
    password = cluster.find(r"with the password (\S+)")
    response = await client.post(
        f"{cluster.base}/v1/auth/login", json={"email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"JWT {response.json()['access_token']}"}


async def test_make_cluster_serves_a_lab_through_nginx_and_ctrl_c_stops_all_of_it() -> None:
    from websockets.asyncio.client import connect

    require_programs()
    async with make_cluster() as cluster, httpx.AsyncClient(timeout=60) as client:
        await cluster.wait_for("Ctrl+C stops the whole lab", START_TIMEOUT_S)
        assert f"open http://127.0.0.1:{cluster.port}\n" in cluster.text
        runtime = Path(cluster.find(r"runtime folder (\S+) "))
        children = descendants(cluster.process.pid)
        names = " ".join(children.values())
        for program in ("postgres", "nats-server", "nginx: master"):
            assert program in names, children
        assert len([c for c in children.values() if " agent --device emulator" in c]) == 3
        assert len([c for c in children.values() if " serve --host 127.0.0.1" in c]) == 2

        # The webapp and the API, through nginx; the teacher account the output names.
        home = await client.get(f"{cluster.base}/")
        assert home.status_code == 200
        assert "<!doctype html>" in home.text.lower()
        headers = await sign_in(client, cluster)
        listed = (await client.get(f"{cluster.base}/v1/experiments", headers=headers)).json()
        assert {e["name"]: e["devices"] for e in listed["experiments"]} == {
            "RC filter": ["rc-1", "rc-2"],
            "Voltage divider": ["divider-1"],
        }

        # A script on each experiment: PV1 reaches CH3 directly on the RC filter's bench,
        # through a 10k/10k divider (half) on the other.
        script = "set_pv1(2.0)\nprint('CH3 %.2f' % get_voltage('CH3'))"
        for experiment, volts, devices in (
            ("RC filter", 2.0, {"rc-1", "rc-2"}),
            ("Voltage divider", 1.0, {"divider-1"}),
        ):
            response = await client.put(
                f"{cluster.base}/v1/experiment", json={"experiment": experiment}, headers=headers
            )
            assert response.status_code == 200, response.text
            response = await client.post(
                f"{cluster.base}/v1/run", json={"code": script}, headers=headers
            )
            body = response.json()
            assert response.status_code == 200, body
            assert body["status"] == "ok", body
            (measured,) = re.findall(r"CH3 (-?\d+\.\d+)", str(body["widgets"]))
            assert float(measured) == pytest.approx(volts, abs=0.05), body
            mine = (await client.get(f"{cluster.base}/v1/devices", headers=headers)).json()
            assert {d["name"] for d in mine["devices"] if d["yours"]} <= devices, mine

        # A live stream through nginx's websocket upgrade (the user's device: the divider's).
        stream = cluster.base.replace("http://", "ws://") + "/v1/stream"
        async with connect(stream, additional_headers=headers) as ws:
            await subscribe(ws, "scope", "oscilloscope", channels=1, samples=200, timegap=2)
            frames = await next_frames(ws, 5)
        assert [frame.id for frame in frames] == ["scope"] * 5
        assert len({frame.seq for frame in frames}) == 5
        assert all(len(frame.channels[0]) == 200 for frame in frames)

        # nginx spread the requests over both fronts (each logs its own).
        for front in ("front-1", "front-2"):
            assert "/v1/" in (runtime / "logs" / f"{front}.log").read_text(), front
        children = descendants(cluster.process.pid)
        assert await cluster.stop(signal.SIGINT) == 0
    assert "SIGINT: stopping the lab" in cluster.text
    assert cluster.text.rstrip().endswith("cluster: stopped")
    assert alive(children) == {}, cluster.text
    assert not runtime.exists()
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection("127.0.0.1", cluster.port)
        writer.close()


async def test_a_server_that_dies_stops_the_whole_cluster_naming_it() -> None:
    require_programs()
    async with make_cluster() as cluster:
        await cluster.wait_for("Ctrl+C stops the whole lab", START_TIMEOUT_S)
        children = descendants(cluster.process.pid)
        (victim,) = [pid for pid, c in children.items() if "--name divider-1" in c]
        os.kill(victim, signal.SIGKILL)
        async with asyncio.timeout(STOP_TIMEOUT_S):
            status = await cluster.process.wait()
            assert cluster.reader is not None
            await cluster.reader
    assert status == 1, cluster.text
    assert "divider-1 (remotelab agent) was killed by SIGKILL" in cluster.text
    assert "the lab is stopped" in cluster.text
    assert alive(children) == {}, cluster.text


async def test_a_taken_port_is_a_clear_error() -> None:
    require_programs()
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "remotelab.cluster.local", "--port", str(port),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        server.close()
        await server.wait_closed()
    assert process.returncode == 2
    assert (
        f"cannot start: port {port} on 127.0.0.1 (for the lab's address, nginx) is already in use"
        in output.decode()
    )


async def test_sigterm_stops_it_as_ctrl_c_does() -> None:
    require_programs()
    async with make_cluster() as cluster:
        await cluster.wait_for("Ctrl+C stops the whole lab", START_TIMEOUT_S)
        children = descendants(cluster.process.pid)
        assert await cluster.stop(signal.SIGTERM) == 0
    assert "SIGTERM: stopping the lab" in cluster.text
    assert alive(children) == {}, cluster.text
