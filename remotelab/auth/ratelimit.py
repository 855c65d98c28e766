"""An in-memory sliding-window rate limiter (pure: no I/O).

Used for login, sign-up and reset attempts, keyed by account or client
address. Not thread-safe: it is meant for the server's single event loop,
where no two calls interleave (it never awaits). Use one instance per loop.

Memory is bounded: at most ``max_keys`` keys, each holding at most ``limit``
timestamps. When a new key would exceed ``max_keys``, the key whose last
attempt is oldest is dropped; keys whose attempts have all left the window
are dropped first, as they go (they are the oldest).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final, Protocol

from remotelab.errors import RateLimited

DEFAULT_MAX_KEYS: Final = 100_000


class SlidingWindowLimiter:
    """Allow at most ``limit`` attempts per key within any ``window_seconds``.

    ``clock`` returns seconds from a monotonic source (injectable for tests).
    Raises ``ValueError`` for a ``limit`` or ``max_keys`` below 1 or a
    non-positive window.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        if not window_seconds > 0:
            raise ValueError(f"window_seconds must be positive, not {window_seconds}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys}")
        self.limit = limit
        self.window = float(window_seconds)
        self.max_keys = max_keys
        self._clock = clock
        # key -> attempt times, oldest first; the dict is ordered by each key's last attempt.
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        """Number of keys currently tracked."""
        return len(self._hits)

    def check(self, key: str) -> None:
        """Raise ``RateLimited`` if ``key`` has used up its attempts; record nothing.

        ``retry_after`` is the number of seconds until one more attempt is allowed.
        """
        self._check(key, self._clock())

    def hit(self, key: str) -> None:
        """Record one attempt for ``key``.

        Raises ``RateLimited`` (and records nothing) when the limit is already reached.
        """
        now = self._clock()
        self._check(key, now)
        times = self._hits.get(key)
        if times is None:
            self._prune(now)
            if len(self._hits) >= self.max_keys:
                self._hits.popitem(last=False)  # the stalest key
            times = self._hits[key] = deque(maxlen=self.limit)
        else:
            self._hits.move_to_end(key)
        times.append(now)

    def remaining(self, key: str) -> int:
        """Attempts ``key`` may still make within the window."""
        times = self._hits.get(key)
        if times is None:
            return self.limit
        self._expire(times, self._clock())
        return self.limit - len(times)

    def reset(self, key: str) -> None:
        """Forget every attempt of ``key`` (e.g. after a successful login)."""
        self._hits.pop(key, None)

    def _check(self, key: str, now: float) -> None:
        times = self._hits.get(key)
        if times is None:
            return
        self._expire(times, now)
        if len(times) >= self.limit:
            retry_after = times[0] + self.window - now
            raise RateLimited(
                f"Too many attempts. Try again in {math.ceil(retry_after)} s.",
                retry_after=retry_after,
            )

    def _expire(self, times: deque[float], now: float) -> None:
        cutoff = now - self.window
        while times and times[0] <= cutoff:
            times.popleft()

    def _prune(self, now: float) -> None:
        # Drop keys with no attempt inside the window, oldest first; stops at the first live one.
        cutoff = now - self.window
        while self._hits:
            key, times = next(iter(self._hits.items()))
            if times and times[-1] > cutoff:
                return
            del self._hits[key]


class RateLimit(Protocol):
    """A rate limit as the API uses it: in this process, or shared by all fronts
    (``cluster/limits.py``, ADR 0019)."""

    limit: int

    async def check(self, key: str) -> None:
        """Raise ``RateLimited`` if ``key`` has used up its calls; record nothing."""

    async def hit(self, key: str) -> None:
        """Count one call of ``key``; ``RateLimited`` (nothing counted) when over the limit."""

    async def reset(self, key: str) -> None:
        """Forget ``key``'s calls (e.g. after a successful login)."""


class Limits(Protocol):
    """Makes the rate limits of one process: named, with their limit and window."""

    def limit(self, name: str, limit: int, window_seconds: float) -> RateLimit: ...


class LocalLimits:
    """Limits counted in this process (the embedded server)."""

    def __init__(self, *, max_keys: int) -> None:
        self.max_keys = max_keys

    def limit(self, name: str, limit: int, window_seconds: float) -> RateLimit:
        return LocalRateLimit(limit, window_seconds, max_keys=self.max_keys)


class LocalRateLimit:
    """A :class:`SlidingWindowLimiter` of this process behind :class:`RateLimit`."""

    def __init__(self, limit: int, window_seconds: float, *, max_keys: int) -> None:
        self.local = SlidingWindowLimiter(limit, window_seconds, max_keys=max_keys)
        self.limit = limit

    async def check(self, key: str) -> None:
        self.local.check(key)

    async def hit(self, key: str) -> None:
        self.local.hit(key)

    async def reset(self, key: str) -> None:
        self.local.reset(key)
