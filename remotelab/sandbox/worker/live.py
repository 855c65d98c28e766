"""Streaming a run's output as it is made: widgets, printed text and the current line.

The worker sends ``{"type": "output", "widgets": [new widgets], "stdout": "new text",
"line": N, "sample": bool}`` frames on the run socket (the first widget may be the last
one sent before, grown by the prints since: its name is the same, and it replaces it), so
the server holds everything the script made even if it must kill the worker (time, CPU,
memory, cancel):

- the first output of a run goes at once when the run is followed live (the job's
  ``live``: a live client sees it within milliseconds), else after the interval like
  the rest;
- later output is batched: at most one frame per ``interval`` (a tight print loop
  sends about ``1 / interval`` frames a second, never one per print);
- a timer (``SIGALRM`` every ``interval``) samples the line the script is on and sends
  what is still pending, so a busy loop that prints nothing more is not left unsent;
- ``SIGUSR1`` (sent by the zygote when the server is about to kill the worker for
  time) asks for a last sample at once: the frame is marked ``"sample": true``.

Signal handlers run between two bytecodes of whatever the script is doing. They only
read this object's state and write whole frames, and never while a frame is being
written or an instrument call is waiting for its reply (``busy``): they note what is
due and the writer sends it when it is done. Whatever a handler raises is dropped: it
must never surface in the script.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from remotelab.widgets import WidgetCollector

SCRIPT_FILENAME = "<script>"

Send = Callable[[dict[str, Any]], None]


def script_line(frame: FrameType | None) -> int | None:
    """The line of the innermost frame of the user's code at or above ``frame``."""
    while frame is not None:
        if frame.f_code.co_filename == SCRIPT_FILENAME:
            return frame.f_lineno
        frame = frame.f_back
    return None


class TextSink:
    """Printed text as an append-only list of parts, with what was not yet streamed."""

    def __init__(self, limit: int, marker: str) -> None:
        self._limit = limit
        self._marker = marker
        self._parts: list[str] = []
        self._size = 0
        self._taken = 0
        self.truncated = False

    def write(self, text: str) -> None:
        if self.truncated:
            return
        data = text.encode("utf-8", "replace")
        room = self._limit - self._size
        if len(data) > room:
            self._parts.append(data[:room].decode("utf-8", "ignore"))
            self._parts.append(self._marker.format(limit=self._limit))
            self._size = self._limit
            self.truncated = True
            return
        self._parts.append(text)
        self._size += len(data)

    def text(self) -> str:
        return "".join(self._parts)

    def pending(self) -> tuple[str, int]:
        """The text not streamed yet, and the mark to pass to :meth:`taken`."""
        end = len(self._parts)
        return "".join(self._parts[self._taken : end]), end

    def taken(self, mark: int) -> None:
        self._taken = mark


class Live:
    """One run's stream of output frames (see the module docstring)."""

    def __init__(
        self,
        send: Send,
        collector: WidgetCollector,
        sink: TextSink,
        interval: float,
        *,
        first_at_once: bool = True,
    ) -> None:
        """``first_at_once``: someone follows the run live, so its first output goes at
        once; else it waits for the interval like the rest (a run that ends sooner sends
        it only in its result: one frame less)."""
        self._send = send
        self._collector = collector
        self._sink = sink
        self.interval = interval
        self._sent_widgets = 0
        #: The last widget sent, as sent: a print after it may have grown it (a new dict).
        self._last_sent: object = None
        self._last = -math.inf if first_at_once else time.monotonic()
        self._sent_line: int | None = None
        self.line: int | None = None
        self.busy = False
        self._due = False
        self._sample_due = False

    # --- from the script's thread of execution ------------------------------

    def made(self) -> None:
        """Something was printed or a widget made: send now or when the interval is up."""
        if self.busy:
            self._due = True
            return
        self.busy = True
        try:
            if time.monotonic() - self._last >= self.interval:
                self._flush(line=script_line(sys._getframe(1)))
            else:
                self._due = True
        finally:
            self.busy = False

    def before_request(self, line: int | None) -> None:
        """An instrument call or validation is about to be sent: stream what is pending
        first (so the order is kept), then hold the handlers until the reply is in."""
        self.busy = True
        if line is not None:
            self.line = line
        if self._due or self._sample_due:
            self._flush(line=line)

    def after_request(self) -> None:
        self.busy = False

    # --- signal handlers --------------------------------------------------------

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        try:
            line = script_line(frame)
            if line is not None:
                self.line = line
            sample = signum == signal.SIGUSR1
            if self.busy:
                self._sample_due = self._sample_due or sample
                return
            self.busy = True
            try:
                if sample or self._due or self.line != self._sent_line:
                    self._flush(line=self.line, sample=sample)
            finally:
                self.busy = False
        except BaseException:  # noqa: S110 - nothing may surface in the script
            pass

    def start(self) -> None:
        signal.signal(signal.SIGALRM, self.on_signal)
        signal.signal(signal.SIGUSR1, self.on_signal)
        signal.setitimer(signal.ITIMER_REAL, self.interval, self.interval)

    @staticmethod
    def stop() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)

    # --- the frame ----------------------------------------------------------------

    def _flush(self, *, line: int | None, sample: bool = False) -> None:
        """Send what is pending (caller holds ``busy``). A failure leaves it pending."""
        if line is not None:
            self.line = line
        made = self._collector.widgets
        widgets = made[self._sent_widgets :]
        if self._sent_widgets and made[self._sent_widgets - 1] is not self._last_sent:
            # The print widget sent last grew: sent again whole (same name: it replaces it).
            widgets.insert(0, made[self._sent_widgets - 1])
        text, mark = self._sink.pending()
        sample = sample or self._sample_due
        if not widgets and not text and not sample and self.line == self._sent_line:
            self._due = False
            return
        message: dict[str, Any] = {
            "type": "output",
            "widgets": widgets,
            "stdout": text,
            "line": self.line,
            "sample": sample,
        }
        try:
            self._send(message)
        except Exception:
            return
        self._sent_widgets = len(made)
        self._last_sent = made[-1] if made else None
        self._sink.taken(mark)
        self._sent_line = self.line
        self._last = time.monotonic()
        self._due = False
        self._sample_due = False
