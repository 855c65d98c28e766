"""The one owner of the instrument: a dedicated thread, a fair queue, fault recovery.

Every pslab call runs on one thread, one call at a time, so the serial protocol
is never interleaved (docs/architecture.md, ADR 0004). Calls reach that thread only through
:meth:`DeviceOwner.call`, which queues them fairly by device time (:mod:`.scheduler`); the
thread measures how long each one took, and its user is charged that.

A call may return *steps* instead of a result: a generator that yields, at points where
nothing is half-sent and the firmware captures on its own, the seconds it may still take
(a wait for edges, ``functions/bindings.py``). The thread runs it for at most one slice
(``REMOTELAB_DEVICE_SLICE_MS``) and hands it back to the fair queue as a continuation;
other users' calls run before the next slice, and a continuation whose caller left is
closed (its capture stopped) instead of resumed (ADR 0011).

States: ``connecting`` → ``connected`` ⇄ ``faulted`` → ``closed``. A call that
fails with a device error (pslab's ConnectionError, TimeoutError, RuntimeError
on a bad ACK, a vanished serial port) marks the device faulted: that call and
every queued one fail with :class:`~remotelab.errors.DeviceUnavailable`, new
calls fail fast, and a background task reconnects with exponential back-off.
Everything else the server does keeps working meanwhile.

Contexts (docs/reference/contexts.md): every user has their own instrument, the bench's
outputs plus the outputs they set (:mod:`.contexts`). Before a call runs, the device
thread brings the device's outputs to the caller's context, sending only what differs
(:mod:`.switch`), and waits each changed output's settle time; after a call that set
outputs, it records them in the caller's context. Switches happen between calls, never
inside one. The bench is applied whole when the device opens (and after a reconnect).

Holds (ADR 0012): :meth:`DeviceOwner.hold` gives one user the device for a bounded time.
Meanwhile only that user's calls are taken from the queue (so no other context is
switched in), other users' calls wait, and streams of other users pause
(:meth:`DeviceOwner.hold_changed`). One hold at a time: the next one waits its turn. A
hold ends when released, when its time is up (a timer on the loop), or at shutdown; the
holder is charged its whole time as device time.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import itertools
import logging
import struct
import time
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TypeVar

from serial import SerialException

from remotelab.config import DeviceSettings
from remotelab.device import switch
from remotelab.device.backends import Backend
from remotelab.device.contexts import Contexts
from remotelab.device.functions.counter import calling_as
from remotelab.device.outputs import KINDS, Kind, Outputs, Value, kinds_of
from remotelab.device.scheduler import DEFAULT_COST, Cost, FairQueue, Job, new_job, wait_for_job
from remotelab.errors import DeviceUnavailable, InputError, RemotelabError

log = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["connecting", "connected", "faulted", "closed"]

# What a vanished, silent or confused instrument raises through pslab and pyserial.
DEVICE_FAULTS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    RuntimeError,
    SerialException,
    OSError,
    struct.error,
)


def describe_fault(exc: BaseException) -> str:
    """A message for users that says what went wrong and, where known, how to fix it."""
    if isinstance(exc, PermissionError):
        return (
            "no permission to open the PSLab's serial port: add the server's user to the "
            "'dialout' group or install the udev rule deploy/99-pslab.rules, then reconnect "
            f"({exc})"
        )
    if isinstance(exc, TimeoutError):
        return "the instrument stopped answering (timeout)"
    if isinstance(exc, SerialException):
        return f"the instrument's serial port failed: {exc}"
    if isinstance(exc, ConnectionError):
        return f"the instrument is not connected: {exc}"
    if isinstance(exc, RuntimeError | struct.error):
        return f"the instrument sent an unexpected answer: {exc}"
    return f"the instrument failed: {exc}"


_hold_numbers = itertools.count(1)


@dataclasses.dataclass(eq=False)
class Hold:
    """One user's hold of the device (see :meth:`DeviceOwner.hold`)."""

    user: str
    seconds: float
    #: ``time.monotonic()`` when it began and when it ends at the latest.
    started: float
    until: float
    timer: asyncio.TimerHandle | None = None
    #: Tells one hold from the next (see ``interface.HoldInfo``).
    number: int = dataclasses.field(default_factory=lambda: next(_hold_numbers))

    def left(self) -> float:
        """Seconds until it expires (0 when over)."""
        return max(0.0, self.until - time.monotonic())


