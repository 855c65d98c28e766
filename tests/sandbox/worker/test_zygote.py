"""The zygote's own guarantees: warm, single-threaded, free of server modules."""

from __future__ import annotations

import json
import subprocess
import sys

from remotelab.sandbox.server.supervisor import PACKAGE_ROOT, ZYGOTE_ENV

CHECK = """
import sys, threading
sys.path.insert(0, sys.argv[1])
from remotelab.sandbox.worker import zygote
zygote.warm_up()
zygote.check_imports()
assert threading.active_count() == 1, threading.enumerate()
import os
assert len(os.listdir("/proc/self/task")) == 1, "BLAS or something else started threads"
print("ok", zygote.vm_size_kb())
"""


def run_as_zygote(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter started as the server starts the zygote
    (``python -I``, the zygote's environment, the package root as ``sys.argv[1]``)."""
    return subprocess.run(
        [sys.executable, "-I", "-c", code, PACKAGE_ROOT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=ZYGOTE_ENV,
    )


def test_zygote_imports_stay_clear_of_the_server() -> None:
    completed = run_as_zygote(CHECK)
    assert completed.returncode == 0, completed.stderr
    word, vm_kb = completed.stdout.split()
    assert word == "ok"
    assert int(vm_kb) < 400 * 1024  # far below the default 512 MiB address-space limit


def test_check_imports_refuses_server_modules() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import pslab, remotelab.auth;"
            "from remotelab.sandbox.worker.zygote import check_imports; check_imports()",
            PACKAGE_ROOT,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "the zygote imported server modules: pslab" in completed.stderr
    assert "remotelab.auth" in completed.stderr


REHEARSE = """
import json, signal, sys
sys.path.insert(0, sys.argv[1])
from remotelab.config import SandboxSettings
from remotelab.sandbox.worker import child
result = child.rehearse(child.compile_rehearsal(), SandboxSettings())
alarm = signal.getsignal(signal.SIGALRM)
print(json.dumps({**result, "alarm": alarm == signal.SIG_IGN, "timer": signal.getitimer(
    signal.ITIMER_REAL)}))
"""


def test_the_rehearsal_goes_through_a_jobs_path_and_stops_its_timer() -> None:
    # Run in a process of its own: the rehearsal sets and clears the live timer (SIGALRM).
    completed = run_as_zygote(REHEARSE)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["status"] == "ok" and result["error"] is None
    assert result["stdout"] == "1\n"
    assert [w["type"] for w in result["widgets"]] == ["text", "label"]
    # The live timer it started is stopped again: no SIGALRM reaches the waiting spare.
    assert result["alarm"] is True and result["timer"] == [0.0, 0.0]
