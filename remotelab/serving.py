"""`remotelab serve --workers N`: N web-front processes behind one port (ADR 0019).

Only a front over NATS may run as several processes: without ``REMOTELAB_NATS_URL`` the
server owns the device, and a device has one owner (:func:`check_workers`).

What the *supervisor* (the process the operator started) does, in order:

1. the work that must happen once: the settings, with the generated secret key written
   before any worker reads it (every worker signs and accepts the same tokens), and the
   database's migrations (under the database's start-up lock, which also keeps fronts on
   other hosts from racing);
2. binds the port once with ``SO_REUSEPORT`` (a taken port is an error here, not N times;
   port 0 becomes a free port every worker then shares) and keeps that socket without
   listening on it;
3. starts the workers (``multiprocessing``'s *spawn*: a fresh interpreter each, never a
   fork of a process with threads): each binds its own listening socket to the port with
   ``SO_REUSEPORT``, so the kernel spreads new connections over the workers, and runs the
   whole app (its own NATS connection, sandbox zygote, stream hub) with Hypercorn;
4. waits. A worker that dies after it was ready is started again; one that fails before it
   was ready (a refused NATS password, a bad setting) stops them all, with its exit status.

Signals: the workers ignore SIGINT (Ctrl+C reaches the whole process group: the
supervisor alone decides); SIGINT or SIGTERM to the supervisor sends SIGTERM to every
worker, which stops gracefully (streams closed, Hypercorn's graceful timeout, mail flushed)
and is killed when it outlives :data:`STOP_GRACE_SECONDS` more than that. A second Ctrl+C
kills the workers at once. A worker whose supervisor dies gets SIGTERM from the kernel
(``PR_SET_PDEATHSIG``): no orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from remotelab.config import Settings
from remotelab.errors import ConfigError, RemotelabError

log = logging.getLogger("remotelab.serving")

STOP_GRACE_SECONDS = 10.0  # beyond Hypercorn's graceful timeout and the mail queue's stop
RESTART_PAUSE_SECONDS = 1.0  # between a worker's death and its replacement
PR_SET_PDEATHSIG = 1


def hypercorn_config(
    host: str, port: int, *, access_log: bool = True, worker: int | None = None
) -> Any:
    """Hypercorn as `remotelab serve` runs it (the benchmarks serve their yardstick alike).

    One Hypercorn worker per process: `--workers N` runs N such processes
    (:func:`supervise`); ``worker`` is this one's number, put in its access log.
    """
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{host}:{port}"]
    config.workers = 1
    config.accesslog = "-" if access_log else None
    if worker is not None:
        config.access_log_format = f"worker {worker} %(p)s " + config.access_log_format
    config.graceful_timeout = 10  # as deploy/hypercorn.toml
    return config


def check_workers(settings: Settings) -> None:
    """Raise :class:`ConfigError` unless ``settings`` may run ``settings.server.workers``."""
    workers = settings.server.workers
    if workers > 1 and not settings.nats.url:
        raise ConfigError(
            f"{settings.server.variable('workers')}={workers} (--workers): more than one "
            "worker needs device agents on NATS (REMOTELAB_NATS_URL); without it this "
            "server owns the device, and a device has one owner. Run one worker, or "
            "see docs/reference/deploy.md#scale-out-many-devices-many-fronts"
        )


def log_format(index: int | None) -> str:
    """The log line format of worker ``index`` (0: the supervisor; ``None``: the
    single-process server)."""
    if index is None:
        return logging.BASIC_FORMAT
    who = f"worker {index}" if index else "supervisor"
    return f"%(levelname)s:{who} (pid %(process)d):%(name)s:%(message)s"


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not listening yet).

    Raises :class:`ConfigError` naming the address when it cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


# ---------------------------------------------------------------------------- supervisor


def supervise(settings: Settings) -> int:
    """Run ``settings.server.workers`` workers until SIGINT/SIGTERM; the exit status.

    Raises :class:`RemotelabError` for what stops the start before any worker runs.
    """
    check_workers(settings)
    logging.basicConfig(level=settings.server.log_level.upper(), format=log_format(0))
    asyncio.run(migrate(settings))
    holder = bind_socket(settings.server.host, settings.server.port)
    port = holder.getsockname()[1]
    try:
        return _Supervisor(settings, port).run()
    finally:
        holder.close()


async def migrate(settings: Settings) -> str:
    """Apply the pending migrations under the start-up lock (beside other processes starting
    on the same database); the schema revision now in force."""
    from remotelab.storage.database import Database

    db = Database(
        settings.storage.database_url,
        accounts=settings.storage.accounts,
        sqlite_synchronous=settings.storage.sqlite_synchronous,
    )
    try:
        async with db.startup_lock():
            return await db.migrate()
    finally:
        await db.close()


class _Supervisor:
    def __init__(self, settings: Settings, port: int) -> None:
        self.settings = settings
        self.port = port
        self.count = settings.server.workers
        self.context = multiprocessing.get_context("spawn")
        self.processes: dict[int, BaseProcess] = {}
        self.ready_pipes: dict[int, Connection] = {}
        self.ready: set[int] = set()
        self.stopping = False
        self.killing = False
        self.announced = False

    def run(self) -> int:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        # Ignored while starting them: a spawned worker keeps SIGINT ignored across exec.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for index in range(1, self.count + 1):
                self._start(index)
            for sig in previous:
                signal.signal(sig, self._on_signal)
            return self._watch()
        finally:
            self._kill_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self, index: int) -> None:
        receive, send = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=worker_main,
            args=(index, self.settings, self.port, send, os.getpid()),
            name=f"remotelab worker {index}",
        )
        process.start()
        send.close()
        self.processes[index] = process
        self.ready_pipes[index] = receive
        log.info("worker %d started (pid %s)", index, process.pid)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            if signum == signal.SIGINT:  # a second Ctrl+C: now
                self.killing = True
                for process in self.processes.values():
                    _send(process, signal.SIGKILL)
            return
        self.stopping = True
        for process in self.processes.values():
            _send(process, signal.SIGTERM)

    def _watch(self) -> int:
        status = 0
        deadline: float | None = None
        while self.processes:
            if self.stopping and deadline is None:
                log.info("stopping %d workers", len(self.processes))
                deadline = time.monotonic() + self._stop_budget()
            waitables: list[Any] = [p.sentinel for p in self.processes.values()]
            waitables += list(self.ready_pipes.values())
            for done in wait(waitables, timeout=0.2):
                self._handle(done)
            for index, process in list(self.processes.items()):
                if process.exitcode is None:
                    continue
                process.join()
                del self.processes[index]
                pipe = self.ready_pipes.pop(index, None)
                if pipe is not None:
                    pipe.close()
                was_ready = index in self.ready
                self.ready.discard(index)
                if self.stopping:
                    log.info("worker %d stopped (exit status %s)", index, process.exitcode)
                elif was_ready:
                    log.warning(
                        "worker %d (pid %s) died (exit status %s); starting it again",
                        index,
                        process.pid,
                        process.exitcode,
                    )
                    time.sleep(RESTART_PAUSE_SECONDS)
                    if not self.stopping:
                        self._start(index)
                else:
                    code = process.exitcode
                    status = code if code is not None and code > 0 else 1
                    log.error("worker %d failed to start (exit status %s)", index, code)
                    self._on_signal(signal.SIGTERM, None)
            if deadline is not None and time.monotonic() > deadline and not self.killing:
                log.error("workers still running after %.0f s: killing them", self._stop_budget())
                self.killing = True
                for process in self.processes.values():
                    _send(process, signal.SIGKILL)
        return status

    def _handle(self, done: object) -> None:
        for index, pipe in list(self.ready_pipes.items()):
            if pipe is done:
                try:
                    pipe.recv()
                    self.ready.add(index)
                    if len(self.ready) == self.count:
                        log.info("all %d workers ready", self.count)
                        if not self.announced:  # once, whatever the log level
                            self.announced = True
                            print(
                                f"remotelab serving on http://{self.settings.server.host}:"
                                f"{self.port} with {self.count} workers",
                                flush=True,
                            )
                except EOFError:
                    pass  # the worker ended: its sentinel says how
                pipe.close()
                del self.ready_pipes[index]

    def _stop_budget(self) -> float:
        return 10 + self.settings.mail.stop_seconds + STOP_GRACE_SECONDS

    def _kill_all(self) -> None:
        for process in self.processes.values():
            _send(process, signal.SIGKILL)
            process.join(5)


def _send(process: BaseProcess, sig: int) -> None:
    if process.pid is not None and process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)


# ---------------------------------------------------------------------------- worker side


def worker_main(index: int, settings: Settings, port: int, ready: Connection, parent: int) -> None:
    """A worker process: the app with Hypercorn on its own ``SO_REUSEPORT`` socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the supervisor died before the line above
        sys.exit(1)
    logging.basicConfig(level=settings.server.log_level.upper(), format=log_format(index))
    try:
        asyncio.run(_worker(index, settings, port, ready))
    except RemotelabError as exc:
        print(f"remotelab: worker {index}: {exc.message}", file=sys.stderr, flush=True)
        sys.exit(2)


async def _worker(index: int, settings: Settings, port: int, ready: Connection) -> None:
    from hypercorn.asyncio import serve

    from remotelab.app import create_app, shutdown_trigger

    sock = bind_socket(settings.server.host, port)
    config = hypercorn_config(
        settings.server.host, port, access_log=settings.server.access_log, worker=index
    )
    config.bind = [f"fd://{sock.detach()}"]  # Hypercorn's from here on
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    app = create_app(settings)

    @app.before_serving
    async def say_ready() -> None:  # registered last: runs after the app's own start
        ready.send(os.getpid())
        ready.close()

    await serve(app, config, shutdown_trigger=lambda: shutdown_trigger(app, stop))
