"""The sliding-window limiter, driven by a fake monotonic clock."""

from __future__ import annotations

from typing import Any

import pytest

from remotelab.auth.ratelimit import SlidingWindowLimiter
from remotelab.errors import RateLimited


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_allows_limit_attempts_then_refuses(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    for _ in range(3):
        limiter.check("alice")
        limiter.hit("alice")
    with pytest.raises(RateLimited) as info:
        limiter.check("alice")
    assert info.value.retry_after == 60
    assert info.value.message == "Too many attempts. Try again in 60 s."
    assert info.value.code == "rate_limited"
    assert info.value.details == {"retry_after": 60}
    with pytest.raises(RateLimited):
        limiter.hit("alice")
    limiter.hit("bob")  # other keys are independent


def test_the_window_slides(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(2, 10, clock=clock)
    limiter.hit("k")  # t = 0
    clock.now += 4
    limiter.hit("k")  # t = 4
    clock.now += 1
    with pytest.raises(RateLimited) as info:
        limiter.hit("k")
    assert info.value.retry_after == pytest.approx(5)  # the first attempt leaves at t = 10
    clock.now += 4.5
    with pytest.raises(RateLimited) as info:
        limiter.check("k")
    assert info.value.retry_after == pytest.approx(0.5)
    assert info.value.message == "Too many attempts. Try again in 1 s."
    clock.now += 0.5  # t = 10: exactly one window after the first attempt
    limiter.hit("k")
    assert limiter.remaining("k") == 0
    clock.now += 4  # t = 14: the attempt at t = 4 has left
    assert limiter.remaining("k") == 1


def test_refused_attempts_are_not_recorded(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(1, 10, clock=clock)
    limiter.hit("k")
    for _ in range(5):
        clock.now += 1
        with pytest.raises(RateLimited):
            limiter.hit("k")
    clock.now += 5  # 10 s after the only recorded attempt
    limiter.hit("k")


def test_reset(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    limiter.hit("k")
    limiter.reset("k")
    limiter.hit("k")
    limiter.reset("never-seen")
    assert limiter.remaining("never-seen") == 1


def test_memory_is_bounded_by_max_keys_evicting_the_stalest(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(1, 60, max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        limiter.hit(key)
        clock.now += 1
    limiter.hit("d")  # all still in the window: the stalest ("a") goes
    assert len(limiter) == 3
    limiter.hit("a")  # forgotten, so allowed again
    with pytest.raises(RateLimited):
        limiter.hit("c")
    assert len(limiter) == 3


def test_expired_keys_are_dropped_as_new_ones_arrive(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(2, 10, clock=clock)
    for i in range(100):
        limiter.hit(f"k{i}")
    clock.now += 10
    limiter.hit("late")
    assert len(limiter) == 1


def test_each_key_keeps_at_most_limit_timestamps(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(3, 1, clock=clock)
    for _ in range(1_000):
        limiter.hit("k")
        clock.now += 0.5
    assert len(limiter._hits["k"]) <= 3


def test_recent_activity_protects_a_key_from_eviction(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(2, 60, max_keys=2, clock=clock)
    limiter.hit("a")
    clock.now += 1
    limiter.hit("b")
    clock.now += 1
    limiter.hit("a")  # "a" is now the most recent
    clock.now += 1
    limiter.hit("c")  # evicts "b"
    with pytest.raises(RateLimited):
        limiter.hit("a")
    limiter.hit("b")


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((0, 10), {}), ((1, 0), {}), ((1, -1), {}), ((1, 10), {"max_keys": 0})],
)
def test_invalid_arguments(args: tuple[int, float], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(*args, **kwargs)
