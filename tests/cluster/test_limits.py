"""Rate limits shared by fronts in a JetStream bucket, on a real nats-server (as the front
user: its permissions include the bucket). The clock is the only thing faked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from remotelab.cluster import wire
from remotelab.cluster.connection import close_quietly, connect
from remotelab.cluster.limits import SharedLimits, SharedRateLimit
from remotelab.config import NatsSettings, Secret
from remotelab.errors import RateLimited
from tests.support.nats import NatsServer

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 60.0 * 16_666  # a window boundary (of 60 s windows)

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def fronts(
    server: NatsServer, n: int, limit: int, clock: Clock
) -> AsyncIterator[list[SharedRateLimit]]:
    """``n`` fronts, each with its own NATS connection, sharing one limit."""
    settings = NatsSettings(url=server.url, user="front", password=Secret(server.front_password))
    connections = [
        await connect(settings, f"front {i}", inbox=wire.FRONT_INBOX, attempts=3) for i in range(n)
    ]
    try:
        made = []
        for nc in connections:
            limit_ = (await SharedLimits.open(nc, max_keys=100)).limit("functions", limit, 60)
            limit_._clock = clock  # the limit's injectable clock, as SlidingWindowLimiter's
            made.append(limit_)
        yield made
    finally:
        for nc in connections:
            await close_quietly(nc)


async def allowed(limit: SharedRateLimit, key: str) -> bool:
    try:
        await limit.hit(key)
    except RateLimited:
        return False
    return True


async def test_fronts_never_give_a_caller_more_than_the_limit_together(
    nats_server: NatsServer,
) -> None:
    clock = Clock()
    async with fronts(nats_server, 3, 100, clock) as (a, b, c):
        given = [await allowed((a, b, c)[i % 3], "student") for i in range(300)]
        # Never more than the limit; a few early at most (leases another front still held).
        assert 100 - 3 * 4 <= given.count(True) <= 100
        assert given[:90] == [True] * 90
        assert [await allowed(x, "other") for x in (a, b, c)] == [True] * 3  # per caller
        # A window later, with the window before empty, the limit is whole again.
        clock.now += 120
        assert all([await allowed((a, b, c)[i % 3], "student") for i in range(60)])
        # Calls are taken in leases, not one bucket write each.
        assert a.leases + b.leases + c.leases < 60


async def test_the_window_slides_over_the_previous_ones_calls(nats_server: NatsServer) -> None:
    clock = Clock()
    async with fronts(nats_server, 2, 100, clock) as (a, b):
        assert [await allowed(a, "u") for _ in range(101)] == [True] * 100 + [False]
        # A quarter into the next window, three quarters of the last 60 s are the previous
        # window's, with 100 calls in it: 25 allowed so far, on any front.
        clock.now += 75
        given = [await allowed((a, b)[i % 2], "u") for i in range(40)]
        assert 25 - 4 <= given.count(True) <= 25
        # The refusal says when the next call is allowed: 0.6 s later (0.6 / 60 of 100 calls).
        with pytest.raises(RateLimited) as info:
            await a.hit("u")
        assert 0 < info.value.retry_after <= 0.6 + 1e-3
        clock.now += 30  # three quarters in: 75 in all
        more = [await allowed(a, "u") for _ in range(60)]
        assert 75 - 4 <= given.count(True) + more.count(True) <= 75


async def test_a_full_window_costs_no_more_bucket_traffic(nats_server: NatsServer) -> None:
    clock = Clock()
    async with fronts(nats_server, 2, 10, clock) as (a, b):
        while await allowed(a, "u"):
            pass
        leases = a.leases
        with pytest.raises(RateLimited, match=r"Too many attempts\. Try again in 60 s\.") as info:
            await a.hit("u")
        assert info.value.retry_after == 60
        with pytest.raises(RateLimited):
            await a.check("u")
        assert a.leases == leases
        clock.now += 30
        with pytest.raises(RateLimited, match=r"Try again in 30 s\."):
            await a.hit("u")
        assert not await allowed(b, "u")  # the other front reads the full window too


async def test_calls_at_once_in_one_process_share_its_leases(nats_server: NatsServer) -> None:
    clock = Clock()
    async with fronts(nats_server, 1, 50, clock) as (a,):
        given = await asyncio.gather(*(allowed(a, "u") for _ in range(120)))
        assert given.count(True) == 50


async def test_with_nats_away_a_front_counts_alone_and_says_so(
    nats_server: NatsServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    async with fronts(nats_server, 1, 3, clock) as (a,):
        nats_server.process.terminate()
        nats_server.process.wait(10)
        with caplog.at_level(logging.WARNING, logger="remotelab.cluster.limits"):
            given = [await allowed(a, "u") for _ in range(5)]
        assert given == [True, True, True, False, False]  # still the limit, in this process
        assert caplog.text.count("counting in this process until it does") == 1


async def test_a_reset_on_one_front_frees_the_caller_on_the_others(
    nats_server: NatsServer,
) -> None:
    clock = Clock()
    async with fronts(nats_server, 2, 4, clock) as (a, b):
        assert [await allowed(a, "ann") for _ in range(2)] == [True, True]
        assert [await allowed(b, "ann") for _ in range(3)] == [True, True, False]
        await a.reset("ann")  # a successful login, say
        assert [await allowed(a, "ann") for _ in range(5)] == [True] * 4 + [False]
