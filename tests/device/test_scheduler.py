"""The fair queue: round robin between users, bounds, positions."""

from __future__ import annotations

import asyncio

import pytest

from remotelab.config import DeviceSettings
from remotelab.device.scheduler import FairQueue, new_job, wait_for_job
from remotelab.errors import DeviceBusy, DeviceTimeout


def jobs_for(queue: FairQueue, user: str, n: int) -> None:
    for i in range(n):
        queue.put(new_job(user, lambda lab: None, f"{user}{i}"))


async def test_round_robin_between_users_not_first_come_first_served() -> None:
    queue = FairQueue(DeviceSettings())
    jobs_for(queue, "hog", 5)
    jobs_for(queue, "light", 1)
    jobs_for(queue, "other", 2)
    order = []
    while (job := queue.pop()) is not None:
        order.append(job.label)
    assert order == ["hog0", "light0", "other0", "hog1", "other1", "hog2", "hog3", "hog4"]


async def test_positions_follow_service_order() -> None:
    queue = FairQueue(DeviceSettings())
    jobs_for(queue, "hog", 5)
    jobs_for(queue, "light", 1)
    assert queue.position("hog") == 1
    assert queue.position("light") == 2
    assert queue.position("nobody") is None
    queue.pop()  # hog0; hog moves behind light
    assert queue.position("light") == 1
    assert queue.position("hog") == 2
    assert [queue.pop().label for _ in range(5)] == ["light0", "hog1", "hog2", "hog3", "hog4"]


async def test_bounds_per_user_and_in_total() -> None:
    queue = FairQueue(DeviceSettings(queue_max=5, queue_per_user=3))
    jobs_for(queue, "a", 3)
    with pytest.raises(DeviceBusy, match="you already have 3 instrument calls waiting"):
        jobs_for(queue, "a", 1)
    jobs_for(queue, "b", 2)
    with pytest.raises(DeviceBusy, match=r"the instrument queue is full \(5 calls\)"):
        jobs_for(queue, "c", 1)
    assert len(queue) == 5


async def test_drain_empties_everything() -> None:
    queue = FairQueue(DeviceSettings())
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
