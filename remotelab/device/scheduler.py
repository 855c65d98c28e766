"""The fair queue in front of the instrument: users share it by device time.

Every instrument call — HTTP function strings, sandboxed scripts, streams — is a
:class:`Job` queued here on behalf of a user. Jobs are served by *deficit round robin*
(DRR) between users, weighted by device time, not by call count: each round, every user
with calls waiting gains one quantum (``REMOTELAB_DEVICE_QUANTUM_MS``) of credit, and a
user's next call runs when its expected duration (:class:`Cost`) fits the credit. A call
is charged its expected duration when it is taken, then corrected by what it really took
on the device thread (:meth:`FairQueue.settle`), so a user whose calls last long gets
fewer of them, and a badly estimated call is paid in full. Within one user, calls keep
their order. A call longer than any quantum still runs: its user's credit grows round
after round, and when nobody else is waiting the rounds are skipped at once.

Credit is not banked: a user whose queue empties loses what is left (standard DRR). Debt
is kept — a call that overran its estimate is charged even when its user has nothing
queued any more — and fades at the pace of real time while the user is away (who
overran by 300 ms and comes back 300 ms later owes nothing).

A long wait for edges (``get_freq`` with a timeout, a logic capture) runs in slices
(:class:`~remotelab.device.owner.DeviceOwner`): after each slice it comes back here as a
continuation at the head of its user's queue (:meth:`FairQueue.settle` with ``more``) and
takes its turn again, while the capture engine it armed stays reserved for it: other
calls that use the engine (``Cost.engine``) wait until it ends (ADR 0011).

Bounds (all settings): the total queue length and the queue per user
(:class:`~remotelab.errors.DeviceBusy`, 429), the time a call may wait plus run
(:class:`~remotelab.errors.DeviceTimeout`). A caller that goes away (its task is
cancelled, its request closed) leaves a cancelled future behind, and the worker
drops the job without touching the device.

Jobs may carry a key: identical shared readings (same key) still queued when one of
them is taken leave the queue with it and share its outcome (:meth:`FairQueue.take_matching`);
the device time of that one run is split between the users it answered.

A user may *hold* the device for a bounded time (a script's ``with hold(s):``, ADR 0012):
meanwhile only the holder's jobs are taken (:attr:`FairQueue.holder`), the others wait in
their queues, and at its end the holder is charged the hold's whole time as device time
(:meth:`FairQueue.release`): what their calls took, plus the time the device sat held.

This module is pure asyncio bookkeeping; running a job is the owner's business
(:class:`~remotelab.device.owner.DeviceOwner`).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from remotelab.config import DeviceSettings
from remotelab.errors import DeviceBusy, DeviceTimeout

T = TypeVar("T")

_ids = itertools.count(1)


@dataclass(frozen=True)
class Cost:
    """What a call is expected to take from the device, known before it runs."""

    #: Expected device time in seconds (docs/reference/device.md says how it is estimated).
    seconds: float = 0.001
    #: Uses the capture engine (sample buffer, logic analyzer, pulse counter): waits while
    #: another user's sliced wait holds it.
    engine: bool = False
    #: Waits in slices: between them the device serves others (the job ends its batch).
    sliced: bool = False


#: A call nobody estimated (an owner call without a cost): about one short exchange.
DEFAULT_COST = Cost()


@dataclass(eq=False)
class Job(Generic[T]):
    user: str
    fn: Callable[[Any], T]
    label: str
    future: asyncio.Future[T]
    enqueued: float
    #: Jobs with the same key (not None) are the same reading: one run answers them all.
    key: str | None = None
    cost: Cost = DEFAULT_COST
    #: Identical jobs taken out of the queue to share this one's outcome.
    followers: list[Job[T]] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))
    #: Seconds charged to ``user`` when the job was last taken (corrected by ``settle``).
    charged: float = 0.0
    #: A sliced wait in progress (set on the device thread): the continuation's steps.
    steps: Generator[float, None, Any] | None = None

    def futures(self) -> list[asyncio.Future[T]]:
        """The futures this job's outcome settles: its own, then its followers'."""
        return [self.future, *(f.future for f in self.followers)]

    def wanted(self) -> bool:
        """Whether anyone still waits for this job's outcome."""
        return not self.future.done() or any(not f.future.done() for f in self.followers)

    def users(self) -> list[str]:
        """The distinct users this job answers: its own first, then its followers'."""
        return list(dict.fromkeys([self.user, *(f.user for f in self.followers)]))


