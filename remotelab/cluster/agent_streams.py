"""An agent's live streams: acquisition loops kept alive by the fronts' leases.

A front that has viewers of a configuration on this device sends a *lease* on
``remotelab.stream.<agent>`` (its id, the configuration, the users it has viewers for) at
every heartbeat and whenever those users change, and a *drop* when it has none left. The
agent runs one local acquisition loop (:class:`remotelab.streaming.acquisition.Loop`, the
same as the embedded server's: fair queue, contexts, holds) per configuration, for the
users of every live lease, and publishes each frame once on
``remotelab.frames.<agent>.<stream>``: the websocket's binary frame with an empty
subscription id, its recipients in a header. NATS fans it out to every front subscribed;
each front writes it to its own viewers. A lease not renewed for 3 heartbeats (its front
died) ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg

from remotelab.cluster import wire
from remotelab.errors import RemotelabError
from remotelab.streaming.acquisition import Loop
from remotelab.streaming.messages import FrameBody, Subscribe, frame_bytes, parse_config
from remotelab.streaming.sources import prepare

if TYPE_CHECKING:
    from remotelab.cluster.agent import Agent

log = logging.getLogger(__name__)


class AgentStreams:
    """The loops of one agent and the leases that keep them."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        #: stream id -> front id -> (users, when the lease ends)
        self.leases: dict[str, dict[str, tuple[list[str], float]]] = {}
        self.loops: dict[str, Loop] = {}
        self._sub: Any = None
        self._sweeper: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()

    @property
    def lease_seconds(self) -> float:
        return wire.MISSED_HEARTBEATS * self.agent.nats_settings.heartbeat_seconds

    async def start(self) -> None:
        assert self.agent.nc is not None
        self._sub = await self.agent.nc.subscribe(
            wire.stream_subject(self.agent.name), cb=self._on_message
        )
        self._sweeper = asyncio.create_task(self._sweep(), name="agent-stream-leases")

    async def close(self, message: str) -> None:
        """Tell every stream's viewers the device is going, stop every loop."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        for stream in list(self.loops):
            self._publish_report(stream, "device_unavailable", message, None)
            await self._stop(stream)
        if self._sends:
            await asyncio.wait(self._sends, timeout=1)

    # ------------------------------------------------------------------ leases

    async def _on_message(self, msg: Msg) -> None:
        try:
            data = wire.decode(msg.data)
            stream, front = str(data["stream"]), str(data["front"])
            if data["op"] == "drop":
                self.leases.get(stream, {}).pop(front, None)
                if not self.leases.get(stream):
                    await self._stop(stream)
                return
            users = [str(user) for user in data["users"]]
            self.leases.setdefault(stream, {})[front] = (
                users,
                time.monotonic() + self.lease_seconds,
            )
            if stream not in self.loops:
                self._open(stream, str(data["instrument"]), data["config"])
        except RemotelabError as exc:
            log.info("agent %s: a stream was refused: %s", self.agent.name, exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("agent %s: a malformed stream lease: %s", self.agent.name, exc)

    def _open(self, stream: str, instrument: str, config: Any) -> None:
        limits = self.agent.settings.streaming
        # parse_config checks the instrument's name (a ProtocolError otherwise).
        sub = Subscribe(
            id="",
            instrument=instrument,  # type: ignore[arg-type]
            config=parse_config(instrument, config, max_rate=limits.max_rate_hz),
        )
        try:
            call = prepare(self.agent.instrument, sub)
        except RemotelabError as exc:
            self._publish_report(stream, exc.code, exc.message, None)
            self.leases.pop(stream, None)
            return

        def deliver(
            body: FrameBody, seq: int, stamp: float, x0: float, dx: float, users: Collection[str]
        ) -> None:
            self._publish(
                stream,
                frame_bytes("", seq, stamp, x0, dx, body),
                {wire.USERS_HEADER: json.dumps(list(users))},
            )

        def report(
            code: str, message: str, *, skip: str | None = None, only: Collection[str] = ()
        ) -> None:
            self._publish_report(stream, code, message, skip, only)

        loop = Loop(
            self.agent.instrument,
            sub,
            call,
            deliver,
            report,
            max_fps=limits.max_fps,
            users=lambda: self._users(stream),
        )
        self.loops[stream] = loop
        loop.start()
        log.debug("agent %s: stream %s started", self.agent.name, stream)

    def _users(self, stream: str) -> list[str]:
        now = time.monotonic()
        users: set[str] = set()
        for members, until in self.leases.get(stream, {}).values():
            if until > now:
                users.update(members)
        return sorted(users)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.agent.nats_settings.heartbeat_seconds)
            now = time.monotonic()
            for stream in list(self.loops):
                leases = self.leases.get(stream, {})
                for front, (_users, until) in list(leases.items()):
                    if until <= now:
                        del leases[front]  # its front stopped renewing it: gone
                if not leases:
                    await self._stop(stream)

    async def _stop(self, stream: str) -> None:
        self.leases.pop(stream, None)
        loop = self.loops.pop(stream, None)
        if loop is not None:
            await loop.stop()
            log.debug("agent %s: stream %s stopped", self.agent.name, stream)

    # ------------------------------------------------------------------ publishing

    def _publish_report(
        self, stream: str, code: str, message: str, skip: str | None, only: Collection[str] = ()
    ) -> None:
        report = {"code": code, "message": message, "skip": skip, "only": list(only)}
        self._publish(stream, b"", {wire.REPORT_HEADER: json.dumps(report)})

    def _publish(self, stream: str, payload: bytes, headers: dict[str, str]) -> None:
        # Called from a loop's task (no await there): publish from a task of its own.
        nc = self.agent.nc
        if nc is None or nc.is_closed:
            return
        subject = wire.frames_subject(self.agent.name, stream)
        task = asyncio.create_task(nc.publish(subject, payload, headers=headers))
        self._sends.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "agent %s: a frame was not published: %s", self.agent.name, task.exception()
            )
