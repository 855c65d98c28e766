"""Running students' scripts safely, in forked worker processes.

The server uses :class:`SandboxPool`::

    pool = SandboxPool(settings.sandbox, widgets=settings.widgets)
    await pool.start()
    result = await pool.run(code, device_call=..., validate_function=...)
    result.to_dict()  # {"status", "widgets", "stdout", "error", "stats"}
    await pool.close()

The package is split at the process boundary:

- :mod:`.server` runs in the server process: :mod:`.server.pool` (slots,
  zygote restarts) -> :mod:`.server.session` (one run: job, instrument RPC,
  wall clock) -> :mod:`.server.supervisor` (the zygote process).
- :mod:`.worker` runs in the zygote and its forked workers:
  :mod:`.worker.zygote` (fork server) -> :mod:`.worker.child` (one forked
  worker: :mod:`.worker.isolation`, then :mod:`.worker.runner`) ->
  :mod:`.worker.policy` (compiled code cached by :mod:`.worker.codecache`),
  :mod:`.worker.guards`, :mod:`.worker.safe_builtins`,
  :mod:`.worker.facades`, :mod:`.worker.numpy_facade`, :mod:`.worker.rpc`.
- Both sides share :mod:`.protocol` (the job, the constants both need, the
  wire encoding) and :mod:`.result`; neither imports the
  other (import-linter contracts in ``pyproject.toml``).

This file exports the server API and imports only the server side. Python runs
it before any submodule, so the zygote (which imports
``remotelab.sandbox.worker.zygote``) loads the server modules too, unused.

What is enforced where: ``docs/reference/sandbox.md``.
"""

from __future__ import annotations

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
    "SandboxPool",
    "SandboxUnavailable",
    "Status",
]
