"""The result of one sandboxed run: data, never an exception.

Shared by both sides of the sandbox: a worker reports its script's error as a
:class:`RunError` in its ``result`` message; the server checks that message
and returns a :class:`RunResult`, the only thing its callers see of a run.

Wire shape::

    {"status": "ok" | "error" | "timeout" | "killed" | "cancelled",
     "widgets": [...], "stdout": "...",
     "error": {"type": ..., "message": ..., "line": int | null} | null,
     "stats": {"wall_ms", "cpu_ms", "device_calls", "max_rss_kb"}}

``ok``: the script ran to its end. ``error``: it did not compile, or raised, or
hit a cap (``error.type`` says which). ``timeout``: the server killed it at the
wall-clock limit. ``killed``: the kernel or a crash ended the worker (CPU
limit, fatal signal). ``cancelled``: its owner stopped it. The last three keep the
widgets and text the worker streamed before it was killed, and ``error.line`` is the
last line it reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "killed", "cancelled"]
STATUSES: tuple[Status, ...] = ("ok", "error", "timeout", "killed", "cancelled")

# error.type values produced by the sandbox itself (user exceptions keep their class name).
POLICY_ERROR = "PolicyError"
LIMIT_EXCEEDED = "LimitExceeded"
TIMEOUT = "Timeout"
KILLED = "Killed"
WORKER_ERROR = "WorkerError"
CANCELLED = "Cancelled"


@dataclass(frozen=True)
class RunError:
    """What went wrong, for the user: an exception class name, a message, a line."""

    type: str
    message: str
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "line": self.line}


@dataclass(frozen=True)
class RunStats:
    """Measured cost of a run (CPU and memory as the kernel accounted the worker)."""

    wall_ms: float = 0.0
    cpu_ms: float = 0.0
    device_calls: int = 0
    max_rss_kb: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_ms": self.wall_ms,
            "cpu_ms": self.cpu_ms,
            "device_calls": self.device_calls,
            "max_rss_kb": self.max_rss_kb,
        }


@dataclass(frozen=True)
class RunResult:
    """One run's outcome. ``to_dict`` gives the wire shape above."""

    status: Status
    widgets: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    error: RunError | None = None
    stats: RunStats = field(default_factory=RunStats)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "widgets": self.widgets,
            "stdout": self.stdout,
            "error": None if self.error is None else self.error.to_dict(),
            "stats": self.stats.to_dict(),
        }
