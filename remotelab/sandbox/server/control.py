"""A run as its caller holds it: an id, an owner, live output, and a way to stop it.

The caller makes a :class:`RunControl` and passes it to
:meth:`~remotelab.sandbox.server.pool.SandboxPool.run`; while the run waits or
executes, the pool lists it (:meth:`SandboxPool.find`) so that another request
of its owner (``DELETE /v1/runs/{id}``) can :meth:`cancel` it. ``on_output`` is
called on the event loop with each batch the worker streamed (new widgets, new
text, the script's line), in order; the final result's widgets and stdout are
exactly the concatenation of those batches.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from remotelab.sandbox.result import RunResult

OutputListener = Callable[[list[dict[str, Any]], str, int | None], None]
"""``on_output(widgets, text, line)``: new widgets, new printed text, the line the script is on."""
NoticeListener = Callable[[dict[str, Any]], None]
"""``on_notice(info)``: why the run waits (the device is held by another user's script)."""


class RunControl:
    """One run's id, owner and stop switch (see the module docstring)."""

    def __init__(self, owner: str = "", on_output: OutputListener | None = None) -> None:
        self.id = secrets.token_urlsafe(12)
        self.owner = owner
        self.on_output = on_output
        #: Told why the run waits, when the caller wants to know (``run.waiting`` on the
        #: live websocket).
        self.on_notice: NoticeListener | None = None
        self.cancelled = False
        #: The worker's pid once it runs (for tests and logs; the zygote owns the process).
        self.worker_pid: int | None = None
        self._stop: Callable[[], None] | None = None
        #: The run's result once it has ended (None: it ended with an error, no result).
        self.finished: asyncio.Future[RunResult | None] = asyncio.get_running_loop().create_future()

    def cancel(self) -> None:
        """Stop the run: a waiting run never starts, a running one's worker is killed now."""
        if self.cancelled:
            return
        self.cancelled = True
        if self._stop is not None:
            self._stop()

    def bind(self, stop: Callable[[], None] | None) -> None:
        """What :meth:`cancel` calls now (the pool's or the session's stop)."""
        self._stop = stop

    def finish(self, result: RunResult | None) -> None:
        if not self.finished.done():
            self.finished.set_result(result)

    def notice(self, info: dict[str, Any]) -> None:
        if self.on_notice is not None:
            self.on_notice(info)

    def output(self, widgets: list[dict[str, Any]], text: str, line: int | None) -> None:
        if self.on_output is not None:
            self.on_output(widgets, text, line)