#: How often a hold that waits for another user's wait for edges (the capture engine) checks.
_ENGINE_POLL_SECONDS = 0.01


class DeviceOwner:
    """Owns the backend's ScienceLab. Open with :meth:`start`, close with :meth:`close`.

    ``bench``: the outputs every user starts from (default: the backend's, that is the
    bench file's or :data:`.outputs.DEFAULT_BENCH`).
    """

    def __init__(
        self,
        backend: Backend,
        limits: DeviceSettings | None = None,
        *,
        bench: Outputs | None = None,
    ) -> None:
        self.backend = backend
        self.limits = limits or DeviceSettings()
        self.queue = FairQueue(self.limits)
        self.queue.compatible = self._same_outputs
        self.state: State = "connecting"
        self.fault: str | None = None
        self.firmware: str | None = None
        self.calls_served = 0
        self.contexts = Contexts(bench or backend.bench, self.limits.context_idle_seconds)
        #: Context switches that sent something, and the device time they took.
        self.switches = 0
        self.switch_seconds = 0.0
        self._settle_seconds: dict[Kind, float] = {
            kind: getattr(self.limits, f"settle_ms_{kind}") / 1000 for kind in KINDS
        }
        #: What the device's outputs are now (None: unknown, every output is sent next).
        #: Read and written on the device thread only.
        self._device_outputs: Outputs | None = None
        self._next_expiry = 0.0
        self._lab: Any = None
        self._executor = self._new_executor()
        self._worker: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._running: list[Job[Any]] = []
        #: Batches handed to the device thread so far.
        self.batches = 0
        #: Per label (the function's name): what its calls really took on the device, as a
        #: fraction of their expected time (a moving average; 1 until one has run). Batches
        #: are cut at one quantum of expected time corrected by it (see :meth:`_take_batch`).
        self._pace: dict[str, float] = {}
        #: Calls queued that do not need the capture engine (read by the device thread, to
        #: end a slice of a wait early when one of them could run).
        self._arrivals = 0
        #: The hold in force, the holds waiting for their turn, and a future settled (and
        #: replaced) at each change of hold (streams pause and resume on it).
        self.current_hold: Hold | None = None
        #: Set by :meth:`drain`: what every new call fails with.
        self._refusal: str | None = None
        self._hold_waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._hold_change: asyncio.Future[None] | None = None

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pslab")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect (or start reconnecting) and start serving calls."""
        try:
            await self._open()
        except DEVICE_FAULTS as exc:
            self._mark_faulted(exc)
        self._worker = asyncio.create_task(self._serve(), name="device-worker")

    async def close(self) -> None:
        """Stop serving: queued calls fail, the backend is closed, the thread ends."""
        self.state = "closed"
        if self.current_hold is not None:
            self.release(self.current_hold)
        for task in (self._worker, self._reconnector):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._fail_queued(DeviceUnavailable("the server is shutting down"))
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(self._executor, self.backend.close), 5)
        except Exception as exc:  # closing a broken port must not stop the shutdown
            log.warning("closing the instrument failed: %s", exc)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def drain(self, message: str, timeout: float) -> None:
        """Stop taking calls: fail the queued ones (and every new one) with
        DeviceUnavailable(``message``) and let the batch running on the device thread finish,
        ``timeout`` seconds at most (a device agent's shutdown). :meth:`close` still closes."""
        self._refusal = message
        deadline = time.monotonic() + timeout
        while True:
            self._fail_queued(DeviceUnavailable(message))
            if not self._running or time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.01)

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        self.state = "connecting"
        lab = await asyncio.wait_for(
            loop.run_in_executor(self._executor, self._open_on_device), self.limits.run_timeout
        )
        self._lab = lab
        version = getattr(lab, "firmware", None)
        parts = [getattr(version, k, None) for k in ("major", "minor", "patch")]
        self.firmware = ".".join(map(str, parts)) if None not in parts else None
        self.state, self.fault = "connected", None
        log.info("instrument connected: %s (firmware %s)", self.backend.describe(), self.firmware)

    def _open_on_device(self) -> Any:
        """On the device thread: connect, then set the bench's outputs (all of them)."""
        self._device_outputs = None
        lab = self.backend.open()
        self._switch(lab, self.contexts.bench)
        return lab

    # ------------------------------------------------------------------ calls

    async def call(
        self,
        user: str,
        fn: Callable[[Any], T],
        *,
        label: str = "",
        timeout: float | None = None,
        share_key: str | None = None,
        context: bool = True,
        cost: Cost = DEFAULT_COST,
    ) -> T:
        """Run ``fn(sciencelab)`` on the device thread on behalf of ``user``.

        The device is in ``user``'s context when ``fn`` runs (``context=False``: in
        whatever context it is; ``fn`` then switches itself, see :meth:`call_in_contexts`).

        ``share_key``: calls with the same key are the same reading; those waiting when
        one of them is taken are answered by its run, and share its (unmutated) result,
        if their callers' contexts are equal when it runs (else they run on their own).
        ``cost``: the device time the call is expected to take (its place in the fair
        queue; ``user`` is charged what it really took). ``fn`` may return steps (see
        the module's doc); with ``cost.sliced`` they run a slice at a time.

        Raises DeviceBusy (queue full), DeviceUnavailable (faulted, closed, or the
        device failed during the call), DeviceTimeout (waited + ran too long), or
        the exception ``fn`` raised for a non-device reason.
        """
        self._check_available()
        job = new_job(user, self._in_context(user, fn) if context else fn, label, share_key, cost)
        self.queue.put(job)
        if not cost.engine:
            self._arrivals += 1
        return await wait_for_job(job, timeout or self.limits.call_timeout)

    async def call_in_contexts(
        self,
        user: str,
        users: Sequence[str],
        fn: Callable[[Any], T],
        *,
        label: str = "",
        timeout: float | None = None,
        cost: Cost = DEFAULT_COST,
    ) -> list[tuple[tuple[str, ...], T]]:
        """Run ``fn`` once per distinct context among ``users`` (queued as ``user``).

        Shared work (a stream's capture for all its subscribers) is shared only between
        users whose contexts are equal when it runs: ``[(users, result), ...]``, one
        entry per distinct context, decided on the device thread at run time.
        """

        def per_context(lab: Any) -> list[tuple[tuple[str, ...], T]]:
            groups: dict[str, list[str]] = {}
            for member in users:
                groups.setdefault(self.contexts.outputs(member).fingerprint, []).append(member)
            results = []
            for members in groups.values():
                for member in members:
                    self.contexts.touch(member)
                self._switch(lab, self.contexts.outputs(members[0]))
                result: Any = fn(lab)
                if isinstance(result, types.GeneratorType):
                    # A wait in steps runs whole here: one per context, none sliced (the
                    # next context's switch must not fall between a wait's slices).
                    result = _drain(result)
                results.append((tuple(members), result))
            return results

        whole = dataclasses.replace(cost, sliced=False)
        return await self.call(
            user, per_context, label=label, timeout=timeout, context=False, cost=whole
        )

    def _same_outputs(self, holder: Job[Any], job: Job[Any]) -> bool:
        return self.contexts.outputs(holder.user) == self.contexts.outputs(job.user)

    def _in_context(self, user: str, fn: Callable[[Any], T]) -> Callable[[Any], T]:
        def run(lab: Any) -> T:
            self.contexts.touch(user)
            self._switch(lab, self.contexts.outputs(user))
            with calling_as(user):  # whose count the pulse counter's bindings serve
                return fn(lab)

        return run

    # ------------------------------------------------------------------ holds

    async def hold(self, user: str, seconds: float) -> Hold:
        """Hold the device for ``user`` for ``seconds`` at most; returns the hold.

        Waits while another user holds it (in turn, first come first served) or while
        another user's wait for edges keeps the capture engine (a hold never splits one).
        Cancelling the wait gives up the turn. The caller must :meth:`release` the hold;
        it also ends by itself when its time is up. Limits are the caller's business.
        """
        self._check_available()
        loop = asyncio.get_running_loop()
        woken = False  # our turn came: go ahead of those still waiting
        try:
            while True:
                if self.current_hold is None and (woken or not self._hold_waiters):
                    if not self._engine_busy_for(user):
                        break
                    await asyncio.sleep(_ENGINE_POLL_SECONDS)
                    continue
                waiter: asyncio.Future[None] = loop.create_future()
                self._hold_waiters.append(waiter)
                try:
                    await waiter
                finally:
                    self._hold_waiters.remove(waiter)
                woken = True
        except BaseException:
            self._wake_hold_waiter()  # pass on a turn given to us meanwhile
            raise
        now = time.monotonic()
        hold = Hold(user, seconds, now, now + seconds)
        hold.timer = loop.call_later(seconds, self.release, hold)
        self.current_hold = hold
        self.queue.hold(user)
        self._hold_changed()
        log.debug("user %s holds the device for %.3g s", user, seconds)
        return hold

    def _engine_busy_for(self, user: str) -> bool:
        """Whether another user's wait for edges keeps the capture engine (between its
        slices, or running one on the device thread now)."""
        engine = self.queue.engine_user()
        if engine is not None and engine != user:
            return True
        return any(
            job.cost.sliced and job.cost.engine and job.user != user for job in self._running
        )

    def release(self, hold: Hold) -> None:
        """End ``hold`` (released, expired or its run ended); idempotent."""
        if self.current_hold is not hold:
            return
        if hold.timer is not None:
            hold.timer.cancel()
        self.current_hold = None
        self.queue.release(time.monotonic() - hold.started)
        self._hold_changed()
        self._wake_hold_waiter()

    def holder(self) -> str | None:
        """The user holding the device now, if any."""
        hold = self.current_hold
        return None if hold is None else hold.user

    def hold_changed(self) -> asyncio.Future[None]:
        """A future settled at the next change of hold (one begins or ends)."""
        future = self._hold_change
        if future is None or future.done():
            future = self._hold_change = asyncio.get_running_loop().create_future()
        return future

    def hold_status(self, user: str | None) -> dict[str, Any] | None:
        """The hold in force as ``user`` may see it (another holder is not named)."""
        hold = self.current_hold
        if hold is None:
            return None
        return {
            "by": "you" if hold.user == user else "another user",
            "seconds_left": round(hold.left(), 3),
            "waiting": len(self._hold_waiters),
        }

    def _hold_changed(self) -> None:
        future, self._hold_change = self._hold_change, None
        if future is not None and not future.done():
            future.set_result(None)

    def _wake_hold_waiter(self) -> None:
        if self.current_hold is not None:
            return
        for waiter in self._hold_waiters:
            if waiter.done():
                return  # already woken: its owner takes the hold next
            waiter.set_result(None)
            return

    # ------------------------------------------------------------------ contexts

    def _switch(self, lab: Any, target: Outputs) -> None:
        """On the device thread: bring the device's outputs to ``target`` (differences only)."""
        current = self._device_outputs
        if target is current:
            return
        start = time.perf_counter()
        try:
            changed = switch.apply(lab, target, current)
        except BaseException:
            self._device_outputs = None  # half sent: send everything next time
            raise
        self._device_outputs = target
        if changed:
            self._wait_settled(changed)
            self.switches += 1
            self.switch_seconds += time.perf_counter() - start

    def _wait_settled(self, changed: Sequence[str]) -> None:
        if not self.backend.settles:
            return
        wait = max(self._settle_seconds[kind] for kind in kinds_of(list(changed)))
        if wait > 0:
            time.sleep(wait)

    def record(self, user: str, changes: Mapping[str, Value]) -> tuple[str, ...]:
        """On the device thread, after ``user``'s call set ``changes``: keep them in the
        user's context (the device now has them) and wait for them to settle.

        Returns the outputs whose value changed.
        """
        before, after = self.contexts.record(user, changes)
        if self._device_outputs == before:
            self._device_outputs = after
        else:  # the call ran outside the user's context: the device's state is unknown
            self._device_outputs = None
        changed = after.diff(before)
        if changed:
            self._wait_settled(changed)
        return changed

    def forget_device_outputs(self) -> None:
        """On the device thread: a call failed half-way; send every output next time."""
        self._device_outputs = None

    def reset_context(self, user: str) -> Outputs:
        """``user``'s outputs back to the bench (sent to the device before their next call)."""
        return self.contexts.reset(user)

    def set_bench(self, bench: Outputs) -> None:
        """A new bench: every user who did not set an output themselves gets the bench's."""
        self.contexts.set_bench(bench)

    def _expire_contexts(self) -> None:
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + min(60.0, self.contexts.idle_seconds / 4)
            for user in self.contexts.expire():
                log.debug("context of user %s expired", user)

    def _check_available(self) -> None:
        if self._refusal is not None:
            raise DeviceUnavailable(self._refusal)
        if self.state == "closed":
            raise DeviceUnavailable("the server is shutting down")
        if self.state == "faulted":
            raise DeviceUnavailable(f"{self.fault}; reconnecting", details={"state": self.state})

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.queue.wait()
            self._expire_contexts()
            batch = self._take_batch()
            if not batch:
                continue
            if self.state != "connected":
                for job in batch:
                    job.steps = None
                    self.queue.settle(job, 0.0)
                    _settle(job, DeviceUnavailable(f"{self.fault}; reconnecting"))
                continue
            self._running = batch
            self.batches += 1
            try:
                done: asyncio.Future[BaseException | None] = loop.create_future()
                self._executor.submit(self._run_batch, loop, batch, self._lab, done)
                # A timer on a plain future (cheaper than asyncio.wait): neither the timeout
                # nor this task's cancellation (at shutdown) touches the batch the device
                # thread is running; the thread's late answer finds ``done`` settled.
                timer = loop.call_later(self.limits.run_timeout, _settle_done, done, _HUNG)
                try:
                    fault = await done
                finally:
                    timer.cancel()
                if fault is _HUNG:
                    # The device thread is stuck in a read: give up on it, use a fresh thread.
                    self._executor.shutdown(wait=False, cancel_futures=True)
                    self._executor = self._new_executor()
                if fault is not None:
                    self._fault(batch, fault)
            finally:
                self._running = []

    def _take_batch(self) -> list[Job[Any]]:
        """Live jobs in the queue's order, up to ``batch_max`` or one quantum of device time.

        The device time a job will take is its expected time corrected by the pace of its
        function's recent calls (:meth:`_learn_pace`): estimates are a PSLab's on its serial
        link, and a backend that answers faster (the emulator) would otherwise get batches
        of one call where a quantum holds several. Charging is not affected.

        A shared reading takes every identical job still queued along as its followers:
        one measurement answers all of them, and they leave the queue early. A sliced wait
        ends its batch: what runs between its slices is the queue's choice. A sliced wait
        whose callers left still goes to the thread, which stops it there.
        """
        batch: list[Job[Any]] = []
        expected = 0.0
        pace = self._pace
        while len(batch) < self.limits.batch_max and expected < self.queue.quantum:
            job = self.queue.pop()
            if job is None:
                break
            if job.key is not None and job.steps is None:
                job.followers = self.queue.take_matching(job.key)
            if not job.wanted() and job.steps is None:
                self.queue.settle(job, 0.0)  # every caller went away or timed out: drop it
                continue
            batch.append(job)
            expected += job.cost.seconds * pace.get(job.label, 1.0)
            if job.cost.sliced:
                break
        return batch

    def _learn_pace(self, job: Job[Any], seconds: float) -> None:
        """On the loop: ``job`` (run whole) took ``seconds``; update its function's pace."""
        estimate = job.cost.seconds
        if estimate <= 0:
            return
        ratio = min(max(seconds / estimate, _PACE_MIN), _PACE_MAX)
        pace = self._pace
        old = pace.get(job.label)
        if old is None and len(pace) >= _PACE_LABELS:
            pace.clear()  # labels are function names: this only bounds a misuse
        pace[job.label] = ratio if old is None else old + _PACE_WEIGHT * (ratio - old)

    def _run_batch(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[Job[Any]],
        lab: Any,
        done: asyncio.Future[BaseException | None],
    ) -> None:
        """On the device thread: run the jobs in order, hand each outcome to the loop.

        Handing a batch to the thread at once saves a thread switch per call (the GIL
        passes between the loop and this thread once per batch, not once per call).
        Each outcome goes to the loop as soon as the next job starts; the last one travels
        with the end of the batch, so a batch costs the loop one wake-up per job, not one
        more. Every outcome carries the device time the job took, which its user is
        charged. ``done`` gets the device fault that stopped the batch, or None; the jobs
        not yet run are then failed by the loop with the rest of the queue.
        """
        last: tuple[Any, ...] | None = None
        fault: BaseException | None = None
        pending = collections.deque(batch)
        try:
            while pending:
                job = pending.popleft()
                if job.followers and job.steps is None and job.wanted():
                    # A shared reading answers only callers whose context is the same as
                    # its own now; the others run on their own, right after it.
                    apart = self._apart(job)
                    pending.extendleft(reversed(apart))
                    batch.extend(apart)  # settled with the batch if the device faults
                if last is not None:
                    loop.call_soon_threadsafe(*last)
                    last = None
                start = time.perf_counter()
                try:
                    if not job.wanted():  # plain reads of the futures' states
                        if job.steps is not None:  # a wait whose callers left: stop it here
                            steps, job.steps = job.steps, None
                            steps.close()
                        last = (self._finish, job, time.perf_counter() - start, _DROPPED)
                        continue
                    result = self._step(job, lab, start)
                except DEVICE_FAULTS as exc:
                    job.steps = None
                    fault = exc
                    break
                except Exception as exc:
                    job.steps = None
                    last = (self._finish, job, time.perf_counter() - start, _Failed(exc))
                else:
                    last = (self._finish, job, time.perf_counter() - start, result)
        finally:
            loop.call_soon_threadsafe(_end_batch, done, last, fault)

    def _apart(self, job: Job[Any]) -> list[Job[Any]]:
        """Take from ``job`` the followers whose caller's context differs from its caller's.

        Returns them as new shared readings, one per distinct context (the first of each
        leads, the others follow it), to run right after ``job``.
        """
        mine = self.contexts.outputs(job.user)
        leaders: dict[str, Job[Any]] = {}
        kept: list[Job[Any]] = []
        for follower in job.followers:
            theirs = self.contexts.outputs(follower.user)
            if theirs == mine:
                kept.append(follower)
            elif theirs.fingerprint in leaders:
                leaders[theirs.fingerprint].followers.append(follower)
            else:
                leaders[theirs.fingerprint] = follower
        if leaders:
            job.followers = kept
        return list(leaders.values())

    def _step(self, job: Job[Any], lab: Any, start: float) -> Any:
        """Run ``job`` (or its next slice); its result, or ``_MORE`` when it is not over.

        A slice lasts ``slice_ms`` at most, and ends at the wait's next step (a few ms)
        when a call that does not need the capture engine was queued meanwhile: that call
        then waits for one step, not for the rest of the slice.
        """
        steps = job.steps
        if steps is not None:
            # The next slice of a wait: back in its caller's context. Between its slices
            # only calls of callers with the same outputs ran (FairQueue.compatible), so
            # this sends nothing unless the bench changed meanwhile.
            self._switch(lab, self.contexts.outputs(job.user))
        else:
            result = job.fn(lab)
            if not isinstance(result, types.GeneratorType):
                return result
            steps = result
        job.steps = None
        end = start + self.limits.slice_ms / 1000
        arrivals = self._arrivals
        try:
            while True:
                left = steps.send(None)
                # A slice ends after slice_ms, or as soon as a call that may run arrived.
                if job.cost.sliced and (time.perf_counter() >= end or self._arrivals != arrivals):
                    # The next slice, or the rest when shorter, is what it costs next time.
                    job.cost = dataclasses.replace(
                        job.cost, seconds=min(max(left, 0.0), self.limits.slice_ms / 1000)
                    )
                    job.steps = steps
                    return _MORE
        except StopIteration as stop:
            return stop.value

    def _finish(self, job: Job[Any], seconds: float, outcome: Any) -> None:
        """On the loop: charge the device time, then answer (or requeue a continuation)."""
        if job not in self._running:
            return  # the late answer of a batch given up on (hung): the queue has moved on
        if outcome is _MORE or outcome is _DROPPED:
            self.queue.settle(job, seconds, more=outcome is _MORE)
            return
        if isinstance(outcome, _Failed):
            self.queue.settle(job, seconds)
            self._settle_error(job, outcome.error)
            return
        if not job.cost.sliced:  # a sliced wait's cost is its last slice's by now
            self._learn_pace(job, seconds)
        self.queue.settle(job, seconds)
        self._deliver(job, outcome)

    def _deliver(self, job: Job[Any], result: Any) -> None:
        for future in job.futures():
            self.calls_served += 1
            if not future.done():
                future.set_result(result)

    def _settle_error(self, job: Job[Any], exc: Exception) -> None:
        if isinstance(exc, RemotelabError):
            _settle(job, exc)
        elif isinstance(exc, ValueError | TypeError):
            # pslab refused the arguments (a limit the registry did not know).
            _settle(job, InputError(f"{job.label or 'the call'}: {exc}"))
        else:  # a bug in a binding: report it, keep serving
            log.error("instrument call %s failed", job.label, exc_info=exc)
            _settle(job, InputError(f"{job.label or 'the call'} failed: {exc}"))

    def _fault(self, batch: list[Job[Any]], exc: BaseException) -> None:
        message = self._mark_faulted(exc)
        for job in batch:  # those already answered keep their answers
            job.steps = None  # a wait in progress is left to the dead handle
            _settle(job, DeviceUnavailable(message))
        self._fail_queued(DeviceUnavailable(f"{message}; reconnecting"))

    def _mark_faulted(self, exc: BaseException) -> str:
        message = describe_fault(exc)
        log.error("instrument faulted: %s", message)
        self.state, self.fault, self._lab = "faulted", message, None
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = asyncio.create_task(self._reconnect(), name="device-reconnect")
        return message

    def _fail_queued(self, error: RemotelabError) -> None:
        for job in self.queue.drain():
            _settle(job, error)

    async def _reconnect(self) -> None:
        delay = self.limits.reconnect_initial
        loop = asyncio.get_running_loop()
        while self.state == "faulted":
            await asyncio.sleep(delay)
            try:
                await loop.run_in_executor(self._executor, self.backend.close)
            except Exception as exc:  # the old handle may be dead already; that is fine
                log.debug("closing the faulted handle: %s", exc)
            try:
                await self._open()
            except DEVICE_FAULTS as exc:  # TimeoutError included
                self.state, self.fault = "faulted", describe_fault(exc)
                log.warning("reconnect failed (next try in %.1f s): %s", delay, self.fault)
                delay = min(delay * 2, self.limits.reconnect_max)

    # ------------------------------------------------------------------ status

    def status(self, user: str | None = None) -> dict[str, Any]:
        """JSON-safe state for ``GET /v1/device``."""
        info = self.backend.info()
        running = any(job.wanted() for job in self._running)
        return {
            **info,
            "state": self.state,
            "connected": self.state == "connected",
            "faulted": self.state == "faulted",
            "fault": self.fault,
            "firmware": self.firmware,
            "queue": {
                "length": len(self.queue),
                "running": running,
                "max": self.limits.queue_max,
                "your_position": self.queue.position(user) if user is not None else None,
            },
            "calls_served": self.calls_served,
            "hold": self.hold_status(user),
            "switches": {
                "count": self.switches,
                "mean_ms": round(1000 * self.switch_seconds / self.switches, 3)
                if self.switches
                else None,
            },
            "checked_at": time.time(),
        }

    def context_status(self, user: str) -> dict[str, Any]:
        """JSON-safe view of ``user``'s context: their outputs and where they differ."""
        outputs = self.contexts.outputs(user)
        bench = self.contexts.bench
        return {
            "outputs": outputs.to_json(),
            "differs_from_bench": list(outputs.diff(bench)),
            "fingerprint": outputs.fingerprint,
            "expires_in": self.contexts.expires_in(user),
        }


