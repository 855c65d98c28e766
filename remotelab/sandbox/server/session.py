"""One run, server side: send the job, serve the worker's calls, enforce the wall clock.

The worker is untrusted: every message it sends is checked (type, size,
shape) before use, instrument calls are counted here (the worker's own count
is only for a quick message), and button function strings in its result are
validated again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from remotelab.config import SandboxSettings
from remotelab.errors import InputError, RemotelabError, SandboxError
from remotelab.sandbox.protocol import (
    HEADER,
    MAX_MESSAGE_CHARS,
    NO_DEVICE_MESSAGE,
    TRUNCATION_MARKER,
    Job,
    ProtocolError,
    decode,
    encode,
    to_wire,
)
from remotelab.sandbox.result import (
    KILLED,
    TIMEOUT,
    WORKER_ERROR,
    RunError,
    RunResult,
    RunStats,
    Status,
)
from remotelab.sandbox.server.supervisor import ExitInfo, RunHandle, ZygoteLost, ZygoteProcess

log = logging.getLogger(__name__)

DeviceCall = Callable[[str, list[Any], dict[str, Any]], Awaitable[Any]]
"""``device_call(name, args, kwargs)``: validate and run one instrument call for the user."""
FunctionValidator = Callable[[str], object]
"""``validate_function(function_string)``: raise when a button's function string is invalid."""

EXIT_GRACE_SECONDS = 2.0
MAX_ERROR_TYPE_CHARS = 200


class ZygoteUnresponsive(SandboxError):
    """A worker did not exit after SIGKILL was asked for: the zygote no longer serves."""


