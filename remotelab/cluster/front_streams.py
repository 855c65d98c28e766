"""Frame sources fed by agents: a front's side of a live stream over NATS.

The hub opens one source per configuration (:mod:`remotelab.streaming.sources`). Here that
source finds the device of each of its viewers, sends each such device's agent a *lease*
(this front, the configuration, the viewers it has there: at every heartbeat and as soon as
they change; a *drop* when none is left), and subscribes to the frames the agent publishes
for that configuration. Each frame arrives once per front, whatever its number of viewers,
and goes to the hub as a local loop's would: the same body, its recipients, its reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import asdict
from typing import Any

from nats.aio.msg import Msg

from remotelab.cluster import wire
from remotelab.cluster.front import NatsDevice
from remotelab.device.functions import ParsedCall
from remotelab.errors import DeviceUnavailable
from remotelab.streaming.messages import HEADER, FrameBody, Subscribe
from remotelab.streaming.sources import Deliver, OpenSource, Report, Users

log = logging.getLogger(__name__)

#: How often a source looks whether its viewers changed.
POLL_SECONDS = 0.05


def nats_sources(device: NatsDevice) -> OpenSource:
    """Frame sources whose frames come from the agents of ``device``."""

    def open_source(
        sub: Subscribe,
        call: ParsedCall,
        deliver: Deliver,
        report: Report,
        *,
        max_fps: float,
        users: Users,
    ) -> RemoteSource:
        return RemoteSource(device, sub, deliver, report, users)

    return open_source


class _Lease:
    __slots__ = ("sent", "subscription", "users")

    def __init__(self, subscription: Any) -> None:
        self.subscription = subscription
        self.users: list[str] | None = None
        self.sent = 0.0


class RemoteSource:
    """One configuration's frames, from the agents of its viewers' devices."""

    def __init__(
        self, device: NatsDevice, sub: Subscribe, deliver: Deliver, report: Report, users: Users
    ) -> None:
        self.device = device
        self.deliver = deliver
        self.report = report
        self.users = users
        config = asdict(sub.config)
        self.stream = wire.stream_id(sub.instrument, config)
        self.lease = {
            "front": device.front_id,
            "stream": self.stream,
            "instrument": sub.instrument,
            "config": config,
        }
        self._leases: dict[str, _Lease] = {}
        self._task: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None
        self._told: str | None = None

    # ------------------------------------------------------------------ FrameSource

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"remote stream {self.stream}")

    def cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self._ending = task

    def joined(self, user: str) -> None:
        # The trigger is judged on the agent, per agent-side subscriber: a user who joins a
        # stream already waiting is told when its state next changes.
        pass

    async def stop(self) -> None:
        self.cancel()
        await self.ended()

    async def ended(self) -> None:
        task = self._ending
        if task is None:
            return
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "remote stream %s ended with an error", self.stream, exc_info=task.exception()
            )

    # ------------------------------------------------------------------ leases

    async def _run(self) -> None:
        heartbeat = self.device.settings.nats.heartbeat_seconds
        try:
            while True:
                try:
                    await self._renew(heartbeat)
                except Exception as exc:  # NATS away a moment: tell the viewers, go on
                    log.warning("stream %s: %s", self.stream, exc)
                    self._tell("device_unavailable", f"the device is out of reach: {exc}")
                await asyncio.sleep(POLL_SECONDS)
        finally:
            for agent in list(self._leases):
                with contextlib.suppress(Exception):
                    await self._drop(agent)

    async def _renew(self, heartbeat: float) -> None:
        """Lease the configuration on each device of a viewer, drop the others."""
        by_agent: dict[str, list[str]] = {}
        for user in self.users():
            try:
                agent = await self.device.choose(user)
                by_agent.setdefault(agent, []).append(user)
            except DeviceUnavailable as exc:
                self._tell(exc.code, exc.message)
        now = time.monotonic()
        for agent, members in by_agent.items():
            lease = self._leases.get(agent)
            if lease is None:
                lease = self._leases[agent] = await self._subscribe(agent)
            if members != lease.users or now - lease.sent >= heartbeat:
                await self._publish(agent, {**self.lease, "op": "lease", "users": members})
                lease.users, lease.sent = members, now
        for agent in [a for a in self._leases if a not in by_agent]:
            await self._drop(agent)

    async def _subscribe(self, agent: str) -> _Lease:
        assert self.device.nc is not None
        subscription = await self.device.nc.subscribe(
            wire.frames_subject(agent, self.stream), cb=self._on_message
        )
        return _Lease(subscription)

    async def _drop(self, agent: str) -> None:
        lease = self._leases.pop(agent)
        await self._publish(agent, {**self.lease, "op": "drop"})
        await lease.subscription.unsubscribe()

    async def _publish(self, agent: str, message: dict[str, Any]) -> None:
        assert self.device.nc is not None
        await self.device.nc.publish(wire.stream_subject(agent), wire.encode(message))

    def _tell(self, code: str, message: str) -> None:
        if self._told != message:
            self._told = message
            self.report(code, message)

    # ------------------------------------------------------------------ frames

    async def _on_message(self, msg: Msg) -> None:
        headers = msg.headers or {}
        try:
            if wire.REPORT_HEADER in headers:
                data = json.loads(headers[wire.REPORT_HEADER])
                self.report(
                    str(data["code"]),
                    str(data["message"]),
                    skip=data.get("skip"),
                    only=[str(u) for u in data.get("only") or ()],
                )
                return
            users = json.loads(headers[wire.USERS_HEADER])
            payload = msg.data
            _magic, encoding, channels, ident, samples, seq, stamp, x0, dx = HEADER.unpack_from(
                payload
            )
            body = FrameBody(encoding, channels, samples, payload[HEADER.size + ident :])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("stream %s: a malformed message from an agent: %s", self.stream, exc)
            return
        self._told = None
        self.deliver(body, seq, stamp, x0, dx, users)
