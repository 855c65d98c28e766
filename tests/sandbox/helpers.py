"""Helpers shared by the sandbox tests: run a script in this process (policy only)."""

from __future__ import annotations

import os
from typing import Any

from remotelab.sandbox.limits import SandboxLimits
from remotelab.sandbox.protocol import Job
from remotelab.sandbox.worker.runner import execute


def run_local(code: str, **limits: Any) -> dict[str, Any]:
    """Run ``code`` in this process (policy only, no isolation): the result message."""
    return execute(Job(code, SandboxLimits(**limits)), None, device=False, validate=False)


def error_of(code: str, **limits: Any) -> tuple[str, str, int | None]:
    """``(type, message, line)`` of a run that must fail."""
    result = run_local(code, **limits)
    assert result["status"] == "error", result
    error = result["error"]
    return error["type"], error["message"], error["line"]


def stdout_of(code: str, **limits: Any) -> str:
    """The printed text of a run that must succeed."""
    result = run_local(code, **limits)
    assert result["status"] == "ok", result["error"]
    return str(result["stdout"])


def full_root() -> bool:
    """Root with CAP_SYS_ADMIN (not an unprivileged container): the `root` plan must work."""
    if os.geteuid() != 0:
        return False
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 21))  # CAP_SYS_ADMIN
    return False