class RunSession:
    """Drives one worker. Use once: ``await RunSession(...).run(code)``."""

    def __init__(
        self,
        zygote: ZygoteProcess,
        job: Job,
        device_call: DeviceCall | None,
        validate_function: FunctionValidator | None,
    ) -> None:
        """``job`` is the run's job but for its code: limits, functions, widget limits."""
        self._zygote = zygote
        self._job = job
        self._limits = job.limits
        self._functions = frozenset(job.functions)
        self._device_call = device_call
        self._validate_function = validate_function
        self.device_calls = 0

    async def run(self, code: str) -> RunResult:
        """Run ``code`` in a fresh worker.

        Raises :class:`ZygoteLost` when the zygote cannot take the run (nothing
        ran: the caller may retry with a new zygote) and :class:`SandboxError`
        when the machinery fails later.
        """
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                handle = await self._zygote.spawn(child)
            finally:
                child.close()
            try:
                return await self._drive(parent, handle, code)
            finally:
                self._zygote.forget(handle)
        finally:
            parent.close()

    async def _drive(self, sock: socket.socket, handle: RunHandle, code: str) -> RunResult:
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        finished = False
        try:
            result = await self._exchange(reader, writer, handle, code)
            finished = True
            return result
        finally:
            if not finished:  # cancelled, or the machinery failed: the worker must not live on
                with contextlib.suppress(ZygoteLost):
                    await self._zygote.kill(handle)
            writer.close()
            # Always: waiting retrieves the error a reset connection leaves behind
            # (else asyncio reports "Future exception was never retrieved").
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), EXIT_GRACE_SECONDS)

    async def _exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handle: RunHandle,
        code: str,
    ) -> RunResult:
        loop = asyncio.get_running_loop()
        job = dataclasses.replace(self._job, code=code)
        message = job.to_message(
            device=self._device_call is not None, validate=self._validate_function is not None
        )
        started = loop.time()
        outcome: dict[str, Any] | None = None
        problem: str | None = None
        timed_out = False
        heard = False  # any frame from the worker
        try:
            async with asyncio.timeout_at(started + self._limits.wall_seconds):
                writer.write(encode(message))
                await writer.drain()
                while outcome is None:
                    request = await self._read(reader)
                    if request is None:
                        break
                    heard = True
                    kind = request.get("type")
                    if kind in ("result", "fatal"):
                        outcome = request
                    elif kind == "call":
                        writer.write(encode(await self._call(request)))
                    elif kind == "validate":
                        writer.write(encode(self._validate(request)))
                    else:
                        raise ProtocolError(f"unexpected message type {kind!r}")
                    await writer.drain()
        except TimeoutError:
            timed_out = True
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
            problem = str(exc) or type(exc).__name__
        wall_ms = round((loop.time() - started) * 1000, 3)
        exit_info = await self._finish(handle, kill=outcome is None)
        if exit_info is None and handle.pid is None and not heard and not timed_out:
            # The zygote died before it could say it forked: nothing the server
            # can see has run, so the run may be retried on a new zygote.
            raise ZygoteLost("the zygote stopped before the run started")
        stats = RunStats(
            wall_ms=wall_ms,
            cpu_ms=0.0 if exit_info is None else exit_info.cpu_ms,
            device_calls=self.device_calls,
            max_rss_kb=0 if exit_info is None else exit_info.max_rss_kb,
        )
        if outcome is not None and outcome.get("type") == "fatal":
            raise SandboxError(f"sandbox worker: {str(outcome.get('message'))[:500]}")
        if timed_out:
            text = f"the script ran longer than the time limit of {self._limits.wall_seconds:g} s"
            return RunResult("timeout", error=RunError(TIMEOUT, text), stats=stats)
        if problem is not None:
            text = f"the worker sent an invalid message ({problem[:200]})"
            return RunResult("error", error=RunError(WORKER_ERROR, text), stats=stats)
        if outcome is None:
            return RunResult("killed", error=death_error(exit_info, self._limits), stats=stats)
        return self._result(outcome, stats)

    async def _read(self, reader: asyncio.StreamReader) -> dict[str, Any] | None:
        try:
            header = await reader.readexactly(HEADER.size)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise ProtocolError("end of stream inside a frame") from None
            return None
        (length,) = HEADER.unpack(header)
        if length > self._limits.max_result_bytes:
            raise ProtocolError(f"a frame of {length} bytes is over the result limit")
        return decode(await reader.readexactly(length))

    async def _finish(self, handle: RunHandle, *, kill: bool) -> ExitInfo | None:
        """Wait for the worker's exit (killing it first if it has not sent a result)."""
        for attempt in range(2):
            if kill or attempt:
                try:
                    await self._zygote.kill(handle)
                except ZygoteLost:
                    return None
            try:
                return await asyncio.wait_for(asyncio.shield(handle.exited), EXIT_GRACE_SECONDS)
            except ZygoteLost:
                return None
            except TimeoutError:
                continue
        raise ZygoteUnresponsive("a sandbox worker did not exit after SIGKILL")

    # --- requests from the worker ----------------------------------------------

    async def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        name, args, kwargs = request.get("name"), request.get("args"), request.get("kwargs")
        if not (isinstance(name, str) and isinstance(args, list) and isinstance(kwargs, dict)):
            return _failure("failed", "malformed instrument call")
        if name not in self._functions:
            return _failure("invalid", f"unknown instrument function: {name[:100]}")
        self.device_calls += 1
        if self.device_calls > self._limits.max_device_calls:
            return _failure(
                "limit",
                "too many instrument calls: a run may make at most "
                f"{self._limits.max_device_calls}",
            )
        if self._device_call is None:
            return _failure("failed", NO_DEVICE_MESSAGE)
        try:
            value = await self._device_call(name, args, kwargs)
        except InputError as exc:
            return _failure("invalid", exc.message)
        except RemotelabError as exc:
            return _failure("failed", exc.message)
        except Exception:
            log.exception("instrument call %s from a sandboxed script failed", name)
            return _failure("failed", f"{name}: the instrument call failed")
        try:
            reply = {"type": "reply", "ok": True, "value": to_wire(value)}
        except TypeError:
            log.error("instrument call %s returned a %s", name, type(value).__name__)
            return _failure("failed", f"{name}: the instrument returned an unsupported value")
        if len(encode(reply)) > self._limits.max_result_bytes:
            return _failure("failed", f"{name}: the result is too large for a script")
        return reply

    def _validate(self, request: dict[str, Any]) -> dict[str, Any]:
        function = request.get("function")
        if not isinstance(function, str):
            return _failure("invalid", "a function string must be a string")
        error = self._check_function(function)
        if error is not None:
            return _failure("invalid", error)
        return {"type": "reply", "ok": True, "value": None}

    def _check_function(self, function: str) -> str | None:
        if self._validate_function is None:
            return None
        try:
            self._validate_function(function)
        except RemotelabError as exc:
            return exc.message
        except Exception:
            log.exception("validating a button's function string failed")
            return "invalid function string"
        return None

    # --- outcome -------------------------------------------------------------

    def _result(self, outcome: dict[str, Any], stats: RunStats) -> RunResult:
        try:
            status, widgets, stdout, error = check_outcome(outcome, self._job, self._check_function)
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            text = f"the worker sent an invalid result ({str(exc)[:200]})"
            return RunResult("error", error=RunError(WORKER_ERROR, text), stats=stats)
        return RunResult(status, widgets, stdout, error, stats)


