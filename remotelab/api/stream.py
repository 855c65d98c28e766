"""``/v1/stream``: live captures over a websocket (docs/reference/streaming.md).

The connection is authenticated before it is accepted: a refused one gets an HTTP
401 instead of a websocket. Messages go to the hub; the hub's per-client sender
writes frames and replies. Server shutdown closes the socket with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib

from hypercorn.protocol import ws_stream
from quart import Blueprint, Response, jsonify, websocket
from wsproto.extensions import PerMessageDeflate

from remotelab.api.context import lab
from remotelab.api.errors import error_body, status_of
from remotelab.api.identity import authenticate_websocket
from remotelab.errors import RemotelabError

bp = Blueprint("stream", __name__)

GOING_AWAY = 1001


class _DeclinedDeflate(PerMessageDeflate):
    """permessage-deflate, always declined in the handshake."""

    def accept(self, offer: str) -> None:
        return None


def refuse_compression() -> None:
    """Serve websockets uncompressed, whatever the client offers (ADR 0005).

    Hypercorn accepts permessage-deflate whenever a client offers it, and browsers and the
    ``websockets`` library always do; every frame to every client is then compressed on the
    server's one event loop. Stream frames are int16 samples that deflate barely shrinks, so
    with 50 viewers zlib took most of the loop. Hypercorn has no setting for it: its
    handshake builds ``ws_stream.PerMessageDeflate()``, which this replaces (process-wide,
    idempotent) with an extension that declines every offer.
    """
    setattr(ws_stream, "PerMessageDeflate", _DeclinedDeflate)  # noqa: B010 (not re-exported)


@bp.websocket("/v1/stream")
async def stream() -> Response | None:
    hub = lab().hub
    try:
        user = await authenticate_websocket()
        client = hub.connect(str(user.id))
    except RemotelabError as exc:
        response = jsonify(error_body(exc.message, exc.code, exc.details or None))
        response.status_code = status_of(exc)
        return response
    await websocket.accept()
    sender = asyncio.create_task(client.send_loop(websocket.send))
    closed = asyncio.create_task(client.closed.wait())
    try:
        while True:
            receive = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait(
                {receive, closed, sender}, return_when=asyncio.FIRST_COMPLETED
            )
            if receive in done:
                await client.handle(receive.result())
                continue
            receive.cancel()
            if closed in done:
                await asyncio.sleep(0.05)  # let the sender write the closing status
                await websocket.close(GOING_AWAY, "server shutting down")
            return None
    finally:
        for task in (sender, closed):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await hub.disconnect(client)
