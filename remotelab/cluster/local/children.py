"""Child processes that end with the process that started them.

Every server a local lab (or the test suite) starts is a direct child in a process group of
its own: a Ctrl+C at the terminal reaches only the parent, which then stops the children in
order (the agents drain while NATS is still up). Should the parent die without stopping
them (SIGKILL), the kernel sends each child SIGTERM (``PR_SET_PDEATHSIG``), so none is left
behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import pwd
import signal
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_prctl = _libc.prctl


def _die_with_parent() -> None:
    # Runs in the child between fork and exec, after Popen changed its user: the setting is
    # cleared by a change of credentials, so it must come after. Only a C call here.
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def spawn(
    command: Sequence[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    stdin: IO[Any] | int | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, its output (both streams) to ``log``.

    ``user``: the account to run it as (when this process is root). Raises ``OSError`` when
    the program cannot be started.
    """
    preexec: Callable[[], None] = _die_with_parent
    gid = pwd.getpwnam(user).pw_gid if user is not None else None
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(command),
            stdin=stdin,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            group=gid,
            extra_groups=[] if user is not None else None,
            process_group=0,
            preexec_fn=preexec,  # a single C call, see _die_with_parent
        )


def stop(process: subprocess.Popen[bytes], sig: int, timeout: float) -> int:
    """Send ``sig``, wait up to ``timeout`` seconds, then SIGKILL; and end what is left of
    the child's process group (helpers it started). Returns the exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
    # The group is named after the child's pid; members outliving it would be orphans.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode
