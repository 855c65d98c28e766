"""The PSLab's one pulse counter, shared by users: each user's count apart.

On the PSLab, ``countPulses`` (pslab's ``count_pulses``: ``START_COUNTING``) makes the
firmware's timer 2 count rising edges of one digital input, as a 16-bit counter, and
``readPulseCount`` (``FETCH_COUNT``) reads it. There is one such counter: a second
``START_COUNTING`` starts it again from 0 (on its own input), and a logic-analyzer capture
of three or four channels (``START_FOUR_CHAN_LA``, which ``count_pulses`` itself sends
first) takes its timer. Without care, one user's ``readPulseCount`` reads another's
count, and another's ``countPulses`` sets it back to 0.

What a student expects: ``countPulses('ID1')``, then ``readPulseCount()`` gives the
edges on ID1 since *their* call, whoever else counts. So each user's count is where the
device's counter stood when they started (:class:`PulseCounter`):

- counting on the input the counter already counts: the counter goes on, and the user's
  count starts from its value now (users counting one input share it, each from their
  own start; the 16-bit wrap is kept per user);
- counting on another input: the counter starts again there; the counts of the
  previous input end, and their users' next ``readPulseCount`` is a 409 saying why
  (never another count or a wrong number);
- ``readPulseCount`` without a count of one's own: a 400 saying to start one.

The device thread runs one call at a time: :func:`calling_as` names its user for the
counter's bindings. One :class:`PulseCounter` per ``ScienceLab`` (a reconnect makes a
new one: a replugged PSLab has lost its count).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from remotelab.errors import Conflict, InputError

#: The counter is 16 bits wide.
WRAP = 1 << 16

_caller = threading.local()
_counters: weakref.WeakKeyDictionary[Any, PulseCounter] = weakref.WeakKeyDictionary()


@contextmanager
def calling_as(user: str) -> Iterator[None]:
    """On the device thread: the calls made in this block are ``user``'s."""
    previous = getattr(_caller, "user", None)
    _caller.user = user
    try:
        yield
    finally:
        _caller.user = previous


def caller() -> str:
    """The user whose call runs now (``""`` outside :func:`calling_as`: a test's own lab)."""
    return getattr(_caller, "user", None) or ""


def counter_of(sciencelab: Any) -> PulseCounter:
    """The pulse counter of this ``ScienceLab``'s device."""
    counter = _counters.get(sciencelab)
    if counter is None:
        counter = _counters[sciencelab] = PulseCounter()
    return counter


@dataclass(frozen=True)
class _Count:
    pin: str
    start: int
    run: int


class PulseCounter:
    """The device's counter (which input it counts since which start) and each user's
    count on it. Device thread only."""

    def __init__(self) -> None:
        #: The input the device counts now (None: not counting, or its timer was taken).
        self.pin: str | None = None
        #: Bumped each time the device's count starts again or stops: counts of an
        #: earlier run have ended.
        self.run = 0
        self._why = ""
        self._counts: dict[str, _Count] = {}

    def start(
        self, user: str, pin: str, restart: Callable[[], None], fetch: Callable[[], int]
    ) -> None:
        """``user`` counts edges on ``pin`` from now; ``restart()`` (re)starts the device's
        counter there when it counts another input (or nothing), ``fetch()`` reads it."""
        self.counting(pin, restart)
        self._counts[user] = _Count(pin, fetch(), self.run)

    def counting(self, pin: str, restart: Callable[[], None]) -> None:
        """Make the device count ``pin``: as it does, or ``restart()`` there (the counts
        on another input end)."""
        if self.pin != pin:
            restart()
            self.stopped(f"another count started on {pin} (the PSLab has one pulse counter)")
            self.pin = pin

    def read(self, user: str, fetch: Callable[[], int]) -> int:
        """Edges counted on ``user``'s input since their :meth:`start` (modulo 2**16).
        Raises InputError (no count of theirs) or Conflict (it was stopped)."""
        count = self._counts.get(user)
        if count is None:
            raise InputError(
                "readPulseCount: you have no pulse count running: start one with "
                "countPulses(channel)"
            )
        if count.run != self.run:
            raise Conflict(
                f"readPulseCount: your pulse count on {count.pin} was stopped: {self._why}; "
                f"start it again with countPulses('{count.pin}')",
                details={"channel": count.pin},
            )
        return (fetch() - count.start) % WRAP

    def stopped(self, why: str) -> None:
        """The device's count ended (``why``, for the users whose count it was)."""
        self.pin = None
        self.run += 1
        self._why = why
