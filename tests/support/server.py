"""A real `remotelab serve` in a subprocess (Hypercorn, SQLite, the emulator) on a loopback
port, for the suites that need one outside the test's own event loop: the OpenAPI fuzzer
(schemathesis calls synchronously), the kill -9 test and the soak benchmark."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.ports import free_port

REMOTELAB = [sys.executable, "-m", "remotelab.cli"]

# Fast hashing and no rate limits in the way of the traffic a suite sends on purpose.
BASE_SETTINGS = {
    "bcrypt_rounds": "4",
    "log_level": "WARNING",
    "access_log": "false",
    "signups_per_address": "1000000",
    "login_attempts_per_address": "1000000",
    "login_attempts_per_account": "1000000",
    "resets_per_window": "1000000",
    "script_runs_per_minute": "1000000",
    "function_calls_per_minute": "1000000",
}


def environment(instance: Path, **settings: str) -> dict[str, str]:
    values = {**BASE_SETTINGS, **settings}
    return {
        **os.environ,
        "REMOTELAB_INSTANCE_PATH": str(instance),
        **{f"REMOTELAB_{k.upper()}": v for k, v in values.items()},
    }


def create_user(instance: Path, email: str, password: str, role: str = "student") -> None:
    """`remotelab create-user` on the instance (the admin role is given only this way)."""
    done = subprocess.run(
        [*REMOTELAB, "create-user", "--email", email, "--role", role, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=environment(instance),
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"create-user {email} failed:\n{done.stderr}")


@dataclass
class Server:
    instance: Path
    settings: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.instance.parent / f"{self.instance.name}-server.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> None:
        self.port = free_port()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*REMOTELAB, "serve", "--port", str(self.port)],
                env=environment(self.instance, **self.settings),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("server did not start:\n" + self.log.read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def login(self, email: str, password: str) -> dict[str, str]:
        r = httpx.post(
            self.url + "/v1/auth/login", json={"email": email, "password": password}, timeout=30
        )
        r.raise_for_status()
        return {"Authorization": "JWT " + r.json()["access_token"]}

    def signup(self, email: str, password: str) -> dict[str, str]:
        r = httpx.post(
            self.url + "/v1/users", json={"email": email, "password": password}, timeout=30
        )
        r.raise_for_status()
        return self.login(email, password)


@contextlib.contextmanager
def running(instance: Path, **settings: str) -> Iterator[Server]:
    server = Server(instance, settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fuzzing() -> bool:
    """`make fuzz` (REMOTELAB_FUZZ=1): the bigger runs of the fuzzers and the crash test."""
    return os.environ.get("REMOTELAB_FUZZ") == "1"


def budget(ci: int, fuzz: int) -> int:
    """How many examples (or rounds) a suite runs: ``ci`` in `make test`, ``fuzz`` in
    `make fuzz`; REMOTELAB_FUZZ_EXAMPLES overrides both (for one long run)."""
    override = os.environ.get("REMOTELAB_FUZZ_EXAMPLES")
    if override:
        return int(override)
    return fuzz if fuzzing() else ci


def fuzz_settings(examples: int) -> Any:
    """Hypothesis settings of a fuzz suite: ``examples`` cases, derandomized (a fixed seed)
    in CI or with REMOTELAB_FUZZ_SEED, no example database in CI, no deadline."""
    from hypothesis import HealthCheck, settings

    from tests.conftest import in_ci

    return settings(
        max_examples=examples,
        derandomize=in_ci() or os.environ.get("REMOTELAB_FUZZ_SEED") is not None,
        database=None if in_ci() else settings.default.database,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
