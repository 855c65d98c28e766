"""Errors of the sandbox machinery (server side) and the one limit signal (worker side).

Server side, :class:`~remotelab.errors.SandboxError` subclasses::

    SandboxError                the sandbox machinery failed (503)
    ├── SandboxUnavailable      the worker host (zygote) cannot be started
    └── SandboxBusy             too many runs waiting for a worker

User code errors are never exceptions on the server: they are data in the
:class:`~remotelab.sandbox.result.RunResult`.

Worker side, :class:`LimitExceeded` is what a script sees when it hits a cap
(widgets, instrument calls, sleep beyond the time limit). It derives from
``BaseException`` so that ``except Exception`` in a script does not swallow it.
"""

from __future__ import annotations

from remotelab.errors import SandboxError


class SandboxUnavailable(SandboxError):
    code = "sandbox_unavailable"


class SandboxBusy(SandboxError):
    code = "sandbox_busy"


class LimitExceeded(BaseException):
    """A run hit one of its caps. Raised inside the sandbox only."""