class _Rounds:
    """Deficit round robin over per-user FIFO queues (pure state, copied for positions).

    ``queues`` holds the *active* users (with calls waiting) in round order; the first one
    is the user whose turn it is, and ``turn`` says whether it has had its quantum for this
    turn. ``credit`` holds active users' deficits; inactive users appear only with a debt
    (a negative number).
    """

    def __init__(self, quantum: float) -> None:
        self.quantum = quantum
        self.queues: OrderedDict[str, deque[Job[Any]]] = OrderedDict()
        self.credit: dict[str, float] = {}
        self.turn = False

    def copy(self) -> _Rounds:
        other = _Rounds(self.quantum)
        other.queues = OrderedDict((u, deque(q)) for u, q in self.queues.items())
        other.credit = dict(self.credit)
        other.turn = self.turn
        return other

    def activate(self, user: str, debt: float) -> deque[Job[Any]]:
        """A new queue for ``user`` at the end of the round, starting with ``-debt``."""
        queue = self.queues[user] = deque()
        self.credit[user] = -debt
        return queue

    def deactivate(self, user: str) -> float:
        """Remove ``user`` (its queue is empty); returns its debt (0 when in credit)."""
        first = next(iter(self.queues)) == user
        del self.queues[user]
        if first:
            self.turn = False
        return max(0.0, -self.credit.pop(user, 0.0))

    def next(self, eligible: Callable[[Job[Any]], bool]) -> Job[Any] | None:
        """Take the next job in DRR order, or None when every waiting job is blocked.

        Its expected cost is taken from its user's credit.
        """
        passed = 0  # users passed over in a row: once all of them, a round served nobody
        while self.queues:
            user, queue = next(iter(self.queues.items()))
            job = queue[0]
            if eligible(job):
                if not self.turn:
                    self.credit[user] += self.quantum
                    self.turn = True
                if job.cost.seconds <= self.credit[user]:
                    queue.popleft()
                    self.credit[user] -= job.cost.seconds
                    if not queue:
                        self.deactivate(user)  # DRR: credit left is not banked
                    return job
            # Short of credit, or blocked (the engine is reserved: no credit meanwhile).
            self.queues.move_to_end(user)
            self.turn = False
            passed += 1
            if passed >= len(self.queues):
                if not any(eligible(q[0]) for q in self.queues.values()):
                    return None
                self._skip_rounds(eligible)
                passed = 0
        return None

    def _skip_rounds(self, eligible: Callable[[Job[Any]], bool]) -> None:
        """A whole round served nobody: grant at once the rounds in which nobody would be.

        Every eligible user gets ``k`` quanta, where ``k + 1`` rounds are what the closest
        one needs; the next round then serves the same user plain DRR would have.
        """
        quantum = self.quantum
        rounds = min(
            (
                math.ceil((q[0].cost.seconds - self.credit[u]) / quantum)
                for u, q in self.queues.items()
                if eligible(q[0])
            ),
            default=1,
        )
        if rounds > 1:
            for user, queue in self.queues.items():
                if eligible(queue[0]):
                    self.credit[user] += (rounds - 1) * quantum


