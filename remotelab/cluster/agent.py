"""``remotelab agent``: one device on NATS (ADR 0017).

The agent owns the device exactly as ``remotelab serve`` does in the embedded default: the
device owner and its thread, the fair queue, the users' contexts, the holds and the
acquisition loops, all of it today's local :class:`~remotelab.device.service.Instrument`.
Around it:

- **calls** arrive by request/reply on ``remotelab.call.<name>``, each handled in a task of
  its own (the fair queue orders them); the request names the user (an id, authorized by the
  front: the agent never sees a token) and the reply carries the result or a typed error,
  and, after a call that set outputs, the outputs the user set (the fronts keep them, so a
  user moved to another device gets them back there: ``restore``);
- **registry**: the agent's entry in the JetStream key-value bucket ``remotelab_devices``
  (state, queue, hold, firmware, host, and the experiment its bench serves: the bench
  file's ``[experiment]`` name and description), renewed every heartbeat (the bucket's
  entries expire after 3), and published on ``remotelab.status.<name>`` at each heartbeat
  and change of hold;
- **streams**: :mod:`.agent_streams`;
- **drain** (SIGTERM): the agent leaves the registry and stops taking calls, fails the calls
  still queued with a 503 that names it, lets the call running finish
  (``REMOTELAB_NATS_DRAIN_SECONDS`` at most), answers every request it took, then stops.

NATS going away is survived: the client reconnects by itself and the agent goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import socket
import time
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import BucketNotFoundError

from remotelab.cluster import wire
from remotelab.cluster.agent_streams import AgentStreams
from remotelab.cluster.connection import close_quietly, connect
from remotelab.config import NatsSettings, Settings
from remotelab.config.sections import AGENT_NAME
from remotelab.device.functions.effects import check_outputs
from remotelab.device.outputs import changes_from_json, value_to_json
from remotelab.device.owner import Hold
from remotelab.device.service import Instrument, open_instrument
from remotelab.errors import ConfigError, InputError, RemotelabError

log = logging.getLogger(__name__)


class Agent:
    """Serves ``instrument`` on NATS as ``name`` until :meth:`drain`."""

    def __init__(self, settings: Settings, name: str, instrument: Instrument) -> None:
        self.settings = settings
        self.nats_settings: NatsSettings = settings.nats
        self.name = name
        self.instrument = instrument
        self.host = socket.gethostname()
        self.instance = secrets.token_hex(6)
        self.nc: Client | None = None
        self._kv: Any = None
        self._calls: Any = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._hold_watch: asyncio.Task[None] | None = None
        self.streams: AgentStreams | None = None
        self.draining = False
        #: The holds taken through this agent, by number, until released or over.
        self._held: dict[int, Hold] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect, register and start serving calls and streams."""
        self.nc = nc = await connect(
            self.nats_settings, f"remotelab agent {self.name}", inbox=wire.AGENT_INBOX
        )
        js = nc.jetstream()
        ttl = wire.MISSED_HEARTBEATS * self.nats_settings.heartbeat_seconds
        try:
            self._kv = await js.key_value(wire.REGISTRY_BUCKET)
        except BucketNotFoundError:
            self._kv = await js.create_key_value(bucket=wire.REGISTRY_BUCKET, ttl=ttl, history=1)
        self.streams = AgentStreams(self)
        await self.streams.start()
        self._calls = await nc.subscribe(wire.call_subject(self.name), cb=self._on_call)
        # Registered only once it listens: a front that hears of it sends it the stored
        # bench at once (NATS keeps one connection's messages in order: the subscription is
        # in place before the entry is out).
        await self._register()
        self._heartbeat = asyncio.create_task(self._beat(), name="agent-heartbeat")
        self._hold_watch = asyncio.create_task(self._watch_holds(), name="agent-holds")
        log.info(
            "agent %s serving %s on %s",
            self.name,
            self.instrument.owner.backend.describe(),
            self.nats_settings.url,
        )

    async def drain(self) -> None:
        """Leave the registry, stop taking calls, fail the queued ones, let the running one
        finish, answer every request taken, close. Idempotent."""
        if self.draining:
            return
        self.draining = True
        message = f"the device agent {self.name} is shutting down; try again"
        log.info("agent %s draining", self.name)
        for task in (self._heartbeat, self._hold_watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._calls is not None:
            # Drained, not dropped: calls already delivered still get an answer.
            with contextlib.suppress(Exception):
                await self._calls.drain()
        with contextlib.suppress(Exception):
            await self._deregister()
        log.info("agent %s: out of the registry, taking no more calls", self.name)
        if self.streams is not None:
            await self.streams.close(message)
        owner = self.instrument.owner
        if owner.current_hold is not None:
            owner.release(owner.current_hold)
        await owner.drain(message, self.nats_settings.drain_seconds)
        log.info("agent %s: queued calls failed, the running one done", self.name)
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=self.nats_settings.drain_seconds)
        await owner.close()
        log.info("agent %s: device closed", self.name)
        if self.nc is not None:
            await close_quietly(self.nc)
        log.info("agent %s stopped", self.name)

    # ------------------------------------------------------------------ registry

    def entry(self, *, gone: bool = False) -> dict[str, Any]:
        owner = self.instrument.owner
        hold = owner.current_hold
        status = owner.hold_status(None)
        return wire.entry(
            name=self.name,
            instance=self.instance,
            host=self.host,
            backend=owner.backend.describe(),
            bench=self.instrument.bench_name,
            experiment=self.instrument.experiment,
            description=self.instrument.experiment_description,
            firmware=owner.firmware,
            state="closed" if self.draining else owner.state,
            fault=owner.fault,
            queue=len(owner.queue),
            hold=None
            if hold is None
            else {
                "user": hold.user,
                "number": hold.number,
                "seconds_left": round(hold.left(), 3),
                "waiting": status["waiting"] if status else 0,
            },
            calls_served=owner.calls_served,
            heartbeat_seconds=self.nats_settings.heartbeat_seconds,
            gone=gone,
        )

    async def _register(self) -> None:
        data = wire.encode(self.entry())
        await self._kv.put(self.name, data)
        assert self.nc is not None
        await self.nc.publish(wire.status_subject(self.name), data)

    async def _deregister(self) -> None:
        assert self.nc is not None
        await self.nc.publish(wire.status_subject(self.name), wire.encode(self.entry(gone=True)))
        await self._kv.delete(self.name)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.nats_settings.heartbeat_seconds)
            try:
                await self._register()
            except Exception as exc:  # NATS away: the client reconnects; try next beat
                log.warning("agent %s: heartbeat failed: %s", self.name, exc)

    async def _watch_holds(self) -> None:
        # A change of hold reaches the fronts at once, not at the next heartbeat.
        owner = self.instrument.owner
        while True:
            await owner.hold_changed()
            with contextlib.suppress(Exception):
                await self._register()

    # ------------------------------------------------------------------ calls

    def _own(self, user: str) -> dict[str, Any]:
        """The outputs ``user`` set on this device (JSON values)."""
        own = self.instrument.owner.contexts.own(user)
        return {name: value_to_json(value) for name, value in own.items()}

    async def _on_call(self, msg: Msg) -> None:
        # nats-py awaits this callback per message: hand each call to a task of its own.
        task = asyncio.create_task(self._answer(msg))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _answer(self, msg: Msg) -> None:
        try:
            value = await self._handle(wire.decode(msg.data))
            reply = value if isinstance(value, bytes) else wire.ok(value)
        except RemotelabError as exc:
            reply = wire.error(exc)
        except (ValueError, TypeError, KeyError) as exc:
            reply = wire.error(InputError(f"a malformed request reached agent {self.name}: {exc}"))
        except Exception as exc:  # a bug: say so, keep serving
            log.exception("agent %s: a request failed", self.name)
            reply = wire.error(RemotelabError(f"the device agent {self.name} failed: {exc}"))
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(reply)

    async def _handle(self, request: dict[str, Any]) -> Any:
        op = request["op"]
        device = self.instrument
        if op == "run":
            user = str(request["user"])
            start = time.perf_counter()
            result = await device.run_call(user, str(request["name"]), [], request["args"])
            answer = {
                "function": result.function,
                "notes": result.notes,
                "elapsed_ms": round((time.perf_counter() - start) * 1000, 3),
                "changed": list(result.changed),
            }
            if result.changed:  # the outputs the user set, for the fronts to keep
                answer["context"] = self._own(user)
            return wire.call_reply(answer, result.result)
        if op == "hold":
            hold = await device.hold(
                str(request["user"]), request["seconds"], teacher=bool(request["teacher"])
            )
            current = device.owner.current_hold
            self._held = {n: h for n, h in self._held.items() if h is current}
            self._held[hold.number] = hold
            return {"hold": hold.number}
        if op == "release":
            held = self._held.pop(int(request["hold"]), None)
            if held is not None:
                device.owner.release(held)
            return None
        if op == "status":
            return await device.status(str(request["user"]))
        if op == "restore":
            # The user comes from another device: their own outputs, as they set them there.
            user = str(request["user"])
            contexts = device.owner.contexts
            changes = changes_from_json(request["outputs"])
            check_outputs(contexts.bench, changes)  # InputError names an output that fails
            contexts.reset(user)
            contexts.record(user, changes)
            return device.owner.context_status(user)
        if op == "reset":
            return await device.reset_context(str(request["user"]))
        if op == "bench_check":
            return device.bench_changes(device.bench_with(request["outputs"]))
        if op == "bench_set":

            async def store(changes: dict[str, Any]) -> None:
                return None  # the front stored them before

            change = await device.change_bench("", request["outputs"], store)
            return {
                "outputs": change.outputs,
                "differs_from_default": list(change.differs_from_default),
                "changed": list(change.changed),
            }
        raise InputError(f"agent {self.name}: unknown request {op!r}")


def agent_name(settings: NatsSettings, name: str | None) -> str:
    """The agent's name: ``--name``, else the setting, else the host's name (made a valid
    subject token). Raises ConfigError for a bad one."""
    chosen = name or settings.agent_name or re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())
    if not AGENT_NAME.fullmatch(chosen):
        raise ConfigError(f"agent name {chosen!r}: use letters, digits, '-' and '_' (at most 64)")
    return chosen


async def run(settings: Settings, name: str, stop: asyncio.Event) -> None:
    """Open the device, serve it on NATS as ``name`` until ``stop`` is set, then drain."""
    instrument = await open_instrument(settings, {})
    agent = Agent(settings, name, instrument)
    try:
        await agent.start()
    except BaseException:
        await instrument.owner.close()
        if agent.nc is not None:
            await close_quietly(agent.nc)
        raise
    print(
        f"remotelab agent {name} serving {instrument.owner.backend.describe()} "
        f"on {settings.nats.url}",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await agent.drain()
