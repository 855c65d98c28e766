"""``api/stream.py``: how the stream's sender writes to an accepted websocket."""

from __future__ import annotations

from typing import Any

from quart import Quart, websocket
from quart.wrappers.websocket import Websocket

from remotelab.api.stream import direct_send


async def test_direct_send_writes_through_the_servers_send_not_quarts_wrapper() -> None:
    app = Quart(__name__)
    sends: list[Any] = []

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        send = direct_send()
        sends.append(send)
        await send("a status")
        await send(b"\x00a frame\xff")

    async with app.test_client().websocket("/ws") as client:
        assert await client.receive() == "a status"  # text stays text, in order
        assert await client.receive() == b"\x00a frame\xff"  # bytes stay bytes
    # Not Quart's websocket.send (which first yields a turn of the loop, per message).
    assert getattr(sends[0], "__func__", None) is not Websocket.send
