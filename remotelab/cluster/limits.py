"""Rate limits shared by every front process and host, in a JetStream key-value bucket.

ADR 0019. Counting per process would give a student N times their limit on N workers
(connections are spread over processes). So each limit counts calls in windows of
``window`` seconds (aligned on the wall clock, the same on every host), one key per limit,
window and caller in the bucket :data:`~remotelab.cluster.wire.LIMITS_BUCKET`; its value
is how many calls the fronts have *taken* in that window. What a window allows slides: the
limit less the previous window's count in the proportion of it that the last ``window``
seconds still cover (the sliding-window estimate of Cloudflare's and nginx's limiters), so
a burst at the end of one window is not followed by a full one at the start of the next.

A front does not ask the bucket at every call: it takes a *lease* of several calls at once
(compare-and-set at the revision it read: two fronts never take the same calls), spends
them locally with no I/O, and takes the next lease when they run out (the first lease of a
window also reads the previous window's count, once). A lease is an eighth of what is
left (at most :data:`MAX_LEASE`, at least 1), so the calls a process holds and its caller
no longer uses there (they moved to another worker) are few near the limit: the sum of
all leases never passes the limit, and a caller is refused at most a few calls early,
never late. A limit found reached is remembered until the window allows one more call: a
caller hammering it costs no NATS traffic.

When the bucket does not answer (NATS away), a limit falls back to counting in this
process (:class:`~remotelab.auth.ratelimit.SlidingWindowLimiter`), and says so in the log
once: the limits then hold per process until NATS is back.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

from nats.aio.client import Client
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError

from remotelab.auth.ratelimit import SlidingWindowLimiter
from remotelab.cluster import wire
from remotelab.errors import RateLimited

log = logging.getLogger(__name__)

MAX_LEASE: Final = 32
LEASE_ATTEMPTS: Final = 8  # compare-and-set tries before counting locally for this call
BUCKET_TIMEOUT_SECONDS: Final = 2.0
AWAY_RETRY_SECONDS: Final = 5.0  # with the bucket away, how often a call tries it again


class SharedLimits:
    """Makes shared rate limits over one NATS connection (a front's)."""

    def __init__(self, kv: Any, *, max_keys: int) -> None:
        self.kv = kv
        self.max_keys = max_keys

    @classmethod
    async def open(cls, nc: Client, *, max_keys: int, window_seconds: float = 60) -> SharedLimits:
        """The bucket (created if missing; entries live two windows)."""
        js = nc.jetstream(timeout=BUCKET_TIMEOUT_SECONDS)
        try:
            kv = await js.key_value(wire.LIMITS_BUCKET)
        except BucketNotFoundError:
            kv = await js.create_key_value(
                bucket=wire.LIMITS_BUCKET, history=1, ttl=2 * window_seconds
            )
        return cls(kv, max_keys=max_keys)

    def limit(self, name: str, limit: int, window_seconds: float) -> SharedRateLimit:
        return SharedRateLimit(self.kv, name, limit, window_seconds, max_keys=self.max_keys)


class _Lease:
    __slots__ = ("full_until", "previous", "revision", "taken", "tokens", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.tokens = 0  # calls this process may still make in the window
        self.taken = 0  # the bucket's count as last read or written
        self.revision: int | None = None
        self.previous: int | None = None  # the previous window's count, read once
        self.full_until = 0.0  # (clock) no calls until then: the limit is reached


class SharedRateLimit:
    """About ``limit`` calls per key in any ``window_seconds``, over all fronts (at most
    ``limit`` in each window aligned on the clock; see the module docstring).

    ``clock`` is the wall clock (windows line up across hosts); injectable for tests.
    """

    def __init__(
        self,
        kv: Any,
        name: str,
        limit: int,
        window_seconds: float,
        *,
        max_keys: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kv = kv
        self.name = name
        self.limit = limit
        self.window = float(window_seconds)
        self.max_keys = max_keys
        self._clock = clock
        self._leases: OrderedDict[str, _Lease] = OrderedDict()
        self._pending: dict[str, asyncio.Future[None]] = {}
        self.local = SlidingWindowLimiter(limit, window_seconds, max_keys=max_keys)
        self._away = False  # the bucket did not answer last time (logged once)
        self._retry_at = 0.0  # monotonic time before which an away bucket is not tried
        #: Leases taken from the bucket (for the benchmark and the tests).
        self.leases = 0

    async def check(self, key: str) -> None:
        """Raise ``RateLimited`` when ``key`` is known to be at its limit; record nothing."""
        now = self._clock()
        lease = self._leases.get(key)
        if lease is not None and lease.tokens <= 0 and lease.full_until > now:
            raise self._refusal(lease.full_until - now)

    async def hit(self, key: str) -> None:
        """Count one call of ``key``; ``RateLimited`` (nothing counted) when over the limit."""
        while True:
            now = self._clock()
            index = self._index(now)
            lease = self._leases.get(key)
            if lease is None or lease.window != index:
                lease = self._remember(key, _Lease(index))
            if lease.tokens > 0:
                lease.tokens -= 1
                return
            if lease.full_until > now:
                raise self._refusal(lease.full_until - now)
            if self._away and time.monotonic() < self._retry_at:
                self.local.hit(key)
                return
            pending = self._pending.get(key)
            if pending is not None:  # one lease at a time per key in this process
                await asyncio.shield(pending)
                continue
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._pending[key] = done
            try:
                counted = await self._take(key, lease)
            finally:
                del self._pending[key]
                done.set_result(None)
            if not counted:  # the bucket did not answer: this process counts alone
                self.local.hit(key)
                return

    async def reset(self, key: str) -> None:
        """Forget ``key``'s calls in this window, on every front (the bucket's count is
        deleted; another front that found the window full learns it when the window ends)."""
        index = self._index(self._clock())
        self._leases.pop(key, None)
        self.local.reset(key)
        try:
            await self.kv.delete(self._bucket_key(key, index))
        except Exception as exc:  # NATS away: the count lapses with its window
            log.warning("rate limit %s: a reset did not reach the bucket (%s)", self.name, exc)

    def _index(self, now: float) -> int:
        return int(now // self.window)

    def _allowed(self, lease: _Lease, now: float) -> int:
        """The calls allowed in ``lease``'s window by ``now``: the limit less the previous
        window's calls in the part of it that the last ``window`` seconds still cover."""
        covered = 1 - (now / self.window - lease.window)
        return self.limit - math.floor((lease.previous or 0) * covered)

    def _free_at(self, lease: _Lease) -> float:
        """When the window's allowance first passes ``lease.taken`` (the window's end at
        the latest)."""
        start, end = lease.window * self.window, (lease.window + 1) * self.window
        room = self.limit - lease.taken
        if room <= 0 or not lease.previous:
            return end
        # floor(previous * covered) < room once previous * covered <= room - 1.
        free = start + self.window * (1 - (room - 1) / lease.previous)
        return min(end, max(start, free) + 1e-6)

    def _refusal(self, retry_after: float) -> RateLimited:
        return RateLimited(
            f"Too many attempts. Try again in {max(1, round(retry_after))} s.",
            retry_after=retry_after,
        )

    def _remember(self, key: str, lease: _Lease) -> _Lease:
        leases = self._leases
        leases[key] = lease
        leases.move_to_end(key)
        while len(leases) > self.max_keys:
            leases.popitem(last=False)
        return lease

    def _bucket_key(self, key: str, window: int) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return f"{self.name}.{window}.{digest}"

    async def _take(self, key: str, lease: _Lease) -> bool:
        """Take a lease for ``key`` from the bucket into ``lease``; False if it did not
        answer."""
        name = self._bucket_key(key, lease.window)
        try:
            if lease.previous is None:  # once per window: what the window before counted
                try:
                    entry = await self.kv.get(self._bucket_key(key, lease.window - 1))
                    lease.previous = int(entry.value or b"0")
                except KeyNotFoundError:
                    lease.previous = 0
            for _ in range(LEASE_ATTEMPTS):
                left = self._allowed(lease, self._clock()) - lease.taken
                if left <= 0:
                    lease.full_until = self._free_at(lease)
                    return True
                take = max(1, min(MAX_LEASE, left // 8))
                try:
                    if lease.revision is None:
                        revision = await self.kv.create(name, str(take).encode())
                    else:
                        revision = await self.kv.update(
                            name, str(lease.taken + take).encode(), last=lease.revision
                        )
                except KeyWrongLastSequenceError:  # another front took some: read, retry
                    try:
                        entry = await self.kv.get(name)
                        lease.taken, lease.revision = int(entry.value or b"0"), entry.revision
                    except KeyNotFoundError:
                        lease.taken, lease.revision = 0, None
                    continue
                lease.taken += take
                lease.revision = revision
                lease.tokens += take
                self.leases += 1
                if self._away:
                    self._away = False
                    log.info("rate limit %s: counting across fronts again", self.name)
                return True
        except Exception as exc:  # NATS away or slow: count in this process instead
            self._retry_at = time.monotonic() + AWAY_RETRY_SECONDS
            if not self._away:
                self._away = True
                log.warning(
                    "rate limit %s: the bucket %s did not answer (%s); counting in this "
                    "process until it does",
                    self.name,
                    wire.LIMITS_BUCKET,
                    exc or type(exc).__name__,
                )
            return False
        return False  # contended past every attempt: this call counts here
