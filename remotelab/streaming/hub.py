"""The stream hub: clients, their subscriptions, shared loops, bounded outgoing queues.

Each client has one outgoing queue: text messages in a short bounded deque, and at most
one pending frame per subscription — a newer frame replaces an unsent one (latest frame
wins, the replaced one is counted as dropped). A slow or stalled client therefore holds
at most one frame per subscription in server memory and never slows a loop, because
loops only ever put frames into queues; each client's own sender task writes them.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import asdict
from typing import Any

from remotelab.config import StreamSettings
from remotelab.device.interface import Device
from remotelab.errors import RateLimited, RemotelabError
from remotelab.streaming.messages import (
    FrameBody,
    Ping,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    frame_bytes,
    is_encodable,
    parse_client_message,
    text,
)
from remotelab.streaming.sources import FrameSource, OpenSource, Report, prepare

log = logging.getLogger(__name__)

Send = Callable[[str | bytes], Awaitable[None]]

#: Codes a loop reports as a ``status`` (the stream goes on); any other code is an ``error``.
STATUS_CODES = ("resumed", "held", "waiting_for_trigger", "triggered")


class Client:
    """One websocket connection of one user."""

    def __init__(self, hub: Hub, user: str) -> None:
        self.hub = hub
        self.user = user
        self.subscriptions: dict[str, tuple[Any, ...]] = {}
        self.dropped: collections.Counter[str] = collections.Counter()
        self.sent: collections.Counter[str] = collections.Counter()
        self.closed = asyncio.Event()
        self._frames: dict[str, bytes] = {}
        self._texts: collections.deque[str] = collections.deque(
            maxlen=hub.limits.max_queued_messages
        )
        self._wakeup = asyncio.Event()

    # ---------------------------------------------------------------- queue

    def offer_frame(self, sub_id: str, data: bytes) -> None:
        if sub_id in self._frames:
            self.dropped[sub_id] += 1
        self._frames[sub_id] = data
        self._wakeup.set()

    def offer_text(self, message: str) -> None:
        self._texts.append(message)  # bounded: the oldest goes when full
        self._wakeup.set()

    @property
    def pending_bytes(self) -> int:
        return sum(len(f) for f in self._frames.values()) + sum(len(t) for t in self._texts)

    async def send_loop(self, send: Send) -> None:
        """Write queued messages until cancelled (one task per client).

        A status message is queued every ``status_interval`` by a timer; waiting is a
        plain event wait (no ``wait_for`` task per frame: this runs for every client).
        """
        loop = asyncio.get_running_loop()
        interval = self.hub.limits.status_seconds
        timer: asyncio.TimerHandle | None = None

        def queue_status() -> None:
            nonlocal timer
            self.offer_text(self.status())
            timer = loop.call_later(interval, queue_status)

        timer = loop.call_later(interval, queue_status)
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._texts:
                    await send(self._texts.popleft())
                for sub_id in list(self._frames):
                    data = self._frames.pop(sub_id, None)
                    if data is not None:
                        await send(data)
                        self.sent[sub_id] += 1
        finally:
            if timer is not None:
                timer.cancel()

    def status(self) -> str:
        device = self.hub.instrument
        summary = device.summary(self.user)
        return text(
            "status",
            device={"state": summary["state"], "fault": summary["fault"]},
            hold=device.hold_status(self.user),
            queue=summary["queue"],
            subscriptions={
                sub_id: {
                    "sent": self.sent[sub_id],
                    "dropped": self.dropped[sub_id],
                    "subscribers": self.hub.subscriber_count(key),
                }
                for sub_id, key in self.subscriptions.items()
            },
        )

    # ---------------------------------------------------------------- messages

    async def handle(self, raw: str | bytes) -> None:
        """Act on one client message; problems become ``error`` messages."""
        limits = self.hub.limits
        try:
            message = parse_client_message(
                raw, max_bytes=limits.max_message_bytes, max_rate=limits.max_rate_hz
            )
            if isinstance(message, Ping):
                self.offer_text(text("pong", data=message.data))
            elif isinstance(message, Subscribe):
                await self.hub.subscribe(self, message)
            elif isinstance(message, Unsubscribe):
                await self.hub.unsubscribe(self, message.id)
                self.offer_text(text("unsubscribed", id=message.id))
        except RemotelabError as exc:
            sub_id = _id_of(raw)
            self.offer_text(text("error", id=sub_id, code=exc.code, message=exc.message))


def _id_of(raw: str | bytes) -> str | None:
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return None
    value = data.get("id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and is_encodable(value) else None


class Hub:
    """All clients and loops. Open with :meth:`start`, close with :meth:`close`."""

    def __init__(
        self, instrument: Device, open_source: OpenSource, limits: StreamSettings | None = None
    ) -> None:
        self.instrument = instrument
        self.open_source = open_source
        self.limits = limits or StreamSettings()
        self.clients: set[Client] = set()
        self._loops: dict[tuple[Any, ...], FrameSource] = {}
        self._subscribers: dict[tuple[Any, ...], dict[Client, str]] = {}
        self._closing = False

    def connect(self, user: str) -> Client:
        """A new client of ``user``. Raises RateLimited beyond the per-user connections."""
        if self._closing:
            raise ProtocolError("the server is shutting down")
        open_ = sum(1 for c in self.clients if c.user == user)
        if open_ >= self.limits.max_connections_per_user:
            raise RateLimited(
                f"at most {self.limits.max_connections_per_user} stream connections per user; "
                "close one first",
                retry_after=1.0,
            )
        client = Client(self, user)
        self.clients.add(client)
        return client

    async def disconnect(self, client: Client) -> None:
        """Forget ``client`` and its subscriptions; stop the loops it was the last one of.

        Everything is forgotten before the first await: a handler cancelled while it
        disconnects (the peer went away) never leaves its connection counted against the
        user's limit, nor a loop capturing for nobody.
        """
        self.clients.discard(client)
        detached = [self._detach(client, sub_id) for sub_id in list(client.subscriptions)]
        loops = [loop for loop in detached if loop is not None]
        for loop in loops:
            loop.cancel()
        for loop in loops:
            await loop.ended()

    def subscriber_count(self, key: tuple[Any, ...]) -> int:
        return len(self._subscribers.get(key, ()))

    def loop_count(self) -> int:
        return len(self._loops)

    async def subscribe(self, client: Client, sub: Subscribe) -> None:
        if sub.id in client.subscriptions:
            raise ProtocolError(f"subscription id {sub.id!r} is already in use on this connection")
        mine = sum(len(c.subscriptions) for c in self.clients if c.user == client.user)
        if mine >= self.limits.max_subscriptions_per_user:
            raise ProtocolError(
                f"at most {self.limits.max_subscriptions_per_user} subscriptions per user; "
                "unsubscribe one first"
            )
        key = sub.key
        if key not in self._loops:
            call = prepare(self.instrument, sub)  # FunctionStringError names the parameter
            subscribers = self._subscribers[key] = {}
            loop = self.open_source(
                sub,
                call,
                self._deliverer(key),
                self._reporter(key),
                max_fps=self.limits.max_fps,
                users=lambda: sorted({client.user for client in subscribers}),
            )
            self._loops[key] = loop
            loop.start()
        self._subscribers[key][client] = sub.id
        client.subscriptions[sub.id] = key
        self._loops[key].joined(client.user)
        client.offer_text(
            text(
                "subscribed",
                id=sub.id,
                instrument=sub.instrument,
                config=_config_dict(sub),
                subscribers=self.subscriber_count(key),
            )
        )
        client.offer_text(client.status())

    async def unsubscribe(self, client: Client, sub_id: str) -> None:
        if sub_id not in client.subscriptions:
            raise ProtocolError(f"no subscription with id {sub_id!r} on this connection")
        loop = self._detach(client, sub_id)
        if loop is not None:
            await loop.stop()

    def _detach(self, client: Client, sub_id: str) -> FrameSource | None:
        """Take ``client``'s subscription ``sub_id`` out; the loop to stop when it was the
        loop's last subscriber (already forgotten here), else None."""
        key = client.subscriptions.pop(sub_id, None)
        if key is None:
            return None
        subscribers = self._subscribers.get(key, {})
        subscribers.pop(client, None)
        if subscribers:
            return None
        self._subscribers.pop(key, None)
        return self._loops.pop(key, None)

    def _deliverer(self, key: tuple[Any, ...]) -> Callable[..., None]:
        subscribers = self._subscribers[key]

        def deliver(
            body: FrameBody, seq: int, stamp: float, x0: float, dx: float, users: Collection[str]
        ) -> None:
            # A set: ``users`` may be a list of a whole class (a front's agent sends one), and
            # every subscriber is looked up in it.
            members = users if isinstance(users, (set, frozenset)) else frozenset(users)
            # Each frame is packed once per subscription id, not once per subscriber: the
            # viewers of a class mostly share one id (the webapp's), hence one bytes object.
            packed: dict[str, bytes] = {}
            for client, sub_id in list(subscribers.items()):
                if client.user not in members:  # captured in another user's context
                    continue
                try:
                    data = packed.get(sub_id)
                    if data is None:
                        data = packed[sub_id] = frame_bytes(sub_id, seq, stamp, x0, dx, body)
                    client.offer_frame(sub_id, data)
                except Exception:
                    self._drop(client, sub_id, key)

        return deliver

    def _reporter(self, key: tuple[Any, ...]) -> Report:
        subscribers = self._subscribers[key]

        def report(
            code: str, message: str, *, skip: str | None = None, only: Collection[str] = ()
        ) -> None:
            kind = "status" if code in STATUS_CODES else "error"
            for client, sub_id in list(subscribers.items()):
                if client.user == skip or (only and client.user not in only):
                    continue
                try:
                    client.offer_text(text(kind, id=sub_id, code=code, message=message))
                except Exception:
                    self._drop(client, sub_id, key)

        return report

    def _drop(self, client: Client, sub_id: str, key: tuple[Any, ...]) -> None:
        """End one subscription that failed inside a shared loop; the loop goes on for the
        others (and stops when it was the last). Runs inside the loop's task."""
        log.exception("stream: dropping subscription %r of user %s", sub_id, client.user)
        client.subscriptions.pop(sub_id, None)
        client.offer_text(
            text(
                "error",
                id=sub_id if is_encodable(sub_id) else None,
                code="internal",
                message="this subscription failed on the server and was dropped; subscribe again",
            )
        )
        subscribers = self._subscribers.get(key)
        if subscribers is None:
            return
        subscribers.pop(client, None)
        if not subscribers:
            self._subscribers.pop(key, None)
            loop = self._loops.pop(key, None)
            if loop is not None:
                loop.cancel()

    async def close(self) -> None:
        """Stop every loop and tell every client the server is going away."""
        self._closing = True
        for loop in list(self._loops.values()):
            await loop.stop()
        self._loops.clear()
        for client in list(self.clients):
            client.offer_text(
                text("status", state="closing", message="the server is shutting down")
            )
            client.closed.set()


def _config_dict(sub: Subscribe) -> dict[str, Any]:
    return asdict(sub.config)
