"""A whole lab on one machine (``make cluster``): start it, watch it, stop all of it.

In order: PostgreSQL and NATS (:mod:`.postgres`, :mod:`.nats`), the schema and a teacher
account for this run (``remotelab create-user``), the device agents (``remotelab agent``,
emulators, each on its experiment's bench file in ``deploy/cluster/``), the web fronts
(``remotelab serve`` on free loopback ports, sharing the database, the JWT key and NATS) and
nginx in front of them (:mod:`.nginx`) on the one address the lab is opened at. Every
server is a child process in a process group of its own (:mod:`.children`); everything
lives in a temporary folder that is deleted at stop.

SIGINT (Ctrl+C) or SIGTERM stops it in reverse order: nginx, the fronts, the agents (they
drain while NATS is still up), NATS, PostgreSQL. A server that exits by itself stops the
whole lab, with a message naming it and the end of its log.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TextIO

from remotelab.cluster.local import nginx
from remotelab.cluster.local.children import spawn, stop
from remotelab.cluster.local.nats import (
    PROJECT,
    NatsServer,
    NatsUnavailable,
    nats_server_binary,
    running_nats_server,
)
from remotelab.cluster.local.nginx import NginxUnavailable
from remotelab.cluster.local.ports import PortTaken, check_free, free_port
from remotelab.cluster.local.postgres import (
    PostgresServer,
    PostgresUnavailable,
    find_bin_dir,
    running_postgres,
)
from remotelab.device.emulator.wiring import load_experiment

REMOTELAB = Path(sys.executable).parent / "remotelab"
BENCHES = PROJECT / "deploy" / "cluster"
DEMO_EMAIL = "teacher@example.org"
START_TIMEOUT_S = 60  # one server's start (the fronts import the whole app)
STOP_TIMEOUT_S = 30  # one server's stop (an agent drains for at most 10 s)
POLL_S = 0.1
LOG_TAIL_LINES = 15
#: The account nginx drops its workers to when the lab runs as root.
NGINX_USER = "nobody"


@dataclass(frozen=True)
class Agent:
    name: str
    bench: Path


#: Three emulated devices on two experiments.
AGENTS = (
    Agent("rc-1", BENCHES / "rc-filter.toml"),
    Agent("rc-2", BENCHES / "rc-filter.toml"),
    Agent("divider-1", BENCHES / "divider.toml"),
)


class Stopped(Exception):
    """A stop was asked for (SIGINT, SIGTERM) while the lab was starting."""


class ChildFailed(Exception):
    """A server of the lab did not start, or exited by itself."""


@dataclass
class Child:
    """A server of the lab: what it is called in messages, its process and its log."""

    name: str
    what: str
    process: subprocess.Popen[bytes]
    log: Path
    stage: str = ""  # stopped together: "nginx", then "front", then "agent"
    stop_signal: int = signal.SIGTERM

    def tail(self) -> str:
        return _tail(self.log)


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in lines[-LOG_TAIL_LINES:])


@dataclass
class Lab:
    """One run of the lab: ``Lab(port=8080).run()`` until a signal; its exit status."""

    port: int = 8080
    fronts: int = 2
    agents: tuple[Agent, ...] = AGENTS
    out: TextIO = field(default_factory=lambda: sys.stdout)
    children: list[Child] = field(default_factory=list)  # ours to stop, in start order
    watched: list[Child] = field(default_factory=list)  # PostgreSQL and NATS: watched only
    stop_asked: str | None = None  # the signal's name
    password: str = ""  # of the teacher account made for this run

    def say(self, text: str) -> None:
        print(f"cluster: {text}", file=self.out, flush=True)

    def run(self) -> int:
        """Start the lab, serve until SIGINT or SIGTERM, stop it. 0 after a stop that was
        asked for; 1 when a server failed (named in the output); 2 when something it needs
        is missing or the port is taken."""
        started = time.monotonic()
        with self._signals():
            try:
                check_free(self.port, "the lab's address, nginx")
                # Every program first: a missing one is said at once, not after the others.
                for find in (find_bin_dir, nats_server_binary, nginx.nginx_binary):
                    find()
                with contextlib.ExitStack() as stack:
                    self._start(stack)
                    self._announce(time.monotonic() - started)
                    self._watch()
                    self.say(f"{self.stop_asked}: stopping the lab")
                    stack.close()
                    self.say("stopped")
                    return 0
            except Stopped:
                self.say(f"{self.stop_asked}: stopped while starting")
                return 0
            except ChildFailed as exc:
                self.say(f"{exc}; the lab is stopped")
                return 1
            except (PortTaken, PostgresUnavailable, NatsUnavailable, NginxUnavailable) as exc:
                self.say(f"cannot start: {exc}")
                return 2
            except OSError as exc:  # a program that cannot be run
                self.say(f"cannot start: {exc}")
                return 2

    # --- start -----------------------------------------------------------------------------

    def _start(self, stack: contextlib.ExitStack) -> None:
        runtime = Path(tempfile.mkdtemp(prefix="remotelab-cluster-"))
        stack.callback(shutil.rmtree, runtime, True)
        # Others may pass through (nginx's workers run as NGINX_USER under root), not list.
        runtime.chmod(0o711)
        (runtime / "logs").mkdir()
        self.say(f"runtime folder {runtime} (deleted at stop)")

        step = self._step("PostgreSQL")
        postgres = stack.enter_context(running_postgres())
        step(f"on 127.0.0.1:{postgres.port}")
        self._check()
        step = self._step("NATS with JetStream")
        nats = stack.enter_context(running_nats_server(runtime))
        step(f"on {nats.url}")
        self._watch_server("postgres", "PostgreSQL", postgres.process, postgres.log_path)
        self._watch_server("nats", "nats-server", nats.process, nats.folder / "nats.log")
        # Unwound first: the servers below stop while NATS and PostgreSQL are still up.
        stack.callback(self._stop_children)
        self._check()

        secret = secrets.token_urlsafe(32)
        password = secrets.token_urlsafe(12)
        base = self._base_env()
        step = self._step(f"schema and the account {DEMO_EMAIL}")
        self._create_teacher(base, postgres, password, runtime)
        step("ready")
        self.password = password

        # The agents start side by side, then the fronts (which read the registry at start).
        step = self._step(f"{len(self.agents)} device agents")
        agents = [self._spawn_agent(agent, base, nats, runtime) for agent in self.agents]
        for child in agents:
            self._wait(child, partial(_has_line, child.log, child.name))
        step("serving " + ", ".join(child.name for child in agents))

        front_ports = [free_port() for _ in range(self.fronts)]
        step = self._step(f"{self.fronts} fronts (remotelab serve)")
        fronts = [
            self._spawn_front(i, port, base, nats, postgres, secret, runtime)
            for i, port in enumerate(front_ports, start=1)
        ]
        for child, port in zip(fronts, front_ports, strict=True):
            self._wait(child, partial(_healthy, port))
        step("on " + ", ".join(f"127.0.0.1:{port}" for port in front_ports))

        step = self._step("nginx")
        child = self._spawn_nginx(runtime, front_ports)
        self._wait(child, partial(_healthy, self.port))
        step(f"on 127.0.0.1:{self.port}")

    def _step(self, what: str) -> Callable[[str], None]:
        started = time.monotonic()
        self.say(f"starting {what} ...")

        def done(result: str) -> None:
            self.say(f"  {what}: {result} ({time.monotonic() - started:.1f} s)")

        return done

    def _base_env(self) -> dict[str, str]:
        # The caller's REMOTELAB_* settings reach every front and agent (e.g.
        # REMOTELAB_EMULATOR_REALTIME=true); the lab's own (NATS, database, key) win.
        return {k: v for k, v in os.environ.items() if not k.startswith("REMOTELAB_NATS_")}

    def _create_teacher(
        self, env: dict[str, str], postgres: PostgresServer, password: str, runtime: Path
    ) -> None:
        log = runtime / "logs" / "create-user.log"
        done = subprocess.run(
            [str(REMOTELAB), "create-user", "--email", DEMO_EMAIL, "--role", "teacher",
             "--first-name", "Demo", "--last-name", "Teacher", "--verified", "--password-stdin"],
            input=f"{password}\n",
            capture_output=True,
            text=True,
            env={
                **env,
                "REMOTELAB_DATABASE_URL": postgres.url(),
                "REMOTELAB_INSTANCE_PATH": str(runtime / "setup"),
            },
            timeout=START_TIMEOUT_S,
            check=False,
            start_new_session=True,  # a Ctrl+C now stops the lab after it, not in a migration
        )  # fmt: skip
        log.write_text(done.stdout + done.stderr)
        self._check()
        if done.returncode != 0:
            raise ChildFailed(
                f"remotelab create-user failed (status {done.returncode}):\n{_tail(log)}"
            )

    def _spawn_agent(
        self, agent: Agent, env: dict[str, str], nats: NatsServer, runtime: Path
    ) -> Child:
        log = runtime / "logs" / f"agent-{agent.name}.log"
        process = spawn(
            [str(REMOTELAB), "agent", "--device", "emulator", "--name", agent.name,
             "--bench", str(agent.bench), "--instance", str(runtime / f"agent-{agent.name}")],
            log=log,
            env={**env, **nats.agent_env(agent.name)},
        )  # fmt: skip
        return self._add(Child(agent.name, "remotelab agent", process, log, "agent"))

    def _spawn_front(
        self,
        i: int,
        port: int,
        env: dict[str, str],
        nats: NatsServer,
        postgres: PostgresServer,
        secret: str,
        runtime: Path,
    ) -> Child:
        check_free(port, f"front-{i}")
        log = runtime / "logs" / f"front-{i}.log"
        process = spawn(
            [str(REMOTELAB), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--instance", str(runtime / f"front-{i}")],
            log=log,
            env={
                **env,
                "REMOTELAB_DATABASE_URL": postgres.url(),
                "REMOTELAB_SECRET_KEY": secret,
                "REMOTELAB_TRUST_PROXY_HEADERS": "true",
                "REMOTELAB_NATS_URL": nats.url,
                "REMOTELAB_NATS_USER": "front",
                "REMOTELAB_NATS_PASSWORD": nats.front_password,
                "REMOTELAB_MAIL_BASE_URL": f"http://127.0.0.1:{self.port}",
            },
        )  # fmt: skip
        what = f"remotelab serve on 127.0.0.1:{port}"
        return self._add(Child(f"front-{i}", what, process, log, "front"))

    def _spawn_nginx(self, runtime: Path, fronts: list[int]) -> Child:
        binary = nginx.nginx_binary()
        prefix = runtime / "nginx"
        prefix.mkdir()
        user = NGINX_USER if os.geteuid() == 0 else None
        if user is not None:
            # Run unprivileged: the port is above 1024, and its folder is all it writes.
            record = pwd.getpwnam(user)
            os.chown(prefix, record.pw_uid, record.pw_gid)
        conf = nginx.write_conf(prefix, self.port, fronts)
        log = runtime / "logs" / "nginx.log"
        process = spawn(
            [str(binary), "-p", str(prefix), "-c", str(conf), "-e", "stderr"],
            log=log,
            cwd=prefix,
            user=user,
        )
        # SIGTERM: nginx's fast stop, which closes open websockets (its graceful SIGQUIT
        # would wait for them).
        return self._add(Child("nginx", "nginx", process, log, "nginx"))

    def _add(self, child: Child) -> Child:
        self.children.append(child)
        return child

    def _watch_server(
        self, name: str, what: str, process: subprocess.Popen[bytes] | None, log: Path
    ) -> None:
        # Stopped by their own context managers, after the others; watched like them.
        if process is not None:
            self.watched.append(Child(name, what, process, log))

    def _wait(self, child: Child, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not ready():
            self._check()
            if time.monotonic() > deadline:
                raise ChildFailed(
                    f"{child.name} ({child.what}) did not start in {START_TIMEOUT_S} s; its "
                    f"log ends:\n{child.tail()}"
                )
            time.sleep(POLL_S)

    def _check(self) -> None:
        """Raise Stopped when a stop was asked for, ChildFailed when a server exited."""
        if self.stop_asked is not None:
            raise Stopped
        for child in [*self.watched, *self.children]:
            status = child.process.poll()
            if status is not None:
                raise ChildFailed(
                    f"{child.name} ({child.what}) {_ended(status)}; its log ends:\n{child.tail()}"
                )

    # --- serve, stop -------------------------------------------------------------------------

    def _announce(self, seconds: float) -> None:
        experiments: dict[str, list[str]] = {}
        for agent in self.agents:
            experiments.setdefault(load_experiment(agent.bench)[0], []).append(agent.name)
        listing = "; ".join(f"{name!r} on {', '.join(on)}" for name, on in experiments.items())
        self.say(
            f"the lab is up in {seconds:.1f} s: {self.fronts} fronts, "
            f"{len(self.agents)} emulated devices ({listing})"
        )
        lines = [
            "",
            f"    open http://127.0.0.1:{self.port}",
            f"    sign in as {DEMO_EMAIL} with the password {self.password}",
            "    (a teacher account made for this run; anyone may also sign up on the page)",
            "",
            "    Ctrl+C stops the whole lab; its data goes with it.",
            "",
        ]
        print("\n".join(lines), file=self.out, flush=True)

    def _watch(self) -> None:
        with contextlib.suppress(Stopped):
            while True:
                self._check()
                time.sleep(POLL_S)

    def _stop_children(self) -> None:
        # nginx first (no new requests), then the fronts, then the agents, which drain while
        # NATS is still up; NATS and PostgreSQL stop after, by their own context managers.
        # Each stage is signalled at once, then waited for.
        for stage in ("nginx", "front", "agent"):
            children = [child for child in self.children if child.stage == stage]
            running = [child.name for child in children if child.process.poll() is None]
            if running:
                self.say(f"stopping {', '.join(running)}")
            for child in children:
                if child.process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        child.process.send_signal(child.stop_signal)
            for child in children:
                stop(child.process, child.stop_signal, STOP_TIMEOUT_S)
        self.children.clear()

    @contextlib.contextmanager
    def _signals(self) -> Iterator[None]:
        def asked(signum: int, frame: FrameType | None) -> None:
            self.stop_asked = signal.Signals(signum).name

        previous = {sig: signal.signal(sig, asked) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _ended(status: int) -> str:
    if status < 0:
        return f"was killed by {signal.Signals(-status).name}"
    return f"exited with status {status}"


def _has_line(log: Path, agent: str) -> bool:
    try:
        return f"remotelab agent {agent} serving" in log.read_text(errors="replace")
    except OSError:
        return False


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False
