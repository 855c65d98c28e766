"""``/v1/stream``: live captures over a websocket (docs/reference/streaming.md).

The connection's origin is checked and it is authenticated before it is accepted: a
refused one gets an HTTP 403 or 401 instead of a websocket. Messages go to the hub; the
hub's per-client sender writes frames and replies. Server shutdown closes the socket with
1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any
from urllib.parse import urlsplit

from hypercorn.protocol import ws_stream
from quart import Blueprint, Response, jsonify, websocket
from wsproto.extensions import PerMessageDeflate

from remotelab.api.context import lab
from remotelab.api.errors import error_body, status_of
from remotelab.api.identity import authenticate_websocket
from remotelab.errors import InputError, PermissionDenied, RemotelabError
from remotelab.streaming.hub import Send

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


def direct_send() -> Send:
    """The accepted websocket's send, without the step Quart's ``websocket.send`` adds.

    ``websocket.send`` first yields to the event loop (``asyncio.sleep(0)``, for apps that
    send in a tight loop) and checks the handshake again, on every message. The hub's
    sender waits for each frame anyway, and this connection is accepted: with a class of
    viewers per front, the extra turn of the loop per frame and viewer was a quarter of
    the cost of a send. Quart keeps the ASGI send it wraps as ``_send``; a Quart without
    it gets its ``send``, as before.
    """
    direct: Send | None = getattr(websocket, "_send", None)  # the object's, not the proxy's
    return direct if callable(direct) else websocket.send


DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]  # scheme, host, port


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` in canonical form (lower case, default port filled in)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or parts.path not in ("", "/"):
        return None
    scheme = parts.scheme.lower()
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS.get(scheme)


@functools.lru_cache(maxsize=4)
def parse_allowed_origins(setting: str) -> frozenset[Origin]:
    """``REMOTELAB_STREAM_ALLOWED_ORIGINS``; raises InputError naming a bad entry."""
    origins = set()
    for entry in filter(None, (part.strip() for part in setting.split(","))):
        origin = parse_origin(entry)
        if origin is None:
            raise InputError(
                f"REMOTELAB_STREAM_ALLOWED_ORIGINS: {entry!r} is not an origin like "
                "https://app.example.org"
            )
        origins.add(origin)
    return frozenset(origins)


def origin_allowed(origin: str, host: str | None, allowed: str) -> bool:
    """Whether a page of ``origin`` may open the stream on the lab reached as ``host``.

    The lab's own origin is its ``Host``: the same host name, and the same port when the
    Host names one (a proxy's ``Host $host`` drops it; cookies do not tell ports apart).
    """
    parsed = parse_origin(origin)
    if parsed is None:  # "null" (sandboxed frames, files) and anything malformed
        return False
    if parsed in parse_allowed_origins(allowed):
        return True
    if not host:
        return False
    try:
        own = urlsplit(f"//{host}")
        own_port = own.port
    except ValueError:
        return False
    if own.hostname is None or own.hostname.lower() != parsed[1]:
        return False
    return own_port is None or own_port == parsed[2]


@bp.websocket("/v1/stream")
async def stream() -> Response | None:
    hub = lab().hub
    try:
        origin = websocket.headers.get("Origin")
        if origin is not None and not origin_allowed(
            origin, websocket.headers.get("Host"), lab().settings.streaming.allowed_origins
        ):
            raise PermissionDenied(
                f"pages of origin {origin!r} may not open the stream: only the lab's own "
                "origin and REMOTELAB_STREAM_ALLOWED_ORIGINS"
            )
        user = await authenticate_websocket()
        client = hub.connect(str(user.id))
    except RemotelabError as exc:
        response = jsonify(error_body(exc.message, exc.code, exc.details or None))
        response.status_code = status_of(exc)
        return response
    try:
        await websocket.accept()
    except BaseException:
        await hub.disconnect(client)  # the peer left before the handshake ended
        raise
    sender = asyncio.create_task(client.send_loop(direct_send()))
    closed = asyncio.create_task(client.closed.wait())
    receive: asyncio.Task[Any] | None = None
    try:
        while True:
            receive = asyncio.create_task(websocket.receive())
            done, _ = await asyncio.wait(
                {receive, closed, sender}, return_when=asyncio.FIRST_COMPLETED
            )
            if receive in done:
                # Quart hands an empty binary message over as None (`bytes or text`).
                raw = receive.result()
                await client.handle(b"" if raw is None else raw)
                continue
            receive.cancel()
            if closed in done:
                await asyncio.sleep(0.05)  # let the sender write the closing status
                await websocket.close(GOING_AWAY, "server shutting down")
            return None
    finally:
        # Cancelled when the peer drops: the pending receive ends with the handler (else
        # asyncio finds it pending when it is collected: "Task was destroyed").
        for task in (sender, closed, receive):
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await hub.disconnect(client)
