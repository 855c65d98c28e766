"""The fair queue: deficit round robin on device time, bounds, positions, the engine.

Pure bookkeeping, no device and no thread: jobs are taken with ``pop`` and their device
time reported with ``settle``, as the owner does.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from remotelab.config import DeviceSettings
from remotelab.device.scheduler import Cost, FairQueue, Job, new_job, wait_for_job
from remotelab.errors import DeviceBusy, DeviceTimeout

MS = 1e-3
QUANTUM_MS = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def fair_queue(clock: FakeClock | None = None, **limits: Any) -> FairQueue:
    settings = DeviceSettings(
        **{"quantum_ms": QUANTUM_MS, "queue_max": 2000, "queue_per_user": 1000, **limits}
    )
    return FairQueue(settings, clock=clock or FakeClock())


def job(user: str, label: str = "", ms: float = 1.0, **cost: Any) -> Job[Any]:
    return new_job(user, lambda lab: None, label or user, cost=Cost(ms * MS, **cost))


def jobs_for(queue: FairQueue, user: str, n: int, ms: float = 1.0) -> None:
    for i in range(n):
        queue.put(job(user, f"{user}{i}", ms))


def serve(queue: FairQueue, seconds: float, took: dict[str, float] | None = None) -> Counter[str]:
    """Take and 'run' jobs for ``seconds`` of device time; device time per user.

    ``took``: what a call of that user really takes (seconds), when not its estimate.
    """
    used: Counter[str] = Counter()
    clock = 0.0
    while clock < seconds and (taken := queue.pop()) is not None:
        actual = (took or {}).get(taken.user, taken.cost.seconds)
        queue.settle(taken, actual)
        used[taken.user] += actual
        clock += actual
    return used


async def test_users_share_the_device_by_time_not_by_calls() -> None:
    queue = fair_queue()
    jobs_for(queue, "long", 100, ms=20)
    jobs_for(queue, "short", 500, ms=1)
    used = serve(queue, 1.0)
    # Round robin by call count would give "long" 20 times as much; DRR gives each half,
    # within a call and a quantum.
    assert abs(used["long"] - used["short"]) <= (20 + QUANTUM_MS) * MS, used


async def test_a_call_longer_than_any_quantum_still_runs() -> None:
    queue = fair_queue()
    queue.put(job("big", ms=300))
    jobs_for(queue, "small", 400, ms=1)
    order = []
    while (taken := queue.pop()) is not None:
        queue.settle(taken, taken.cost.seconds)
        order.append(taken.label)
    # It runs once "big" has earned 300 ms of credit, "small" using as much meanwhile.
    small_before = order.index("big")
    assert 300 - QUANTUM_MS <= small_before <= 300 + QUANTUM_MS
    assert len(order) == 401


async def test_alone_a_long_call_runs_at_once() -> None:
    queue = fair_queue()
    queue.put(job("big", ms=900))
    assert queue.pop() is not None  # no round waited for: nobody else wants the device


async def test_a_long_caller_cannot_starve_short_ones() -> None:
    queue = fair_queue()
    jobs_for(queue, "hog", 10, ms=500)
    queue.put(job("light", "light0"))
    first = [queue.pop().label for _ in range(2)]
    assert "light0" in first  # at most one of the hog's calls before it
    # Whoever comes later waits for the hog's current turn at most, not for its queue.
    queue.put(job("late", "late0"))
    order = [queue.pop().label for _ in range(3)]
    assert order.index("late0") <= 1


async def test_a_burst_of_short_calls_holds_at_most_a_quantum() -> None:
    queue = fair_queue()
    jobs_for(queue, "hog", 30, ms=1)
    queue.put(job("light", "light0"))
    order = [queue.pop().label for _ in range(31)]
    assert order.index("light0") <= QUANTUM_MS  # at most one quantum of the hog's calls


async def test_each_call_is_charged_what_it_really_took() -> None:
    queue = fair_queue()
    # Both estimated at 1 ms; "slow" really takes 10 ms a call.
    jobs_for(queue, "slow", 500)
    jobs_for(queue, "fast", 500)
    used = serve(queue, 0.5, took={"slow": 10 * MS, "fast": 1 * MS})
    assert abs(used["slow"] - used["fast"]) <= 2 * (10 + QUANTUM_MS) * MS, used


async def test_an_overrun_is_owed_after_the_queue_empties_and_fades_with_time() -> None:
    clock = FakeClock()
    queue = fair_queue(clock)
    queue.put(job("a", "once"))
    taken = queue.pop()
    assert taken is not None
    queue.settle(taken, 0.1)  # estimated 1 ms, took 100 ms; "a" has nothing queued now
    assert queue.balance("a") == pytest.approx(-0.099)
    clock.now += 0.05
    assert queue.balance("a") == pytest.approx(-0.049)  # the device was others' meanwhile
    jobs_for(queue, "a", 1)
    jobs_for(queue, "b", 100)
    order = [queue.pop().user for _ in range(60)]
    assert 45 <= order.index("a") <= 55  # "b" first gets about the 49 ms "a" owes
    clock.now += 1
    queue.settle(job("c"), 0.05)  # never taken, yet charged (a shared reading's follower)
    clock.now += 0.05
    assert queue.balance("c") == pytest.approx(0.0, abs=1e-9)


async def test_credit_is_not_banked_while_idle() -> None:
    queue = fair_queue()
    queue.put(job("a", ms=1))
    taken = queue.pop()
    queue.settle(taken, 0.0005)  # came in under its estimate
    assert queue.balance("a") == 0.0  # no queue, no credit


async def test_positions_follow_service_order() -> None:
    queue = fair_queue()
    jobs_for(queue, "hog", 30, ms=5)
    jobs_for(queue, "light", 1)
    jobs_for(queue, "other", 3, ms=20)
    assert queue.position("nobody") is None
    positions = {user: queue.position(user) for user in ("hog", "light", "other")}
    order = []
    while (taken := queue.pop()) is not None:
        queue.settle(taken, taken.cost.seconds)
        order.append(taken.user)
    assert positions == {user: order.index(user) + 1 for user in positions}
    assert positions["light"] <= 3  # two of the hog's 5 ms calls fill its first quantum


async def test_positions_change_as_the_rounds_go() -> None:
    queue = fair_queue()
    jobs_for(queue, "hog", 5, ms=10)
    jobs_for(queue, "light", 1)
    assert queue.position("hog") == 1
    assert queue.position("light") == 2
    queue.pop()  # hog0 used its quantum; the light user's turn is next
    assert queue.position("light") == 1
    assert queue.position("hog") == 2


async def test_bounds_per_user_and_in_total() -> None:
    queue = fair_queue(queue_max=5, queue_per_user=3)
    jobs_for(queue, "a", 3)
    with pytest.raises(DeviceBusy, match="you already have 3 instrument calls waiting"):
        jobs_for(queue, "a", 1)
    jobs_for(queue, "b", 2)
    with pytest.raises(DeviceBusy, match=r"the instrument queue is full \(5 calls\)"):
        jobs_for(queue, "c", 1)
    assert len(queue) == 5


async def test_a_continuation_goes_back_to_the_head_of_its_users_queue() -> None:
    queue = fair_queue(queue_max=3, queue_per_user=2)
    wait = job("a", "wait", ms=50, engine=True, sliced=True)
    queue.put(wait)
    queue.put(job("a", "after"))
    assert queue.pop() is wait
    queue.put(job("a", "later"))  # "a" has two calls waiting: its bound
    queue.put(job("b", "b0"))
    queue.settle(wait, 0.05, more=True)  # the wait is not over; it is no new call
    assert len(queue) == 4
    order = []
    while (taken := queue.pop()) is not None:
        queue.settle(taken, taken.cost.seconds)
        order.append(taken.label)
    assert order.index("wait") < order.index("after") < order.index("later")


async def test_a_sliced_wait_keeps_the_engine_for_itself_between_slices() -> None:
    queue = fair_queue()
    wait = job("a", "wait", ms=50, engine=True, sliced=True)
    queue.put(wait)
    assert queue.pop() is wait
    queue.settle(wait, 0.05, more=True)
    queue.put(job("b", "capture", ms=5, engine=True))
    queue.put(job("c", "voltage"))
    taken = [queue.pop().label for _ in range(2)]
    assert sorted(taken) == ["voltage", "wait"]  # the capture waits for the engine
    assert queue.pop() is None  # only the capture is left, and the engine is still taken
    queue.settle(wait, 0.05, more=True)
    assert queue.pop() is wait
    queue.settle(wait, 0.01)  # over: the engine is free
    assert queue.pop().label == "capture"


async def test_a_call_taken_but_never_run_is_refunded() -> None:
    queue = fair_queue()
    jobs_for(queue, "a", 2, ms=4)
    taken = queue.pop()
    assert queue.balance("a") == pytest.approx(0.006)
    queue.settle(taken, 0.0)  # its caller left before it ran
    assert queue.balance("a") == pytest.approx(0.010)


async def test_a_shared_reading_splits_its_time_between_the_users_it_answers() -> None:
    queue = fair_queue()
    for user in ("a", "b", "c"):
        queue.put(new_job(user, lambda lab: None, "v", key="get_voltage(CH1)", cost=Cost(MS)))
    jobs_for(queue, "b", 1)
    jobs_for(queue, "c", 1)
    leader = queue.pop()
    assert leader is not None and leader.user == "a"
    leader.followers = queue.take_matching("get_voltage(CH1)")
    assert [f.user for f in leader.followers] == ["b", "c"]
    assert len(queue) == 2
    queue.settle(leader, 0.003)
    # a: charged 1 ms on taking, then its third; b and c pay their thirds of the run.
    assert queue.balance("a") == 0.0  # nothing queued: no credit kept
    assert queue.balance("b") == pytest.approx(-0.001)
    assert queue.balance("c") == pytest.approx(-0.001)


async def test_take_matching_leaves_a_wait_in_progress_alone() -> None:
    queue = fair_queue()
    wait = new_job("a", lambda lab: None, "f", key="get_freq", cost=Cost(0.05, True, True))
    queue.put(wait)
    assert queue.pop() is wait
    wait.steps = iter(())  # type: ignore[assignment]
    queue.settle(wait, 0.05, more=True)
    queue.put(new_job("b", lambda lab: None, "f", key="get_freq"))
    taken = queue.take_matching("get_freq")
    assert [j.user for j in taken] == ["b"]  # its answer would predate the wait: no


async def test_drain_empties_everything() -> None:
    queue = fair_queue()
    jobs_for(queue, "a", 2)
    jobs_for(queue, "b", 1)
    assert [j.label for j in queue.drain()] == ["a0", "a1", "b0"]
    assert len(queue) == 0
    assert queue.pop() is None


async def test_a_timed_out_wait_cancels_the_job() -> None:
    job = new_job("a", lambda lab: None, "get_voltage")
    with pytest.raises(DeviceTimeout, match=r"get_voltage did not finish within 0\.01 s"):
        await wait_for_job(job, 0.01)
    assert job.future.done()  # the worker skips it


async def test_a_caller_that_goes_away_cancels_the_job() -> None:
    job = new_job("a", lambda lab: None, "x")
    waiter = asyncio.create_task(wait_for_job(job, 10))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert job.future.cancelled()


async def test_user_gate_limits_requests_in_progress_per_user() -> None:
    from remotelab.device.scheduler import UserGate

    gate = UserGate(per_user=2, max_waiting=1)
    inside = 0
    peak = 0
    release = asyncio.Event()

    async def request(user: str) -> None:
        nonlocal inside, peak
        async with gate.enter(user):
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(request("hog")) for _ in range(3)]
    other = asyncio.create_task(request("light"))
    await asyncio.sleep(0.01)
    assert inside == 3  # two of the hog's, and the light user's one
    with pytest.raises(DeviceBusy, match="3 requests in progress"):
        async with gate.enter("hog"):
            pass
    release.set()
    await asyncio.gather(*tasks, other)
    assert peak == 3
    assert len(gate) == 0


async def test_user_gate_passes_on_the_place_of_a_waiter_that_went_away() -> None:
    from remotelab.device.scheduler import UserGate

    gate = UserGate(per_user=1, max_waiting=2)
    release = asyncio.Event()
    order: list[str] = []

    async def request(name: str) -> None:
        async with gate.enter("u"):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(request("first"))
    await asyncio.sleep(0)
    gone = asyncio.create_task(request("gone"))
    last = asyncio.create_task(request("last"))
    await asyncio.sleep(0)
    gone.cancel()  # it leaves while waiting: its turn must not be lost
    release.set()
    await asyncio.gather(first, last)
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert order == ["first", "last"]
    assert len(gate) == 0
