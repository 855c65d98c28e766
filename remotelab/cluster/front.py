"""The NATS implementation of the device interface, for ``remotelab serve`` as a web front.

With ``REMOTELAB_NATS_URL`` set the front opens no device. :class:`NatsDevice` checks every
call here exactly as the local device does (:class:`~remotelab.device.checks.CallChecks`:
a bad call is a 400 before anything is sent), then sends it by request/reply to the agent
of the caller's device. The API has authenticated and authorized the caller before; only
their id goes to the agent.

Which device: the one the user is on while its agent stays in the registry and serves the
user's experiment (the one they chose, else ``REMOTELAB_NATS_EXPERIMENT``, else any); else
the least busy registered one of that experiment (shortest queue, then fewest users given it
here, then name); none: a 503 naming the experiment. The experiment each user chose is kept
in a JetStream key-value bucket too, and a change of it is told to the other fronts. Who is on
which device is kept in a JetStream key-value bucket shared by every front (first writer
wins), so a user's calls reach the same device whichever front or worker takes them. The
registry is read from its JetStream bucket at start and kept current from the agents'
status messages; an agent not heard from for 3 of its heartbeats, or one that said it is
going, is out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from remotelab.cluster import wire
from remotelab.cluster.connection import close_quietly, connect
from remotelab.config import Settings
from remotelab.device.checks import CallChecks
from remotelab.device.functions import ParsedCall, default_registry
from remotelab.device.interface import BenchChange, CallResult, HoldInfo, Release, StoreBench
from remotelab.device.service import experiment_summary
from remotelab.errors import DeviceTimeout, DeviceUnavailable, InputError, NotFound

log = logging.getLogger(__name__)

#: How often the front looks for agents gone with calls in flight.
WATCH_SECONDS = 0.1

#: What a reply may take beyond the device's own call timeout (the NATS hops).
REPLY_MARGIN_SECONDS = 2.0


class NatsDevice(CallChecks):
    """The lab's devices behind their agents (a :class:`~remotelab.device.interface.Device`).

    Open with :meth:`start`, close with :meth:`close`.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            default_registry(settings.functions),
            settings.functions,
            settings.device.max_call_seconds,
        )
        self.settings = settings
        self.front_id = secrets.token_hex(6)
        self.nc: Client | None = None
        #: Agent name -> (its last entry, when it arrived: ``time.monotonic()``).
        self.entries: dict[str, tuple[dict[str, Any], float]] = {}
        #: User id -> the agent their calls go to.
        self.assigned: dict[str, str] = {}
        self._bench_lock = asyncio.Lock()
        self._sends: set[asyncio.Task[None]] = set()
        #: The agents given users: those that have their experiment's stored bench (or were
        #: told it and failed to take it; they keep their bench file's).
        self._ready: set[str] = set()
        self._joining: set[asyncio.Task[None]] = set()
        #: The requests waiting for an answer, by agent; those failed for a lost agent.
        self._inflight: dict[str, set[asyncio.Future[Any]]] = {}
        self._lost: set[asyncio.Future[Any]] = set()
        #: Agents that said they are going (draining): their calls in flight are answered.
        self._said_gone: set[str] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._assignments: Any = None
        self._contexts: Any = None
        self._choices: Any = None
        self._benches: Any = None
        #: User id -> the experiment they are on ("" for any), as read from the bucket.
        self.chosen: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect to NATS, read the registry, follow the agents' status."""
        self.nc = nc = await connect(
            self.settings.nats, f"remotelab front {self.front_id}", inbox=wire.FRONT_INBOX
        )
        js = nc.jetstream()
        try:
            self._assignments = await js.key_value(wire.ASSIGNMENTS_BUCKET)
        except BucketNotFoundError:
            self._assignments = await js.create_key_value(bucket=wire.ASSIGNMENTS_BUCKET, history=1)
        try:
            self._contexts = await js.key_value(wire.CONTEXTS_BUCKET)
        except BucketNotFoundError:
            # A context not used for this long has expired on its device too.
            self._contexts = await js.create_key_value(
                bucket=wire.CONTEXTS_BUCKET,
                history=1,
                ttl=self.settings.device.context_idle_seconds,
            )
        try:
            self._choices = await js.key_value(wire.EXPERIMENTS_BUCKET)
        except BucketNotFoundError:
            self._choices = await js.create_key_value(bucket=wire.EXPERIMENTS_BUCKET, history=1)
        try:
            self._benches = await js.key_value(wire.BENCHES_BUCKET)
        except BucketNotFoundError:
            self._benches = await js.create_key_value(bucket=wire.BENCHES_BUCKET, history=1)
        await nc.subscribe(wire.PLACEMENT_SUBJECT, cb=self._on_placement)
        await nc.subscribe(wire.STATUS_WILDCARD, cb=self._on_status)
        for entry in await self._registered():
            self._remember(entry)
        if self._joining:  # the stored bench on the devices there, before any user
            await asyncio.wait(self._joining, timeout=self._call_timeout)
        self._watcher = asyncio.create_task(self._watch(), name="front-watch-agents")
        log.info("front %s: %d device agent(s) registered", self.front_id, len(self.alive()))

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self.nc is not None:
            await close_quietly(self.nc)

    def describe(self) -> str:
        return f"devices over NATS at {self.settings.nats.url}"

    # ------------------------------------------------------------------ the registry

    async def _registered(self) -> list[dict[str, Any]]:
        """The entries in the registry now. Its keys come from the stream's subjects (no
        consumer: the front's NATS user may only read the registry, ADR 0021); a deleted
        key's subject is there too, and its ``get`` says it is gone."""
        assert self.nc is not None
        js = self.nc.jetstream()
        registry = f"KV_{wire.REGISTRY_BUCKET}"
        prefix = f"$KV.{wire.REGISTRY_BUCKET}."
        try:
            info = await js.stream_info(registry, subjects_filter=f"{prefix}>")
            kv = await js.key_value(wire.REGISTRY_BUCKET)
        except (nats.js.errors.NotFoundError, BucketNotFoundError):
            return []  # no agent registered yet: their status messages will tell
        entries = []
        for subject in sorted(info.state.subjects or {}):
            # An entry that cannot be read now: its agent's next status message brings it.
            with contextlib.suppress(nats.errors.Error, ValueError, TypeError, KeyError):
                got = await kv.get(subject[len(prefix) :])
                if got.value:
                    entries.append(wire.decode(got.value))
        return entries

    async def _on_status(self, msg: Msg) -> None:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            self._remember(wire.decode(msg.data))

    def _remember(self, entry: dict[str, Any]) -> None:
        name = str(entry["name"])
        if entry.get("gone"):
            self._forget(name)
            self._said_gone.add(name)
            return
        self._said_gone.discard(name)
        known = self.entries.get(name)
        joined = known is None or known[0].get("instance") != entry.get("instance")
        self.entries[name] = (entry, time.monotonic())
        if not joined:
            return
        self._ready.discard(name)
        task = asyncio.create_task(self._apply_stored_bench(name, _experiment(entry)))
        self._joining.add(task)
        task.add_done_callback(self._joining.discard)

    async def _apply_stored_bench(self, agent: str, experiment: str) -> None:
        """Bring a device that joined to the bench teachers stored for its experiment (every
        front does it once per sighting; applying the same bench twice changes nothing)."""
        try:
            async with self._bench_lock:
                stored = await self.stored_bench(experiment)
                if stored:
                    await self._request(
                        agent, {"op": "bench_set", "outputs": stored}, self._call_timeout
                    )
        except Exception as exc:  # the device keeps its bench file's; users still served
            log.warning(
                "front %s: the stored bench did not reach %s: %s", self.front_id, agent, exc
            )
        self._ready.add(agent)

    def alive(self) -> dict[str, dict[str, Any]]:
        """The registered agents heard from within 3 of their heartbeats, by name."""
        now = time.monotonic()
        return {
            name: entry
            for name, (entry, seen) in self.entries.items()
            if now - seen <= wire.MISSED_HEARTBEATS * float(entry["heartbeat_seconds"])
            and entry["state"] != "closed"
        }

    def agent_for(self, user: str) -> str:
        """The agent ``user`` is on in this front's memory, else the least busy one of their
        experiment (given to them here; :meth:`choose` agrees it with the other fronts
        first).

        Raises DeviceUnavailable when no agent of their experiment is registered."""
        experiment = self._experiment_known(user)
        name = self.assigned.get(user)
        if name is not None and name in self._usable(experiment):
            return name
        name = self._least_busy(experiment)
        self.assigned[user] = name
        return name

    def _least_busy(self, experiment: str = "") -> str:
        alive = self._usable(experiment)
        if not alive:
            if experiment:
                raise DeviceUnavailable(
                    f"no device of the experiment {experiment!r} is available: none of its "
                    "device agents is registered; try again later or choose another "
                    "experiment (GET /v1/experiments)",
                    details={"experiment": experiment},
                )
            raise DeviceUnavailable(
                "no device is available: no device agent is registered (start `remotelab "
                "agent`, see docs/reference/deploy.md)"
            )
        given = Counter(self.assigned.values())
        return min(alive, key=lambda n: (int(alive[n]["queue"]), given[n], n))

    # ------------------------------------------------------------------ experiments

    def _experiment_known(self, user: str) -> str:
        """The experiment ``user`` is on as far as this front knows (without NATS)."""
        return self.chosen.get(user, self.settings.nats.experiment)

    async def experiment_of(self, user: str) -> str:
        """The experiment ``user`` chose (read once from the shared bucket), else the
        setting's; "" for any."""
        known = self.chosen.get(user)
        if known is not None:
            return known
        if self._choices is None:
            return self.settings.nats.experiment
        try:
            stored = await self._choices.get(user)
            value = stored.value.decode() if stored.value else ""
        except KeyNotFoundError:
            value = self.settings.nats.experiment
        except nats.errors.Error as exc:
            raise _bus_down(exc) from None
        self.chosen[user] = value
        return value

    async def set_experiment(self, user: str, experiment: str) -> dict[str, Any]:
        """Put ``user`` on ``experiment``: their next call goes to its least busy device,
        with the bench's outputs there. Raises NotFound for an experiment no device serves."""
        if experiment not in {_experiment(entry) for entry in self.alive().values()}:
            raise self._not_served(experiment)
        if await self.experiment_of(user) != experiment:
            try:
                await self._choices.put(user, experiment.encode())
                # Their outputs were set on another bench: they start from this one's.
                with contextlib.suppress(KeyNotFoundError):
                    await self._contexts.delete(user)
                assert self.nc is not None
                await self.nc.publish(
                    wire.PLACEMENT_SUBJECT, wire.encode({"user": user, "front": self.front_id})
                )
            except nats.errors.Error as exc:
                raise _bus_down(exc) from None
            self.chosen[user] = experiment
            self.assigned.pop(user, None)
        await self.choose(user)
        (summary,) = [e for e in await self.experiments(user) if e["name"] == experiment]
        return summary

    async def _on_placement(self, msg: Msg) -> None:
        # Another front put a user on another experiment: read it again at their next call.
        with contextlib.suppress(ValueError, TypeError, KeyError):
            message = wire.decode(msg.data)
            if message["front"] == self.front_id:
                return  # this front's own
            user = str(message["user"])
            self.chosen.pop(user, None)
            self.assigned.pop(user, None)

    async def choose(self, user: str) -> str:
        """The agent ``user``'s calls go to, agreed with every other front.

        This front's memory first; else the shared bucket, if its device is up; else the
        least busy device, written to the bucket unless another front wrote first (then
        theirs). Waits for devices joining now to get the stored bench when none is ready.
        Raises DeviceUnavailable when no agent is registered."""
        experiment = await self.experiment_of(user)
        name = self.assigned.get(user)
        if name is not None and name in self._usable(experiment):
            return name
        if not self._usable(experiment) and self._joining:
            await asyncio.wait(self._joining, timeout=self._call_timeout)
        if self._assignments is None:
            return self.agent_for(user)
        for _ in range(3):  # a race with another front: read what it wrote, then decide
            try:
                stored = await self._assignments.get(user)
            except KeyNotFoundError:
                stored = None
            except nats.errors.Error as exc:
                raise _bus_down(exc) from None
            theirs: str | None = (
                stored.value.decode() if stored is not None and stored.value else None
            )
            usable = self._usable(experiment)
            if theirs is not None and theirs in usable:
                self.assigned[user] = theirs
                return theirs
            self.assigned.pop(user, None)
            pick = self.agent_for(user)  # raises DeviceUnavailable when none is up
            try:
                if stored is None:
                    await self._assignments.create(user, pick.encode())
                else:
                    await self._assignments.update(user, pick.encode(), last=stored.revision)
            except KeyWrongLastSequenceError:
                continue
            except nats.errors.Error as exc:
                raise _bus_down(exc) from None
            if theirs is not None:
                # Moved from a device that is gone (or not ready): bring their outputs. After
                # a change of experiment there are none (set_experiment dropped them).
                await self._restore(user, pick)
            return pick
        return self.agent_for(user)

    async def _restore(self, user: str, agent: str) -> None:
        """Give ``user``'s outputs (as they set them on their last device) to ``agent``;
        on failure they start from the bench there (logged)."""
        try:
            stored = await self._contexts.get(user)
        except KeyNotFoundError:
            return
        except nats.errors.Error as exc:
            log.warning(
                "front %s: the outputs of user %s are out of reach: %s", self.front_id, user, exc
            )
            return
        if not stored.value:
            return
        try:
            outputs = wire.decode(stored.value)
            if outputs:
                await self._request(
                    agent,
                    {"op": "restore", "user": user, "outputs": outputs},
                    self._call_timeout,
                )
                log.info(
                    "front %s: user %s moved to %s with their outputs", self.front_id, user, agent
                )
        except Exception as exc:
            log.warning(
                "front %s: the outputs of user %s did not reach %s: %s",
                self.front_id,
                user,
                agent,
                exc,
            )

    async def _keep_context(self, user: str, outputs: dict[str, Any]) -> None:
        """Keep what ``user`` set (after a call that set outputs, or a reset). A failure is
        logged, not raised: the call itself went through (only a later move loses it)."""
        if self._contexts is None:
            return
        try:
            await self._contexts.put(user, wire.encode(outputs))
        except nats.errors.Error as exc:
            log.warning(
                "front %s: the outputs of user %s were not kept: %s", self.front_id, user, exc
            )

    def _usable(self, experiment: str = "") -> dict[str, dict[str, Any]]:
        """The registered agents that may be given users (alive, with the stored bench), of
        ``experiment`` ("": of any)."""
        return {
            name: entry
            for name, entry in self.alive().items()
            if name in self._ready and (not experiment or _experiment(entry) == experiment)
        }

    def _entry_of(self, user: str) -> tuple[dict[str, Any], float] | None:
        name = self.assigned.get(user)
        if name is None or name not in self.alive():
            return None
        return self.entries[name]

    # ------------------------------------------------------------------ requests

    async def _request(
        self,
        agent: str,
        message: dict[str, Any],
        timeout: float,
        parse: Callable[[bytes], Any] = wire.reply_value,
    ) -> Any:
        """``message`` to ``agent``; its reply, read by ``parse``."""
        assert self.nc is not None, "start() first"
        try:
            data = wire.encode(message)
        except ValueError as exc:  # inf or nan among the arguments
            raise InputError(f"the call's arguments cannot be sent: {exc}") from None
        request = asyncio.ensure_future(
            self.nc.request(wire.call_subject(agent), data, timeout=timeout)
        )
        waiting = self._inflight.setdefault(agent, set())
        waiting.add(request)
        try:
            reply = await request
        except asyncio.CancelledError:
            if request not in self._lost:
                raise  # the caller's own cancellation
            self._lost.discard(request)
            raise DeviceUnavailable(
                f"the device {agent} went away during the call (its agent stopped "
                "answering); try again",
                details={"device": agent},
            ) from None
        except nats.errors.NoRespondersError:
            self._forget(agent)
            raise _NotAnswering(
                f"the device {agent} is not answering (its agent is gone); try again",
                details={"device": agent},
            ) from None
        except nats.errors.TimeoutError:
            raise DeviceTimeout(
                f"the device {agent} did not answer within {timeout:g} s",
                details={"device": agent},
            ) from None
        except nats.errors.Error as exc:  # NATS itself away: closed, reconnecting, buffer full
            raise _bus_down(exc) from None
        finally:
            waiting.discard(request)
        try:
            return parse(reply.data)
        except ValueError as exc:
            raise DeviceUnavailable(
                f"the device {agent} answered in a form this front cannot read ({exc}); "
                "are the agent and the front the same version?",
                details={"device": agent},
            ) from None

    async def _call(
        self,
        user: str,
        message: dict[str, Any],
        timeout: float,
        parse: Callable[[bytes], Any] = wire.reply_value,
    ) -> Any:
        """Send ``message`` to ``user``'s device; once more to another device of their
        experiment when the agent of theirs is gone before the message reached it (nothing
        ran; none left of their experiment: the 503 naming it)."""
        agent = await self.choose(user)
        try:
            return await self._request(agent, message, timeout, parse)
        except _NotAnswering:
            if not self.alive():
                raise
        return await self._request(await self.choose(user), message, timeout, parse)

    async def _watch(self) -> None:
        """Fail the calls in flight to an agent that dropped out of the registry without
        saying so (killed, its host or network gone): a 503 naming the device within 3 of
        its heartbeats, not at the end of the call's timeout."""
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            alive = self.alive()
            for agent, waiting in self._inflight.items():
                if not waiting or agent in alive or agent in self._said_gone:
                    continue
                log.warning("front %s: device %s stopped answering", self.front_id, agent)
                self._forget(agent)
                for request in list(waiting):
                    if not request.done():
                        self._lost.add(request)
                        request.cancel()

    def _forget(self, agent: str) -> None:
        self.entries.pop(agent, None)
        self._ready.discard(agent)
        for user in [u for u, name in self.assigned.items() if name == agent]:
            del self.assigned[user]

    @property
    def _call_timeout(self) -> float:
        return self.settings.device.call_timeout + REPLY_MARGIN_SECONDS

    # ------------------------------------------------------------------ the Device interface

    async def run_parsed(self, user: str, call: ParsedCall) -> CallResult:
        start = time.perf_counter()
        # The result stays the agent's JSON text (RawJSON): relayed, never parsed here.
        value, result = await self._call(
            user,
            {"op": "run", "user": user, "name": call.function.name, "args": call.args},
            self._call_timeout,
            wire.call_reply_value,
        )
        elapsed = round((time.perf_counter() - start) * 1000, 3)
        if "context" in value:
            await self._keep_context(user, value["context"])
        return CallResult(
            value["function"], result, value["notes"], elapsed, tuple(value["changed"])
        )

    async def run_call(
        self, user: str, name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> CallResult:
        return await self.run_parsed(user, self.bind(name, args, kwargs))

    async def take_hold(self, user: str, seconds: object, *, teacher: bool = False) -> Release:
        agent = await self.choose(user)
        limits = self.settings.device
        # A hold waits for the holds before it: at most a few of the longest, then a 503.
        timeout = 2 * limits.hold_max_seconds_teacher + self._call_timeout
        value = await self._request(
            agent, {"op": "hold", "user": user, "seconds": seconds, "teacher": teacher}, timeout
        )
        number = int(value["hold"])

        def release() -> None:
            self._send(agent, {"op": "release", "user": user, "hold": number})

        return release

    def _send(self, agent: str, message: dict[str, Any]) -> None:
        """Publish a request that needs no answer (from synchronous code)."""
        nc = self.nc
        if nc is None or nc.is_closed:
            return
        task = asyncio.create_task(nc.publish(wire.call_subject(agent), wire.encode(message)))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def hold_info(self, user: str) -> HoldInfo | None:
        known = self._entry_of(user)
        hold = None if known is None else known[0].get("hold")
        return None if hold is None else HoldInfo(str(hold["user"]), int(hold["number"]))

    def hold_status(self, user: str | None) -> dict[str, Any] | None:
        known = None if user is None else self._entry_of(user)
        if known is None or known[0].get("hold") is None:
            return None
        entry, seen = known
        hold = entry["hold"]
        return {
            "by": "you" if hold["user"] == user else "another user",
            "seconds_left": round(max(0.0, hold["seconds_left"] - (time.monotonic() - seen)), 3),
            "waiting": hold["waiting"],
        }

    def summary(self, user: str) -> dict[str, Any]:
        agent = self.assigned.get(user)
        experiment = self._experiment_known(user)
        try:
            if agent is None or agent not in self._usable(experiment):
                agent = self._least_busy(experiment)  # where their next call would likely go
        except DeviceUnavailable as exc:
            return {"state": "faulted", "fault": exc.message, "queue": 0}
        entry = self.entries[agent][0]
        return {"state": entry["state"], "fault": entry["fault"], "queue": entry["queue"]}

    async def devices(self, user: str) -> list[dict[str, Any]]:
        mine = self.assigned.get(user)
        fields = ("name", "host", "backend", "bench", "experiment", "firmware", "state", "queue")
        return [
            {**{key: entry[key] for key in fields}, "yours": name == mine}
            for name, entry in sorted(self.alive().items())
        ]

    async def experiments(self, user: str) -> list[dict[str, Any]]:
        mine = self.assigned.get(user)
        chosen = await self.experiment_of(user)
        by_name: dict[str, list[dict[str, Any]]] = {}
        for name, entry in sorted(self.alive().items()):
            by_name.setdefault(_experiment(entry), []).append(
                {**entry, "name": name, "hold": entry.get("hold") is not None}
            )
        return [
            experiment_summary(
                experiment,
                # The description of its first device (the same bench file on each, usually).
                str(devices[0].get("description", "")),
                devices,
                yours=experiment == chosen
                if chosen
                else mine is not None and any(d["name"] == mine for d in devices),
            )
            for experiment, devices in sorted(by_name.items())
        ]

    async def status(self, user: str) -> dict[str, Any]:
        value: dict[str, Any] = await self._call(
            user, {"op": "status", "user": user}, self._call_timeout
        )
        return value

    async def reset_context(self, user: str) -> dict[str, Any]:
        value: dict[str, Any] = await self._call(
            user, {"op": "reset", "user": user}, self._call_timeout
        )
        await self._keep_context(user, {})
        return value

    async def stored_bench(self, experiment: str) -> dict[str, Any]:
        """What teachers changed of ``experiment``'s bench (JSON values by output name)."""
        if self._benches is None:
            return {}
        try:
            stored = await self._benches.get(wire.bench_key(experiment))
        except KeyNotFoundError:
            return {}
        except nats.errors.Error as exc:
            raise _bus_down(exc) from None
        if not stored.value:
            return {}
        outputs: dict[str, Any] = wire.decode(stored.value)["outputs"]
        return outputs

    async def change_bench(
        self, user: str, data: Any, store: StoreBench, experiment: str | None = None
    ) -> BenchChange:
        """Change the bench of ``experiment`` (None: the one of ``user``'s device): checked
        by one of its agents, kept in the benches bucket, then applied on each of its agents
        (and on each that joins later). ``store`` is the embedded server's (the database's
        one bench for its one device): not used here, where each experiment has its own."""
        if experiment is None:
            experiment = _experiment(self.entries[await self.choose(user)][0])
        async with self._bench_lock:
            agents = sorted(n for n, e in self.alive().items() if _experiment(e) == experiment)
            if not agents:
                raise self._not_served(experiment)
            changes = await self._request(
                agents[0], {"op": "bench_check", "outputs": data}, self._call_timeout
            )
            try:
                await self._benches.put(
                    wire.bench_key(experiment),
                    wire.encode({"experiment": experiment, "outputs": changes}),
                )
            except nats.errors.Error as exc:
                raise _bus_down(exc) from None
            answers = await asyncio.gather(
                *(
                    self._request(agent, {"op": "bench_set", "outputs": data}, self._call_timeout)
                    for agent in agents
                )
            )
        first = answers[0]
        return BenchChange(
            first["outputs"],
            tuple(first["differs_from_default"]),
            tuple(first["changed"]),
            experiment,
        )

    def _not_served(self, experiment: str) -> NotFound:
        served = sorted({_experiment(entry) for entry in self.alive().values()})
        return NotFound(
            f"no experiment named {experiment!r} is served now (experiments: "
            + (", ".join(repr(name) for name in served) or "none")
            + "); see GET /v1/experiments",
            details={"experiment": experiment},
        )


def _experiment(entry: Mapping[str, Any]) -> str:
    """The experiment of a registry entry (an agent older than experiments: its bench)."""
    return str(entry.get("experiment", entry["bench"]))


class _NotAnswering(DeviceUnavailable):
    """No agent listens on the device's subject: the request reached nobody."""


def _bus_down(exc: Exception) -> DeviceUnavailable:
    return DeviceUnavailable(
        f"the lab's devices are out of reach: NATS does not answer ({exc}); try again"
    )
