"""Server side of the zygote: start it, pass it run sockets, hear about exits.

Never blocks the event loop: the control socket is non-blocking and read
with ``loop.add_reader``; the zygote is a subprocess started with
``asyncio.create_subprocess_exec`` (fork + exec of a fresh interpreter, never a
fork of the server).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remotelab.config import SandboxSettings
from remotelab.sandbox.protocol import CONTROL_DATAGRAM_BYTES, section_fields
from remotelab.sandbox.server.errors import SandboxUnavailable

log = logging.getLogger(__name__)

PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
# The zygote's whole environment: no secret of the server's reaches it, and
# BLAS libraries start no threads (the zygote must stay single-threaded).
ZYGOTE_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from remotelab.sandbox.worker.zygote import main; raise SystemExit(main(sys.argv[2:]))"
)


class ZygoteLost(Exception):
    """The zygote exited or closed its control socket."""


@dataclass(frozen=True)
class ExitInfo:
    """How a worker ended, as the zygote's ``wait4`` saw it."""

    code: int | None
    signal: int | None
    cpu_ms: float
    max_rss_kb: int


@dataclass
class RunHandle:
    """One worker as the server tracks it. ``pid`` is known once the zygote forked it."""

    run_id: int
    exited: asyncio.Future[ExitInfo] = field(repr=False)
    pid: int | None = None


class ZygoteProcess:
    """A running zygote. :meth:`start` once; :attr:`alive` tells whether it still serves.

    ``prefix`` is prepended to the command, e.g. ``("setpriv", "--reuid=nobody", ...)``
    to run the zygote under another account (it must keep the control socket's
    file descriptor open across its own exec).
    """

    def __init__(
        self,
        *,
        python: str | None = None,
        prefix: Sequence[str] = (),
        start_timeout: float = 60.0,
    ) -> None:
        self._python = python or sys.executable
        self._prefix = tuple(prefix)
        self._start_timeout = start_timeout
        self._loop = asyncio.get_running_loop()
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._runs: dict[int, RunHandle] = {}
        self._next_id = 0
        self._ready: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._lost = False
        self.info: dict[str, Any] = {}
        #: The zygote's code cache as its last ``exit`` report gave it (entries, bytes,
        #: max_bytes, hits, misses; empty before the first).
        self.code_cache: dict[str, int] = {}

    @property
    def alive(self) -> bool:
        return not self._lost and self._sock is not None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def start(self) -> dict[str, Any]:
        """Start the zygote and wait for ``ready``; return its info.

        Raises :class:`SandboxUnavailable` when it does not start in time or reports an error.
        """
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._prefix,
                self._python,
                "-I",
                "-c",
                BOOTSTRAP,
                PACKAGE_ROOT,
                str(theirs.fileno()),
                pass_fds=(theirs.fileno(),),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                env=ZYGOTE_ENV,
                cwd="/",
            )
        except OSError as exc:
            ours.close()
            raise SandboxUnavailable(f"cannot start the sandbox zygote: {exc}") from None
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._loop.add_reader(ours.fileno(), self._on_readable)
        try:
            self.info = await asyncio.wait_for(asyncio.shield(self._ready), self._start_timeout)
        except (TimeoutError, ZygoteLost, SandboxUnavailable) as exc:
            await self.close()
            if isinstance(exc, SandboxUnavailable):
                raise
            raise SandboxUnavailable(f"the sandbox zygote did not start: {exc}") from None
        return self.info

    async def spawn(self, run_socket: socket.socket, limits: SandboxSettings) -> RunHandle:
        """Ask for a worker owning ``run_socket``, isolated under ``limits`` before it reads
        its job (the caller closes its copy of the socket afterwards)."""
        if not self.alive:
            raise ZygoteLost("the zygote is not running")
        self._next_id += 1
        handle = RunHandle(self._next_id, self._loop.create_future())
        self._runs[handle.run_id] = handle
        message = {"op": "run", "id": handle.run_id, "limits": section_fields(limits)}
        await self._send(message, run_socket.fileno())
        return handle

    async def kill(self, handle: RunHandle) -> None:
        """Ask the zygote to SIGKILL the worker (a no-op once it has exited)."""
        if self.alive and not handle.exited.done():
            await self._send({"op": "kill", "id": handle.run_id})

    async def sample(self, handle: RunHandle) -> None:
        """Ask the zygote to signal the worker for a last sample (its line, pending output)."""
        if self.alive and not handle.exited.done():
            await self._send({"op": "sample", "id": handle.run_id})

    def forget(self, handle: RunHandle) -> None:
        self._runs.pop(handle.run_id, None)

    async def close(self) -> None:
        """Close the control socket (the zygote then kills its workers and exits) and wait."""
        self._mark_lost("the zygote was closed")
        process = self._process
        if process is None:
            return
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()

    # --- control socket ------------------------------------------------------

    async def _send(self, message: dict[str, Any], fd: int | None = None) -> None:
        data = json.dumps(message).encode()
        while True:
            sock = self._sock
            if sock is None or self._lost:
                raise ZygoteLost("the zygote is not running")
            try:
                if fd is None:
                    sock.send(data)
                else:
                    socket.send_fds(sock, [data], [fd])
                return
            except BlockingIOError:
                await self._writable(sock)
            except OSError as exc:
                self._mark_lost(f"control socket: {exc}")
                raise ZygoteLost(str(exc)) from None

    async def _writable(self, sock: socket.socket) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(None)

        self._loop.add_writer(sock.fileno(), ready)
        try:
            await waiter
        finally:
            self._loop.remove_writer(sock.fileno())

    def _on_readable(self) -> None:
        sock = self._sock
        while sock is not None and not self._lost:
            try:
                data = sock.recv(CONTROL_DATAGRAM_BYTES)
            except BlockingIOError:
                return
            except OSError as exc:
                self._mark_lost(f"control socket: {exc}")
                return
            if not data:
                self._mark_lost("the zygote exited")
                return
            try:
                self._dispatch(json.loads(data))
            except (ValueError, KeyError, TypeError):
                log.error("sandbox zygote sent a malformed control message")

    def _dispatch(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "ready":
            if not self._ready.done():
                self._ready.set_result(message)
            return
        if op == "error":
            if not self._ready.done():
                self._ready.set_exception(
                    SandboxUnavailable(f"sandbox zygote: {message['message']}")
                )
            return
        handle = self._runs.get(int(message["id"]))
        if handle is None:
            return
        if op == "started":
            handle.pid = int(message["pid"])
        elif op == "failed":
            if not handle.exited.done():
                handle.exited.set_exception(ZygoteLost(str(message["message"])))
            self._runs.pop(handle.run_id, None)
        elif op == "exit":
            info = ExitInfo(
                code=message["code"],
                signal=message["signal"],
                cpu_ms=float(message["cpu_ms"]),
                max_rss_kb=int(message["max_rss_kb"]),
            )
            cache = message.get("code_cache")
            if isinstance(cache, dict):
                self.code_cache = {str(k): int(v) for k, v in cache.items()}
            if not handle.exited.done():
                handle.exited.set_result(info)
            self._runs.pop(handle.run_id, None)

    def _mark_lost(self, reason: str) -> None:
        if self._lost:
            return
        self._lost = True
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        error = ZygoteLost(reason)
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # retrieved by start(), or by nobody after close()
        for handle in self._runs.values():
            if not handle.exited.done():
                handle.exited.set_exception(error)
                handle.exited.exception()  # mark retrieved: nobody may be waiting on it
        self._runs.clear()
        log.info("sandbox zygote lost: %s", reason)
