"""`remotelab agent` refuses to start without what it needs, with one line saying what."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REMOTELAB = Path(sys.executable).parent / "remotelab"


def agent(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("REMOTELAB_")}
    environ.update(REMOTELAB_INSTANCE_PATH=str(tmp_path), **env)
    return subprocess.run(
        [str(REMOTELAB), "agent", "--device", "emulator", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_nats_url_the_agent_says_which_setting_is_missing(tmp_path: Path) -> None:
    done = agent(tmp_path, "--name", "bench-1")
    assert done.returncode == 2
    assert "remotelab: REMOTELAB_NATS_URL is empty: no NATS server to connect to" in done.stderr


def test_a_bad_agent_name_is_refused(tmp_path: Path) -> None:
    done = agent(tmp_path, "--name", "bench 1!", REMOTELAB_NATS_URL="nats://127.0.0.1:1")
    assert done.returncode == 2
    assert "REMOTELAB_NATS_AGENT_NAME='bench 1!': use letters, digits, '-' and '_'" in done.stderr
