"""The server side of the sandbox loads no worker code (import-linter checks the imports;
this checks what a fresh interpreter actually loads)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import remotelab.sandbox
from remotelab.sandbox import SandboxPool
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0] == "RestrictedPython" or name.startswith("remotelab.sandbox.worker")
)
print(" ".join(loaded))
"""


def test_the_server_api_loads_neither_restricted_python_nor_the_worker_side() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == ""
