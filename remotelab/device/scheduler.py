"""The fair queue in front of the instrument.

Every instrument call — HTTP function strings, sandboxed scripts, streams —
is a :class:`Job` queued here on behalf of a user. One worker takes jobs in
round-robin order between users (not first come, first served), so a user who
queues a hundred calls delays another user's single call by at most one call.

Bounds (all settings): the total queue length and the queue per user
(:class:`~remotelab.errors.DeviceBusy`, 429), the time a call may wait plus run
(:class:`~remotelab.errors.DeviceTimeout`). A caller that goes away (its task is
cancelled, its request closed) leaves a cancelled future behind, and the worker
drops the job without touching the device.

Jobs may carry a key: identical shared readings (same key) still queued when one of
them is taken leave the queue with it and share its outcome (:meth:`FairQueue.take_matching`).

This module is pure asyncio bookkeeping; running a job is the owner's business
(:class:`~remotelab.device.owner.DeviceOwner`).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from remotelab.config import DeviceSettings
from remotelab.errors import DeviceBusy, DeviceTimeout

T = TypeVar("T")

_ids = itertools.count(1)


@dataclass(eq=False)
class Job(Generic[T]):
    user: str
    fn: Callable[[Any], T]
    label: str
    future: asyncio.Future[T]
    enqueued: float
    #: Jobs with the same key (not None) are the same reading: one run answers them all.
    key: str | None = None
    #: Identical jobs taken out of the queue to share this one's outcome.
    followers: list[Job[T]] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))

    def futures(self) -> list[asyncio.Future[T]]:
        """The futures this job's outcome settles: its own, then its followers'."""
        return [self.future, *(f.future for f in self.followers)]

    def wanted(self) -> bool:
        """Whether anyone still waits for this job's outcome."""
        return not self.future.done() or any(not f.future.done() for f in self.followers)


class FairQueue:
    """Per-user FIFO queues served round robin. Not thread-safe: one event loop."""

    def __init__(self, limits: DeviceSettings) -> None:
        self.limits = limits
        self._queues: OrderedDict[str, deque[Job[Any]]] = OrderedDict()
        self._size = 0
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return self._size

    def put(self, job: Job[Any]) -> None:
        """Queue ``job``. Raises DeviceBusy when a bound is reached."""
        if self._size >= self.limits.queue_max:
            raise DeviceBusy(
                f"the instrument queue is full ({self.limits.queue_max} calls); try again shortly"
            )
        queue = self._queues.get(job.user)
        if queue is not None and len(queue) >= self.limits.queue_per_user:
            raise DeviceBusy(
                f"you already have {self.limits.queue_per_user} instrument calls waiting"
            )
        if queue is None:
            queue = self._queues[job.user] = deque()
        queue.append(job)
        self._size += 1
        self._ready.set()

    def pop(self) -> Job[Any] | None:
        """The next job in round-robin order, or None when empty."""
        while self._queues:
            user, queue = next(iter(self._queues.items()))
            job = queue.popleft()
            self._size -= 1
            if queue:
                self._queues.move_to_end(user)  # this user's next call waits for the others
            else:
                del self._queues[user]
            if not self._queues:
                self._ready.clear()
            return job
        self._ready.clear()
        return None

    async def wait(self) -> None:
        await self._ready.wait()

    def take_matching(self, key: str) -> list[Job[Any]]:
        """Remove and return the queued jobs whose key is ``key`` (shared readings).

        Only a job at the head of its user's queue is taken: a user's reading never
        jumps ahead of that user's earlier calls (which may set what it reads).
        """
        taken: list[Job[Any]] = []
        for user, queue in list(self._queues.items()):
            if queue[0].key != key:
                continue
            taken.append(queue.popleft())
            if not queue:
                del self._queues[user]
        self._size -= len(taken)
        if not self._queues:
            self._ready.clear()
        return taken

    def drain(self) -> list[Job[Any]]:
        """Remove and return every queued job (used when the device faults)."""
        jobs = [job for queue in self._queues.values() for job in queue]
        self._queues.clear()
        self._size = 0
        self._ready.clear()
        return jobs

    def position(self, user: str) -> int | None:
        """1-based place of ``user``'s next call in service order, None if none queued."""
        if user not in self._queues:
            return None
        # Round robin serves one call per user per round, in the current user order.
        place = 0
        for round_index in itertools.count():
            for name, queue in self._queues.items():
                if round_index < len(queue):
                    place += 1
                    if name == user:
                        return place
        return None  # pragma: no cover - the loop always returns


