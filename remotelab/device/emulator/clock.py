"""The emulator's time base.

Emulated time follows the real monotonic clock, plus every interval the emulator
*pretended* to wait. In real-time mode nothing is pretended: a capture of
``samples * timegap`` or a 50 ms capacitor charge really sleeps. In fast mode
(the default) those waits are skipped and added to an offset instead, so emulated
time still moves forward consistently (signals keep their phase, a capacitor keeps
discharging) while the caller does not wait.

Both the time source and the sleep function can be replaced (tests mock clocks).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Emulated time in seconds since the clock was made."""

    def __init__(
        self,
        realtime: bool = False,
        time_source: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.realtime = realtime
        self._time = time_source
        self._sleep = sleep
        self._origin = time_source()
        self._skipped = 0.0

    def now(self) -> float:
        """Current emulated time."""
        return self._time() - self._origin + self._skipped

    def wait_until(self, t: float) -> None:
        """Let emulated time reach ``t``: sleep in real-time mode, skip ahead otherwise."""
        delay = t - self.now()
        if delay <= 0:
            return
        if self.realtime:
            self._sleep(delay)
        else:
            self._skipped += delay

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of emulated time pass (see :meth:`wait_until`)."""
        if seconds <= 0:
            return
        if self.realtime:
            self._sleep(seconds)
        else:
            self._skipped += seconds

    def sleep(self, seconds: float) -> None:
        """Really sleep (used to model a read timeout), whatever the mode."""
        if seconds > 0:
            self._sleep(seconds)