class FairQueue:
    """Per-user FIFO queues served by deficit round robin on device time.

    Not thread-safe: one event loop. ``clock`` (seconds, monotonic) is for the debt that
    fades while a user is away; tests may pass their own.
    """

    def __init__(
        self, limits: DeviceSettings, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._rounds = _Rounds(limits.quantum_ms / 1000)
        #: Debts of users with nothing queued: (seconds owed, since when).
        self._debts: dict[str, tuple[float, float]] = {}
        self._size = 0
        self._ready = asyncio.Event()
        #: The sliced job that holds the capture engine between its slices.
        self._engine: Job[Any] | None = None
        #: Whether ``job`` may run between two slices of ``holder``'s wait (besides not
        #: needing the capture engine). The device owner allows only callers with the same
        #: outputs as the holder's: a context switch in between would change the signal
        #: the wait is timing.
        self.compatible: Callable[[Job[Any], Job[Any]], bool] = lambda holder, job: True
        #: The user who holds the device (``with hold(s):`` in a script): only their jobs
        #: are taken meanwhile; the others wait in their queues (ADR 0012).
        self.holder: str | None = None
        #: Device time charged to the holder by their calls since the hold began.
        self._hold_charged = 0.0

    def __len__(self) -> int:
        return self._size

    @property
    def quantum(self) -> float:
        """Seconds of device time a user is granted per round."""
        return self._rounds.quantum

    def balance(self, user: str) -> float:
        """``user``'s credit in seconds of device time; negative: a debt (status, tests)."""
        if user in self._rounds.queues:
            return self._rounds.credit[user]
        entry = self._debts.get(user)
        return 0.0 if entry is None else -max(0.0, entry[0] - (self._clock() - entry[1]))

    def engine_user(self) -> str | None:
        """The user whose sliced wait holds the capture engine between slices, if any."""
        return None if self._engine is None else self._engine.user

    def hold(self, user: str) -> None:
        """From now on only ``user``'s jobs are taken (until :meth:`release`)."""
        self.holder = user
        self._hold_charged = 0.0

    def release(self, held_seconds: float) -> None:
        """End the hold; its holder is charged ``held_seconds`` of device time in all (what
        their calls were charged meanwhile, plus the rest of the time they held it)."""
        holder = self.holder
        if holder is None:
            return
        self.holder = None
        rest = held_seconds - self._hold_charged
        if rest > 0:
            self._charge(holder, rest)
        if self._size:
            self._ready.set()  # the others' calls may go

    def put(self, job: Job[Any]) -> None:
        """Queue ``job``. Raises DeviceBusy when a bound is reached."""
        if self._size >= self.limits.queue_max:
            raise DeviceBusy(
                f"the instrument queue is full ({self.limits.queue_max} calls); try again shortly"
            )
        queue = self._rounds.queues.get(job.user)
        if queue is not None and len(queue) >= self.limits.queue_per_user:
            raise DeviceBusy(
                f"you already have {self.limits.queue_per_user} instrument calls waiting"
            )
        self._queue_of(job.user).append(job)
        self._size += 1
        self._ready.set()

    def pop(self) -> Job[Any] | None:
        """The next job in DRR order (its expected cost charged), or None.

        None when nothing is queued, or when every queued job waits for the capture
        engine that a sliced wait holds (it comes back with :meth:`settle`).
        """
        job = self._rounds.next(self._eligible)
        if job is None:
            self._ready.clear()
            return None
        job.charged = job.cost.seconds
        self._size -= 1
        if not self._size:
            self._ready.clear()
        return job

    def settle(self, job: Job[Any], seconds: float, *, more: bool = False) -> None:
        """``job`` ran for ``seconds`` on the device: charge that instead of its estimate.

        The time is split evenly between the distinct users the run answered (a shared
        reading's followers pay their part). ``more``: ``job`` is a sliced wait that is not
        over; it goes back to the head of its user's queue, keeps the capture engine when it
        uses it, and is charged ``job.cost`` (its next slice) when taken again.
        A job taken but never run (its caller left) is settled with 0 seconds: a refund.
        """
        if job.followers:
            users = job.users()
            share = seconds / len(users)
            for user in users:
                self._charge(user, share - (job.charged if user == job.user else 0.0))
                if user == self.holder:
                    self._hold_charged += share
        else:  # one caller (the common case): no list of users to build
            self._charge(job.user, seconds - job.charged)
            if job.user == self.holder:
                self._hold_charged += seconds
        job.charged = 0.0
        if more:
            self._queue_of(job.user).appendleft(job)
            self._size += 1
            if job.cost.engine:
                self._engine = job
            self._ready.set()
            return
        if self._engine is job:
            self._engine = None
            if self._size:
                self._ready.set()  # calls that waited for the engine may go

    async def wait(self) -> None:
        await self._ready.wait()

    def take_matching(self, key: str) -> list[Job[Any]]:
        """Remove and return the queued jobs whose key is ``key`` (shared readings).

        Only a job at the head of its user's queue is taken: a user's reading never
        jumps ahead of that user's earlier calls (which may set what it reads).
        """
        taken: list[Job[Any]] = []
        for user, queue in list(self._rounds.queues.items()):
            head = queue[0]
            if head.key != key or head.steps is not None:
                continue
            if self.holder is not None and user != self.holder:
                continue
            taken.append(queue.popleft())
            if not queue:
                self._remember_debt(user, self._rounds.deactivate(user))
        self._size -= len(taken)
        if not self._size:
            self._ready.clear()
        return taken

    def drain(self) -> list[Job[Any]]:
        """Remove and return every queued job (used when the device faults).

        The rounds start afresh: credit, debts and the engine's reservation are forgotten.
        """
        jobs = [job for queue in self._rounds.queues.values() for job in queue]
        self._rounds = _Rounds(self._rounds.quantum)
        self._debts.clear()
        self._engine = None
        self._size = 0
        self._ready.clear()
        return jobs

    def position(self, user: str) -> int | None:
        """1-based place of ``user``'s next call in service order, None if none queued.

        Plays the rounds forward on a copy, with every call costing its estimate; calls that
        wait for the capture engine are counted as if it were free.
        """
        if user not in self._rounds.queues:
            return None
        for place, job in enumerate(self._order(), start=1):
            if job.user == user:
                return place
        return None  # pragma: no cover - every queued job comes out of the order

    def _order(self) -> Iterator[Job[Any]]:
        rounds = self._rounds.copy()
        while (job := rounds.next(lambda job: True)) is not None:
            yield job

    # ------------------------------------------------------------------ internals

    def _eligible(self, job: Job[Any]) -> bool:
        if self.holder is not None and job.user != self.holder:
            return False
        holder = self._engine
        if holder is None or holder is job:
            return True
        return not job.cost.engine and self.compatible(holder, job)

    def _queue_of(self, user: str) -> deque[Job[Any]]:
        queue = self._rounds.queues.get(user)
        if queue is None:
            queue = self._rounds.activate(user, self._debt(user) if self._debts else 0.0)
        return queue

    def _charge(self, user: str, seconds: float) -> None:
        credit = self._rounds.credit
        if user in self._rounds.queues:
            credit[user] -= seconds
            return
        if seconds <= 0 and user not in self._debts:
            return  # a refund to a user with nothing queued and no debt: credit is not banked
        owed = self._debt(user) + seconds  # nothing queued: only a debt is remembered
        self._remember_debt(user, owed)

    def _debt(self, user: str) -> float:
        """What ``user`` (with nothing queued) still owes, faded by the time since."""
        entry = self._debts.pop(user, None)
        if entry is None:
            return 0.0
        owed, since = entry
        return max(0.0, owed - (self._clock() - since))

    def _remember_debt(self, user: str, owed: float) -> None:
        if owed > 0:
            self._debts[user] = (owed, self._clock())
        if len(self._debts) > self.limits.queue_max:  # forget the faded ones
            now = self._clock()
            for name, (debt, since) in list(self._debts.items()):
                if debt <= now - since:
                    del self._debts[name]


def new_job(
    user: str,
    fn: Callable[[Any], T],
    label: str,
    key: str | None = None,
    cost: Cost = DEFAULT_COST,
) -> Job[T]:
    loop = asyncio.get_running_loop()
    return Job(
        user=user,
        fn=fn,
        label=label,
        future=loop.create_future(),
        enqueued=time.monotonic(),
        key=key,
        cost=cost,
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