def new_job(user: str, fn: Callable[[Any], T], label: str, key: str | None = None) -> Job[T]:
    loop = asyncio.get_running_loop()
    return Job(
        user=user,
        fn=fn,
        label=label,
        future=loop.create_future(),
        enqueued=time.monotonic(),
        key=key,
    )


async def wait_for_job(job: Job[T], timeout: float) -> T:
    """Wait for ``job``'s result, at most ``timeout`` seconds.

    On timeout the job's future fails with DeviceTimeout; a caller that goes away
    cancels it. Either way the future is done, and the worker skips the job.
    (A timer and a plain await: cheaper than ``wait_for`` + ``shield`` per call.)
    """
    timer = asyncio.get_running_loop().call_later(timeout, _expire, job, timeout)
    try:
        return await job.future
    finally:
        timer.cancel()


def _expire(job: Job[Any], timeout: float) -> None:
    if not job.future.done():
        job.future.set_exception(
            DeviceTimeout(
                f"{job.label or 'the instrument call'} did not finish within {timeout:g} s"
            )
        )


class UserGate:
    """At most ``per_user`` requests of one user in progress; the rest wait their turn.

    The fair queue orders device time, but a user with many connections also eats the
    server's CPU (parsing, auth, encoding) before and after the device. Parking their extra
    requests here, before any of that work, keeps other users' latency flat. At most
    ``max_waiting`` requests of one user may wait; more get DeviceBusy (429).

    Entering under the limit costs a dict update, no await (this is on every request).
    """

    def __init__(self, per_user: int, max_waiting: int) -> None:
        self.per_user = per_user
        self.max_waiting = max_waiting
        self._users: dict[str, _UserTurns] = {}

    def enter(self, user: str) -> _Turn:
        """An async context manager holding one of ``user``'s places while inside."""
        return _Turn(self, user)

    def __len__(self) -> int:
        return len(self._users)


class _UserTurns:
    __slots__ = ("active", "waiting")

    def __init__(self) -> None:
        self.active = 0
        self.waiting: deque[asyncio.Future[None]] = deque()


class _Turn:
    __slots__ = ("gate", "user")

    def __init__(self, gate: UserGate, user: str) -> None:
        self.gate = gate
        self.user = user

    async def __aenter__(self) -> None:
        gate = self.gate
        turns = gate._users.get(self.user)
        if turns is None:
            turns = gate._users[self.user] = _UserTurns()
        if turns.active < gate.per_user and not turns.waiting:
            turns.active += 1
            return
        in_progress = turns.active + len(turns.waiting)
        if in_progress >= gate.per_user + gate.max_waiting:
            raise DeviceBusy(f"you already have {in_progress} requests in progress; slow down")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        turns.waiting.append(waiter)
        try:
            await waiter  # resolved by a leaving request, which hands over its place
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._leave(turns)  # the place was handed over already: pass it on
            else:
                turns.waiting.remove(waiter)
                self._forget_if_idle(turns)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._leave(self.gate._users[self.user])

    def _leave(self, turns: _UserTurns) -> None:
        while turns.waiting:
            waiter = turns.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place goes to the next waiter
                return
        turns.active -= 1
        self._forget_if_idle(turns)

    def _forget_if_idle(self, turns: _UserTurns) -> None:
        if turns.active == 0 and not turns.waiting:
            self.gate._users.pop(self.user, None)
