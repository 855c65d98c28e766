from __future__ import annotations

from remotelab.auth.standing import RevokedTokens, Standing, StandingCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_standing_expires_after_ttl_and_can_be_forgotten() -> None:
    clock = Clock()
    cache: StandingCache[str] = StandingCache(5.0, 100, clock)
    cache.put(1, Standing("ada", None))
    assert cache.get(1) == Standing("ada", None)
    clock.now += 4.9
    assert cache.get(1) is not None
    clock.now += 0.2
    assert cache.get(1) is None
    cache.put(2, Standing("bob", 3.0))
    cache.forget(2)
    assert cache.get(2) is None


def test_standing_cache_is_bounded_and_can_be_off() -> None:
    cache: StandingCache[int] = StandingCache(5.0, 3, Clock())
    for i in range(10):
        cache.put(i, Standing(i, None))
    assert len(cache) == 3
    assert cache.get(9) is not None
    assert cache.get(0) is None
    off: StandingCache[int] = StandingCache(0, 3, Clock())
    off.put(1, Standing(1, None))
    assert off.get(1) is None


def test_revoked_tokens_are_forgotten_once_expired() -> None:
    clock = Clock()
    revoked = RevokedTokens(clock)
    revoked.add("a", expires=1010)
    assert "a" in revoked
    clock.now = 1100
    revoked.add("b", expires=2000)  # adding prunes what expired
    assert "a" not in revoked
    assert "b" in revoked
