"""Per-request identity checks without a database round trip.

Every authenticated request must refuse deleted or blocked users and revoked
tokens. Asking the database each time costs more than the rest of a request
(three lookups through aiosqlite's thread), so the answers are kept here:

- :class:`StandingCache` — a user's standing (usable or not, lab role, token
  cut-off) for ``ttl`` seconds. Changes the lab makes itself (logout
  everywhere, password change, reset, role change) drop the entry at once;
  changes made by someone else in a shared event-server database apply within
  ``ttl``.
- :class:`RevokedTokens` — the jtis revoked by logout. Only this process
  revokes tokens, so the set is complete: it is loaded from the database at
  start and kept in step with it afterwards.

Both are bounded; not thread-safe (one event loop).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Standing(Generic[T]):
    """``user`` is None when the account is missing, deleted or blocked."""

    user: T | None
    cutoff: float | None


class StandingCache(Generic[T]):
    def __init__(
        self, ttl: float, max_users: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_users = max_users
        self._clock = clock
        self._entries: OrderedDict[int, tuple[float, Standing[T]]] = OrderedDict()

    def get(self, user_id: int) -> Standing[T] | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[user_id]
            return None
        return entry[1]

    def put(self, user_id: int, standing: Standing[T]) -> None:
        if self.ttl <= 0:
            return
        self._entries[user_id] = (self._clock() + self.ttl, standing)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self.max_users:
            self._entries.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class RevokedTokens:
    """jti → expiry (POSIX seconds) of revoked tokens; expired ones are pruned."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._next_prune = 0.0

    def add(self, jti: str, expires: float) -> None:
        self._expiry[jti] = expires
        self._prune()

    def __contains__(self, jti: object) -> bool:
        return jti in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self) -> None:
        now = self._clock()
        if now < self._next_prune:
            return
        self._next_prune = now + 60
        for jti in [j for j, exp in self._expiry.items() if exp < now]:
            del self._expiry[jti]
