"""Every user's own instrument: the bench's outputs plus the outputs that user changed.

A user who never set anything has no entry and sees the bench. A user's first call that
sets an output (``set_sine1(2000)``) creates their context; later calls of that user
find it, nobody else's do. The device owner switches the device to the caller's context
before each call (:mod:`.switch`) and records what the call set afterwards.

Contexts expire after ``idle_seconds`` without a call (the user then sees the bench
again). A bench change (a teacher's ``PUT /v1/device/bench``) reaches every user who did
not set that output themselves.

Thread-safe: the device thread records and reads, the event loop reads, resets and
expires. Effective outputs are computed once per change and cached (reading them is a
dict lookup: this is on every call's path).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from remotelab.device.outputs import Outputs, Value


@dataclass
class _Context:
    own: dict[str, Value]
    #: (bench version, bench + own) — one attribute, replaced at once.
    effective: tuple[int, Outputs]
    last_used: float


class Contexts:
    """Users' contexts over one bench."""

    def __init__(
        self,
        bench: Outputs,
        idle_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._bench = bench
        self._version = 0
        self._contexts: dict[str, _Context] = {}

    @property
    def bench(self) -> Outputs:
        return self._bench

    def __len__(self) -> int:
        return len(self._contexts)

    def __contains__(self, user: object) -> bool:
        return user in self._contexts

    def outputs(self, user: str) -> Outputs:
        """``user``'s outputs now: the bench with their own changes (the hot path)."""
        context = self._contexts.get(user)
        if context is None:
            return self._bench
        version, effective = context.effective
        if version == self._version:
            return effective
        with self._lock:
            return self._refresh(context)

    def _refresh(self, context: _Context) -> Outputs:
        version, effective = context.effective
        if version != self._version:
            effective = self._bench.replace(context.own)
            context.effective = (self._version, effective)
        return effective

    def own(self, user: str) -> dict[str, Value]:
        """The outputs ``user`` set themselves (a copy)."""
        context = self._contexts.get(user)
        return dict(context.own) if context is not None else {}

    def touch(self, user: str) -> None:
        """``user`` just used the instrument: their context stays alive."""
        context = self._contexts.get(user)
        if context is not None:
            context.last_used = self._clock()

    def record(self, user: str, changes: Mapping[str, Value]) -> tuple[Outputs, Outputs]:
        """``user`` set ``changes``; returns their outputs before and after."""
        with self._lock:
            context = self._contexts.get(user)
            if context is None:
                before = self._bench
                if not changes:
                    return before, before
                context = _Context({}, (self._version, before), self._clock())
                self._contexts[user] = context
            else:
                before = self._refresh(context)
                context.last_used = self._clock()
            context.own = {**context.own, **changes}
            after = before.replace(changes)
            context.effective = (self._version, after)
            return before, after

    def reset(self, user: str) -> Outputs:
        """Forget ``user``'s changes: they see the bench again."""
        with self._lock:
            self._contexts.pop(user, None)
            return self._bench

    def set_bench(self, bench: Outputs) -> None:
        """A new bench for everyone (each user keeps the outputs they set themselves)."""
        with self._lock:
            self._bench = bench
            self._version += 1

    def expires_in(self, user: str) -> float | None:
        """Seconds until ``user``'s context expires unused; None when they have none."""
        context = self._contexts.get(user)
        if context is None:
            return None
        return max(0.0, context.last_used + self.idle_seconds - self._clock())

    def expire(self) -> list[str]:
        """Drop the contexts unused for ``idle_seconds``; returns their users."""
        deadline = self._clock() - self.idle_seconds
        with self._lock:
            gone = [u for u, c in self._contexts.items() if c.last_used <= deadline]
            for user in gone:
                del self._contexts[user]
        return gone
