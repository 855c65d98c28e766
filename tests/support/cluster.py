"""A lab over NATS for tests: ``remotelab agent`` processes and a real Hypercorn front.

    async with (
        agent_process(nats_server, "a1", tmp_path) as agent,          # a separate process
        lab(tmp_path, **nats_server.front_settings()) as front,       # Hypercorn, loopback
    ):
        status, body = await run(client, front, headers, "get_voltage('CH1')")

An agent is started as ``remotelab agent`` with the emulator (and ``extra`` environment
variables) and is ready when it prints its ``serving`` line; leaving the block sends it
SIGTERM and waits for it to drain and exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client
from quart import Quart
from websockets.asyncio.client import ClientConnection

from remotelab.app import create_app
from remotelab.streaming.messages import Frame, decode_frame
from tests.conftest import make_settings
from tests.support.nats import NatsServer
from tests.support.served import new_user_token, served

REMOTELAB = Path(sys.executable).parent / "remotelab"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


@dataclass
class AgentProcess:
    name: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the exit; its status."""
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            status = await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self.process.kill()
            raise RuntimeError(f"agent {self.name} did not stop in {STOP_TIMEOUT_S} s:\n{self.log}")
        if self._reader is not None:
            await asyncio.wait_for(self._reader, STOP_TIMEOUT_S)
        return status

    @property
    def log(self) -> str:
        return "".join(self.output)


@contextlib.asynccontextmanager
async def agent_process(
    nats: NatsServer,
    name: str,
    folder: Path,
    *,
    extra: dict[str, str] | None = None,
    password: str | None = None,
    prefix: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> AsyncIterator[AgentProcess]:
    """Run ``remotelab agent --device emulator --name NAME`` until the block ends
    (``prefix``: a command that runs it, e.g. in a network namespace, as the same process)."""
    env = {
        **os.environ,
        **nats.agent_env(name),
        "REMOTELAB_INSTANCE_PATH": str(folder / f"agent-{name}"),
        "REMOTELAB_EMULATOR_SEED": "7",
        **(extra or {}),
    }
    if password is not None:
        env["REMOTELAB_NATS_PASSWORD"] = password
    process = await asyncio.create_subprocess_exec(
        *prefix,
        str(REMOTELAB),
        "agent",
        "--device",
        "emulator",
        "--name",
        name,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    agent = AgentProcess(name, process)
    ready = asyncio.Event()

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            text = line.decode(errors="replace")
            agent.output.append(text)
            if text.startswith(f"remotelab agent {name} serving"):
                ready.set()

    agent._reader = asyncio.create_task(read())
    try:
        waiting = asyncio.create_task(ready.wait())
        await asyncio.wait(
            {waiting, agent._reader}, timeout=start_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if not ready.is_set():
            waiting.cancel()
            raise RuntimeError(f"agent {name} did not start in {start_timeout:g} s:\n{agent.log}")
        yield agent
    finally:
        if process.returncode is None:
            await agent.stop()


@dataclass
class Lab:
    app: Quart
    base: str

    async def token(self, email: str) -> dict[str, str]:
        return {"Authorization": f"JWT {await new_user_token(self.app, email)}"}

    @property
    def stream_url(self) -> str:
        return self.base.replace("http://", "ws://") + "/v1/stream"


async def subscribe(ws: ClientConnection, id: str, instrument: str, **config: Any) -> None:
    await ws.send(
        json.dumps({"type": "subscribe", "id": id, "instrument": instrument, "config": config})
    )


async def next_frames(ws: ClientConnection, n: int, timeout: float = 20) -> list[Frame]:
    """The next ``n`` frames on ``ws`` (text messages in between are passed over)."""
    frames: list[Frame] = []
    async with asyncio.timeout(timeout):
        while len(frames) < n:
            message = await ws.recv()
            if isinstance(message, bytes):
                frames.append(decode_frame(message))
    return frames


@contextlib.asynccontextmanager
async def lab(tmp_path: Path, **settings: Any) -> AsyncIterator[Lab]:
    app = create_app(make_settings(tmp_path, emulator_seed=7, **settings))
    async with served(app, stop_seconds=15) as server:
        yield Lab(app, f"http://{server.address}")


async def run(
    client: httpx.AsyncClient,
    lab_: Lab,
    headers: dict[str, str],
    fn: str,
    stacking: str | None = None,
) -> Any:
    body: dict[str, Any] = {"function": fn}
    if stacking is not None:
        body["stacking"] = stacking
    response = await client.post(f"{lab_.base}/v1/functions/run", json=body, headers=headers)
    return response.status_code, response.json()


@contextlib.asynccontextmanager
async def logged_in(
    server: NatsServer, user: str, inbox: str, errors: list[str] | None = None
) -> AsyncIterator[Client]:
    """A NATS connection as ``user`` (``front`` or ``agent``) with its own ``inbox``; the
    server's asynchronous errors, lowercased, go to ``errors``."""

    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc).lower())

    password = server.front_password if user == "front" else server.agent_password
    nc = await nats.connect(
        server.url, user=user, password=password, inbox_prefix=inbox, error_cb=on_error
    )
    try:
        yield nc
    finally:
        await nc.close()
