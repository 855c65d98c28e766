"""Acquisition loops: one per configuration, shared by every subscriber of it.

A loop takes device time through the owner's fair queue on behalf of a stream user
(``stream:<n>``), so a stream gets its turn like any user and never starves others.
Each capture runs in its subscribers' contexts (docs/reference/contexts.md): once per
distinct context among them, decided on the device thread when it runs, so subscribers
share a capture only when their outputs agree. Each result is encoded once and handed
to the subscribers of its context, whose own queues decide what reaches the wire
(:mod:`.hub`). Device faults are told to the subscribers; the loop waits for the device
to come back and resumes. While another user holds the device (ADR 0012) a loop queues
no capture and tells its subscribers it is paused (a ``status`` with code ``held``), then
``resumed``; a holder's own subscription goes on, captured in their context alone.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from remotelab.device.functions import ParsedCall
from remotelab.device.functions import bindings as b
from remotelab.device.service import Instrument
from remotelab.errors import DeviceError, RemotelabError
from remotelab.streaming.messages import (
    FrameBody,
    LogicConfig,
    MeterConfig,
    ScopeConfig,
    Subscribe,
    encode_body,
)
from remotelab.streaming.sources import Deliver, OpenSource, Report, Users

log = logging.getLogger(__name__)
_numbers = itertools.count(1)


def _cancel_all(tasks: collections.deque[asyncio.Task[Any]]) -> None:
    while tasks:
        tasks.popleft().cancel()


def local_sources(instrument: Instrument) -> OpenSource:
    """Frame sources that capture on ``instrument`` (this process's device owner)."""
    return functools.partial(Loop, instrument)


class Loop:
    """Captures for one configuration until :meth:`stop` (a local frame source)."""

    def __init__(
        self,
        instrument: Instrument,
        sub: Subscribe,
        call: ParsedCall,
        deliver: Deliver,
        report: Report,
        *,
        max_fps: float,
        users: Users,
    ) -> None:
        self.instrument = instrument
        self.users = users
        self.config = sub.config
        self.call = call
        self.deliver = deliver
        self.report = report
        self.user = f"stream:{next(_numbers)}"
        rate = getattr(self.config, "rate", max_fps)
        self.period = 1.0 / min(rate, max_fps) if max_fps > 0 else 0.0
        self.seq = 0
        self.frames = 0
        #: Users whose last capture did not cross the trigger level (told "waiting").
        self.untriggered: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        #: The task :meth:`cancel` cancelled, for :meth:`ended` to wait on.
        self._ending: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"acquisition {self.user}")

    def cancel(self) -> None:
        """Stop without waiting (from inside the loop's own task: :meth:`stop` would wait
        for itself); :meth:`ended` waits for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self._ending = task

    def joined(self, user: str) -> None:
        self.untriggered.discard(user)  # a new subscription is told "waiting" again

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended (see :meth:`ended`)."""
        self.cancel()
        await self.ended()

    async def ended(self) -> None:
        """Wait until the cancelled loop has ended.

        Only the caller's own cancellation is raised: the loop's (it was cancelled) and an
        error it ended with before are not (the error is logged). Swallowing the caller's
        would leave a websocket handler whose peer went away running on, its connection
        counted for good.
        """
        task = self._ending
        if task is None:
            return
        await asyncio.wait({task})  # raises CancelledError only when the caller is cancelled
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "stream loop %s ended with an error",
                self.call.function.name,
                exc_info=task.exception(),
            )

    def _job(self) -> Callable[[Any], Any]:
        config, call = self.config, self.call
        if isinstance(config, ScopeConfig) and config.range is not None:
            channel = config.channels if isinstance(config.channels, str) else "CH1"
            wanted = config.range

            def ranged(lab: Any) -> Any:
                # The gain is device state (the context's): set it for this capture only.
                previous = b.current_range(lab, channel)
                b.select_range(lab, channel, wanted)
                try:
                    return call.invoke(lab)
                finally:
                    b.select_range(lab, channel, previous)

            return ranged
        return call.invoke

    async def _run(self) -> None:
        owner = self.instrument.owner
        job = self._job()
        label = f"stream {self.call.function.name}"

        cost = self.instrument.cost(self.call)

        def capture(target: tuple[str, list[str]]) -> asyncio.Task[Any]:
            user, users = target
            return asyncio.create_task(
                owner.call_in_contexts(user, users, job, label=label, cost=cost)
            )

        next_at = time.monotonic()
        # Captures are queued ahead while the last one is encoded and handed out, so the
        # device never waits for this loop (it still takes turns with others in the fair
        # queue): two when the loop runs flat out, so that the next one is already queued
        # when the device thread finishes one; one with a frame-rate cap, queued when due.
        depth = 3 if self.period == 0 else 1
        ahead: collections.deque[asyncio.Task[Any]] = collections.deque()
        held_by: str | None = None  # the holder this loop last saw (ADR 0012)
        try:
            while True:
                holder = owner.holder()
                if holder != held_by:
                    # A hold began or ended: captures queued before are for the old rules.
                    _cancel_all(ahead)
                    if held_by is not None:
                        self.report("resumed", "the device is no longer held; the stream goes on")
                    if holder is not None:
                        self._report_held(holder)
                    held_by = holder
                    next_at = time.monotonic()
                target = self._target(holder)
                if target is None:  # another user holds the device: no capture meanwhile
                    # Shielded: the future is shared, and stopping this loop must not
                    # cancel it for the other loops waiting on it.
                    await asyncio.shield(owner.hold_changed())
                    continue
                if not ahead:
                    ahead.append(capture(target))
                if not ahead[0].done():
                    change = owner.hold_changed()
                    await asyncio.wait((ahead[0], change), return_when=asyncio.FIRST_COMPLETED)
                    if not ahead[0].done():
                        continue  # the hold changed first
                try:
                    results = ahead[0].result()
                except DeviceError as exc:
                    _cancel_all(ahead)
                    self.report(exc.code, f"{exc.message}; the stream resumes when the device does")
                    await self._wait_for_device()
                    self.report("resumed", "the device is back; the stream goes on")
                    next_at = time.monotonic()
                    continue
                except RemotelabError as exc:  # the configuration itself fails: stop
                    _cancel_all(ahead)
                    self.report(exc.code, exc.message)
                    return
                ahead.popleft()
                stamp = time.time()
                next_at += self.period
                delay = next_at - time.monotonic()
                if delay <= 0:
                    next_at = time.monotonic()
                    while len(ahead) < depth:
                        ahead.append(capture(target))
                for members, raw in results:  # one capture per distinct context
                    body, x0, dx = self._encode(raw)
                    self.deliver(body, self.seq, stamp, x0, dx, members)
                    self._check_trigger(raw, members)
                self.seq += 1
                self.frames += 1
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    await asyncio.sleep(0)  # let the subscribers' senders run
        finally:
            _cancel_all(ahead)  # queued captures are dropped, never run

    def _target(self, holder: str | None) -> tuple[str, list[str]] | None:
        """Who the next capture is queued as, and for whom; None: paused by a hold.

        While a user holds the device, only their calls run: a stream they subscribe to
        goes on for them (queued as them), the others' frames pause.
        """
        users = self.users()
        if holder is None:
            return self.user, users
        if holder in users:
            return holder, [holder]
        return None

    def _check_trigger(self, raw: Any, members: Collection[str]) -> None:
        """Tell subscribers when their captures stop (and start again) crossing the trigger
        level: a capture that never crosses it began on the trigger's timeout."""
        config = self.config
        if not isinstance(config, ScopeConfig):
            return
        seen = config.trigger_seen(raw[1:])
        if seen is None:
            return
        members = set(members)
        if seen:
            back = members & self.untriggered
            self.untriggered -= back
            if back:
                self.report("triggered", "triggered: the signal crosses the level", only=back)
            return
        new = members - self.untriggered
        self.untriggered |= new
        if new:
            channel = config.trigger_channel or config.trace_names()[0]
            self.report(
                "waiting_for_trigger",
                f"waiting for trigger: {channel} never crosses {config.trigger:g} V; "
                "showing captures that started without it",
                only=new,
            )

    def _report_held(self, holder: str) -> None:
        hold = self.instrument.owner.hold_status(None)
        left = "" if hold is None else f" (for {hold['seconds_left']:.1f} s at most)"
        self.report(
            "held",
            f"paused: another user's script holds the device{left}; the stream resumes after",
            skip=holder,
        )

    async def _wait_for_device(self) -> None:
        owner = self.instrument.owner
        while owner.state != "connected":
            await asyncio.sleep(0.05)

    def _encode(self, raw: Any) -> tuple[FrameBody, float, float]:
        if isinstance(self.config, ScopeConfig):
            x, *traces = raw
            x = np.asarray(x, dtype=np.float64)
            dx = float(x[1] - x[0]) if len(x) > 1 else 0.0
            return encode_body(traces), float(x[0]) if len(x) else 0.0, dx
        if isinstance(self.config, MeterConfig):
            return encode_body([[float(raw)]], compact=False), 0.0, 0.0
        if isinstance(self.config, LogicConfig):
            period_us, duty = raw if raw is not None else (0.0, 0.0)  # None: no signal
            frequency = 1e6 / period_us if period_us and period_us > 0 else 0.0
            return encode_body([[frequency], [duty]], compact=False), 0.0, 0.0
        raise AssertionError(self.config)