#: Bounds of a function's pace (real device time / expected), how much one call moves it,
#: and how many labels are remembered at most.
_PACE_MIN = 0.01
_PACE_MAX = 10.0
_PACE_WEIGHT = 0.2
_PACE_LABELS = 1024

#: What ``done`` holds when a batch outlived the run timeout.
_HUNG = TimeoutError("no answer within the run timeout")


def _drain(steps: Any) -> Any:
    """Run a wait in steps to its end, on the device thread; its result."""
    try:
        while True:
            steps.send(None)
    except StopIteration as stop:
        return stop.value


#: The outcome of a sliced job that is not over (it goes back to the queue).
_MORE = object()
#: The outcome of a job nobody waited for any more (not run, or its wait stopped).
_DROPPED = object()


class _Failed:
    """The outcome of a job that raised (not a device fault)."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _settle_done(done: asyncio.Future[BaseException | None], value: BaseException | None) -> None:
    if not done.done():
        done.set_result(value)


def _end_batch(
    done: asyncio.Future[BaseException | None],
    last: tuple[Any, ...] | None,
    fault: BaseException | None,
) -> None:
    if last is not None:
        callback, *args = last
        callback(*args)
    _settle_done(done, fault)


def _settle(job: Job[Any], error: BaseException) -> None:
    for future in job.futures():
        if not future.done():
            future.set_exception(error)
