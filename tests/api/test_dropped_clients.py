"""A websocket client whose TCP connection drops mid-stream leaves no task behind.

Through a real Hypercorn on a loopback port: the client's socket is reset (SO_LINGER 0,
then abort: an RST, no websocket close), as when a laptop lid closes or Wi-Fi drops. The
server's handler is cancelled; every task it started must end with it, or asyncio logs
"Task was destroyed but it is pending!" when the garbage collector finds it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import struct
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from remotelab.api.context import EXTENSION
from remotelab.app import create_app
from tests.conftest import make_settings
from tests.support.served import served

pytestmark = pytest.mark.timeout(60)

LOOP = "for i in range(200):\n    print(i)\n    time.sleep(0.02)\n"


def reset(ws: ClientConnection) -> None:
    """Drop the TCP connection at once, as a lost network would: an RST, no close frame."""
    sock = ws.transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.transport.abort()


async def streaming(url: str, headers: dict[str, str]) -> None:
    ws = await connect(url + "/v1/stream", additional_headers=headers)
    config = {"channels": 1, "samples": 1000, "timegap": 1}
    message = {"type": "subscribe", "id": "a", "instrument": "oscilloscope", "config": config}
    await ws.send(json.dumps(message))
    for _ in range(3):
        await ws.recv()
    reset(ws)


async def running(url: str, headers: dict[str, str]) -> None:
    ws = await connect(url + "/v1/runs/live", additional_headers=headers)
    await ws.send(json.dumps({"type": "run", "code": "import time\n" + LOOP}))
    for _ in range(3):
        await ws.recv()
    reset(ws)


@pytest.mark.parametrize("client", [streaming, running], ids=["stream", "live run"])
async def test_a_dropped_client_leaves_no_pending_task(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, client: Any
) -> None:
    app = create_app(make_settings(tmp_path, sandbox_wall_seconds=10.0))
    caplog.set_level(logging.ERROR, logger="asyncio")
    async with served(app, stop_seconds=10) as server:
        state = app.extensions[EXTENSION]
        user = await state.accounts.create_account(email="s@example.org", password="pw123456")
        headers = {"Authorization": f"JWT {state.accounts.codec.issue_access(user.id)}"}
        url = f"ws://{server.address}"
        for _ in range(3):
            await client(url, headers)
        # The server notices the drops and ends its handlers; the hub forgets the clients.
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not state.hub.clients:
                break
        await asyncio.sleep(0.5)
        gc.collect()
        await asyncio.sleep(0.1)
    destroyed = [r.getMessage() for r in caplog.records if "destroyed" in r.getMessage()]
    assert destroyed == []
