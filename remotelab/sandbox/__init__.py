"""Running students' scripts safely (DESIGN.md §4).

The server uses :class:`SandboxPool`::

    pool = SandboxPool(SandboxLimits(), max_concurrent=4)
    await pool.start()
    result = await pool.run(code, device_call=..., validate_function=...)
    result.to_dict()  # {"status", "widgets", "stdout", "error", "stats"}
    await pool.close()

Layers, outside in: :mod:`.pool` (slots, zygote restarts) -> :mod:`.session`
(one run: job, instrument RPC, wall clock) -> :mod:`.supervisor` (the zygote
process) -> :mod:`.zygote` (fork server) -> :mod:`.worker` (one forked child:
:mod:`.isolation`, then :mod:`.runner`) -> :mod:`.policy`, :mod:`.guards`,
:mod:`.safe_builtins`, :mod:`.facades`, :mod:`.numpy_facade`, :mod:`.rpc`.
What is enforced where: ``docs/reference/sandbox.md``.
"""

from __future__ import annotations

from remotelab.sandbox.limits import SandboxLimits
from remotelab.sandbox.result import RunError, RunResult, RunStats, Status
from remotelab.sandbox.server.errors import SandboxBusy, SandboxUnavailable
from remotelab.sandbox.server.pool import SandboxPool
from remotelab.sandbox.server.session import DeviceCall, FunctionValidator

__all__ = [
    "DeviceCall",
    "FunctionValidator",
    "RunError",
    "RunResult",
    "RunStats",
    "SandboxBusy",
    "SandboxLimits",
    "SandboxPool",
    "SandboxUnavailable",
    "Status",
]
