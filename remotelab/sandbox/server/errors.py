"""Errors of the sandbox machinery, raised in the server process.

:class:`~remotelab.errors.SandboxError` subclasses::

    SandboxError                the sandbox machinery failed (503)
    ├── SandboxUnavailable      the worker host (zygote) cannot be started
    └── SandboxBusy             too many runs waiting for a worker

User code errors are never exceptions on the server: they are data in the
:class:`~remotelab.sandbox.result.RunResult`.
"""

from __future__ import annotations

from remotelab.errors import SandboxError


class SandboxUnavailable(SandboxError):
    code = "sandbox_unavailable"


class SandboxBusy(SandboxError):
    code = "sandbox_busy"
