"""Helpers shared by the sandbox tests: run a script in this process (policy only)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from remotelab.config import SandboxSettings, WidgetSettings
from remotelab.sandbox.protocol import Job
from remotelab.sandbox.worker.runner import execute

WIDGET_FIELDS = {spec.name for spec in WidgetSettings.specs()}


def job_for(code: str, functions: tuple[str, ...] = (), **limits: Any) -> Job:
    """A job for ``code``: each of ``limits`` goes to the sandbox or the widget settings,
    ``max_script_bytes`` to the job itself."""
    widgets = {k: limits.pop(k) for k in list(limits) if k in WIDGET_FIELDS}
    size = limits.pop("max_script_bytes", None)
    job = Job(code, SandboxSettings(**limits), functions, WidgetSettings(**widgets))
    return job if size is None else dataclasses.replace(job, max_script_bytes=size)


def run_local(code: str, **limits: Any) -> dict[str, Any]:
    """Run ``code`` in this process (policy only, no isolation): the result message."""
    return execute(job_for(code, **limits), None, device=False, validate=False)


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