def death_error(exit_info: ExitInfo | None, limits: SandboxSettings) -> RunError:
    """Why a worker ended without sending a result (``exit_info`` None: the zygote went away)."""
    cpu_text = f"the script used more than {limits.cpu_seconds:g} s of CPU time"
    if exit_info is None:
        return RunError(KILLED, "the sandbox stopped during the run")
    if exit_info.signal == signal.SIGXCPU:
        return RunError(KILLED, cpu_text)
    if exit_info.signal == signal.SIGKILL:
        # SIGKILL that the server did not ask for: the hard CPU limit, or the OOM killer.
        if exit_info.cpu_ms >= limits.cpu_seconds * 1000:
            return RunError(KILLED, cpu_text)
        return RunError(KILLED, "the worker was killed (out of memory?)")
    if exit_info.signal is not None:
        try:
            name = signal.Signals(exit_info.signal).name
        except ValueError:
            name = str(exit_info.signal)
        return RunError(KILLED, f"the worker crashed ({name})")
    return RunError(KILLED, f"the worker stopped unexpectedly (exit code {exit_info.code})")


def check_outcome(
    outcome: dict[str, Any],
    job: Job,
    check_function: Callable[[str], str | None],
) -> tuple[Status, list[dict[str, Any]], str, RunError | None]:
    """Check a worker's ``result`` message; return ``(status, widgets, stdout, error)``.

    ``check_function(s)`` returns an error text for an invalid function string.
    Raises :class:`ProtocolError` (or ``KeyError``/``TypeError``) when the message
    is not what an honest worker sends within ``job``'s limits.
    """
    status = outcome["status"]
    widgets = outcome["widgets"]
    stdout = outcome["stdout"]
    raw_error = outcome["error"]
    if status not in ("ok", "error"):
        raise ProtocolError(f"status {str(status)[:20]!r}")
    if not isinstance(widgets, list) or len(widgets) > job.widgets.max_widgets:
        raise ProtocolError("too many widgets")
    if not all(isinstance(w, dict) and isinstance(w.get("type"), str) for w in widgets):
        raise ProtocolError("a widget is not an object with a type")
    max_stdout = job.limits.stdout_bytes + len(TRUNCATION_MARKER) + 20
    if not isinstance(stdout, str) or len(stdout) > max_stdout:
        raise ProtocolError("stdout")
    error: RunError | None = None
    if raw_error is not None:
        kind, text, line = raw_error["type"], raw_error["message"], raw_error["line"]
        if not (isinstance(kind, str) and isinstance(text, str)):
            raise ProtocolError("error type and message must be strings")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool)):
            raise ProtocolError("error line must be an int or null")
        error = RunError(kind[:MAX_ERROR_TYPE_CHARS], text[: MAX_MESSAGE_CHARS + 1000], line)
    if (status == "ok") != (error is None):
        raise ProtocolError("status and error disagree")
    for widget in widgets:
        if widget["type"] == "button":
            endpoint = widget["action"]["endpoint"]
            if not isinstance(endpoint, str) or check_function(endpoint) is not None:
                raise ProtocolError("a button's function string does not validate")
    return ("ok" if status == "ok" else "error"), widgets, stdout, error


def _failure(kind: str, message: str) -> dict[str, Any]:
    return {"type": "reply", "ok": False, "kind": kind, "message": message}
