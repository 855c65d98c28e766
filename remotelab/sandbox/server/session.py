"""One run, server side: send the job, serve the worker's calls, enforce the wall clock.

A run answers as soon as its worker's result arrives (with the worker's own usage);
the worker's exit is awaited afterwards (:meth:`RunSession.reaped`, the pool keeps the
run's slot until then). A run the server or the kernel ends waits for the exit first.

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
from dataclasses import dataclass
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
    CANCELLED,
    KILLED,
    TIMEOUT,
    WORKER_ERROR,
    RunError,
    RunResult,
    RunStats,
    Status,
)
from remotelab.sandbox.server.control import RunControl
from remotelab.sandbox.server.supervisor import ExitInfo, RunHandle, ZygoteLost, ZygoteProcess
from remotelab.widgets import merge_output

log = logging.getLogger(__name__)

DeviceCall = Callable[[str, list[Any], dict[str, Any]], Awaitable[Any]]
"""``device_call(name, args, kwargs)``: validate and run one instrument call for the user."""
HoldDevice = Callable[[object], Awaitable[Callable[[], None]]]
"""``hold_device(seconds)``: wait for the device and hold it for the user (raises InputError
for seconds over the user's limit); returns the function that releases it."""
FunctionValidator = Callable[[str], object]
"""``validate_function(function_string)``: raise when a button's function string is invalid."""

EXIT_GRACE_SECONDS = 2.0
MAX_ERROR_TYPE_CHARS = 200
SAMPLE_GRACE_SECONDS = 0.1
"""How long a worker over its time may take to send its line and pending output."""


class ZygoteUnresponsive(SandboxError):
    """A worker did not exit after SIGKILL was asked for: the zygote no longer serves."""


@dataclass
class Spare:
    """A worker forked and isolated ahead of time, waiting for its one job."""

    zygote: ZygoteProcess
    sock: socket.socket
    handle: RunHandle

    @property
    def usable(self) -> bool:
        return self.zygote.alive and not self.handle.exited.done()

    def discard(self) -> None:
        """Close our end: the worker reads no job and exits (the zygote reaps it)."""
        self.sock.close()


async def make_spare(zygote: ZygoteProcess, limits: SandboxSettings) -> Spare:
    """Fork a worker isolated under ``limits`` that waits for a job. Raises ZygoteLost."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        handle = await zygote.spawn(child, limits)
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
    return Spare(zygote, parent, handle)


class RunSession:
    """Drives one worker. Use once: ``await RunSession(...).run(code)``."""

    def __init__(
        self,
        zygote: ZygoteProcess,
        job: Job,
        device_call: DeviceCall | None,
        validate_function: FunctionValidator | None,
        control: RunControl | None = None,
        hold_device: HoldDevice | None = None,
    ) -> None:
        """``job`` is the run's job but for its code: limits, functions, widget limits.
        ``control`` gets the streamed output and may cancel the run. ``hold_device`` serves
        the script's ``with hold(seconds):`` (None: holds fail like instrument calls); a hold
        still in force when the run ends, however it ends, is released."""
        self._zygote = zygote
        self._job = job
        self._limits = job.limits
        self._functions = frozenset(job.functions)
        self._device_call = device_call
        self._validate_function = validate_function
        self._control = control
        self._hold_device = hold_device
        #: Releases the script's hold in force, if any.
        self._release: Callable[[], None] | None = None
        self.device_calls = 0
        self.cancelled = False
        #: What the worker streamed so far, and the last line of the script it reported.
        self.widgets: list[dict[str, Any]] = []
        self._stdout: list[str] = []
        self._stdout_chars = 0
        self._max_stdout = job.limits.stdout_bytes + len(TRUNCATION_MARKER) + 20
        self.line: int | None = None
        self._clock: asyncio.Timeout | None = None
        #: The worker sent its result and is still exiting: :meth:`reaped` waits for it.
        self.reaping = False
        self._handle: RunHandle | None = None

    @property
    def zygote(self) -> ZygoteProcess:
        return self._zygote

    async def run(self, code: str, spare: Spare | None = None) -> RunResult:
        """Run ``code`` in ``spare`` (a worker forked ahead of time), else in a fresh worker.

        Raises :class:`ZygoteLost` when the zygote cannot take the run (nothing
        ran: the caller may retry with a new zygote) and :class:`SandboxError`
        when the machinery fails later.
        """
        if spare is None:
            spare = await make_spare(self._zygote, self._limits)
        parent, handle = spare.sock, spare.handle
        self._handle = handle
        try:
            if self._control is not None:
                self._control.bind(self.cancel)
            try:
                return await self._drive(parent, handle, code)
            finally:
                self._end_hold()  # killed, cancelled, crashed or done: never left held
                if self._control is not None:
                    self._control.bind(None)
                if not self.reaping:
                    self._zygote.forget(handle)
        finally:
            parent.close()

    async def reaped(self) -> None:
        """When :attr:`reaping`: wait until the worker is gone (killed if it has not exited
        within :data:`EXIT_GRACE_SECONDS` of its result). Raises :class:`ZygoteUnresponsive`
        when even SIGKILL does not end it."""
        handle = self._handle
        if not self.reaping or handle is None:
            return
        try:
            await self._finish(handle, kill=False)
        finally:
            self.reaping = False
            self._zygote.forget(handle)

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
                async with asyncio.timeout(EXIT_GRACE_SECONDS):  # no task, unlike wait_for
                    await writer.wait_closed()

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
            device=self._device_call is not None,
            validate=self._validate_function is not None,
            live=self._control is not None and self._control.on_output is not None,
        )
        started = loop.time()
        outcome: dict[str, Any] | None = None
        problem: str | None = None
        timed_out = False
        heard = False  # any frame from the worker
        frames: asyncio.Queue[dict[str, Any] | BaseException | None] = asyncio.Queue()
        pump = asyncio.create_task(self._pump(reader, frames))
        try:
            try:
                async with asyncio.timeout_at(started + self._limits.wall_seconds) as clock:
                    self._clock = clock
                    if self._control is not None and self._control.cancelled:
                        self.cancelled = True  # stopped between its slot and its worker
                        clock.reschedule(loop.time())
                    writer.write(encode(message))
                    await writer.drain()
                    while outcome is None:
                        request = await self._next(frames)
                        if request is None:
                            break
                        if not heard and self._control is not None:
                            self._control.worker_pid = handle.pid
                        heard = True
                        kind = request.get("type")
                        if kind == "output":
                            self._on_output(request)
                            continue
                        if kind in ("result", "fatal"):
                            outcome = request
                        elif kind == "call":
                            self._take_line(request.get("line"))
                            writer.write(encode(await self._call(request)))
                        elif kind == "validate":
                            writer.write(encode(self._validate(request)))
                        elif kind == "hold":
                            self._take_line(request.get("line"))
                            writer.write(encode(await self._hold(request)))
                        elif kind == "release":
                            self._end_hold()
                            writer.write(encode({"type": "reply", "ok": True, "value": None}))
                        else:
                            raise ProtocolError(f"unexpected message type {kind!r}")
                        await writer.drain()
            except TimeoutError:
                timed_out = True
            finally:
                self._clock = None
            if timed_out and not self.cancelled and handle.pid is not None:
                outcome = await self._sample(frames, handle)
                timed_out = outcome is None
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
            problem = str(exc) or type(exc).__name__
        finally:
            pump.cancel()
        wall_ms = round((loop.time() - started) * 1000, 3)
        usage = worker_usage(outcome)
        if usage is not None:
            # A result with the worker's own CPU time and peak memory: answer now, while
            # the worker exits; the pool keeps its place until it is gone (reaped()).
            self.reaping = True
            cpu_ms, max_rss_kb = usage
            exit_info = None
        else:
            exit_info = await self._finish(handle, kill=outcome is None)
            cpu_ms = 0.0 if exit_info is None else exit_info.cpu_ms
            max_rss_kb = 0 if exit_info is None else exit_info.max_rss_kb
        if exit_info is None and handle.pid is None and not heard and not timed_out:
            # The zygote died before it could say it forked: nothing the server
            # can see has run, so the run may be retried on a new zygote.
            raise ZygoteLost("the zygote stopped before the run started")
        stats = RunStats(
            wall_ms=wall_ms,
            cpu_ms=cpu_ms,
            device_calls=self.device_calls,
            max_rss_kb=max_rss_kb,
        )
        if outcome is not None and outcome.get("type") == "fatal":
            raise SandboxError(f"sandbox worker: {str(outcome.get('message'))[:500]}")
        if timed_out and self.cancelled:
            text = "the run was stopped by its owner"
            return self._partial("cancelled", RunError(CANCELLED, text, self.line), stats)
        if timed_out:
            text = f"the script ran longer than the time limit of {self._limits.wall_seconds:g} s"
            return self._partial("timeout", RunError(TIMEOUT, text, self.line), stats)
        if problem is not None:
            text = f"the worker sent an invalid message ({problem[:200]})"
            return RunResult("error", error=RunError(WORKER_ERROR, text), stats=stats)
        if outcome is None:
            error = death_error(exit_info, self._limits)
            error = dataclasses.replace(error, line=self.line)
            return self._partial("killed", error, stats)
        return self._result(outcome, stats)

    def cancel(self) -> None:
        """Stop the run now: the worker is killed and the result says ``cancelled``."""
        if self.cancelled:
            return
        self.cancelled = True
        clock = self._clock
        if clock is not None:
            clock.reschedule(asyncio.get_running_loop().time())

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        frames: asyncio.Queue[dict[str, Any] | BaseException | None],
    ) -> None:
        """Read whole frames into ``frames`` (a consumer can be interrupted between frames
        without losing half of one); ``None`` at the end, an exception when malformed."""
        try:
            while True:
                frame = await self._read(reader)
                frames.put_nowait(frame)
                if frame is None:
                    return
        except (ProtocolError, ConnectionError, asyncio.IncompleteReadError) as exc:
            frames.put_nowait(exc)

    @staticmethod
    async def _next(
        frames: asyncio.Queue[dict[str, Any] | BaseException | None],
    ) -> dict[str, Any] | None:
        frame = await frames.get()
        if isinstance(frame, BaseException):
            raise frame
        return frame

    async def _sample(
        self,
        frames: asyncio.Queue[dict[str, Any] | BaseException | None],
        handle: RunHandle,
    ) -> dict[str, Any] | None:
        """Before a kill for time: ask the worker for its line and pending output, and take
        what it sends within :data:`SAMPLE_GRACE_SECONDS`. Returns its result if it
        finished in that time (else None)."""
        try:
            await self._zygote.sample(handle)
            async with asyncio.timeout(SAMPLE_GRACE_SECONDS):
                while True:
                    frame = await self._next(frames)
                    if frame is None:
                        return None
                    kind = frame.get("type")
                    if kind == "output":
                        self._on_output(frame)
                        if frame.get("sample") is True:
                            return None
                    elif kind == "result":
                        return frame
                    else:
                        return None  # a call after the limit is not served
        except (TimeoutError, ZygoteLost, ProtocolError, ConnectionError):
            return None
        except asyncio.IncompleteReadError:
            return None

    # --- what the worker streamed ------------------------------------------------

    def _take_line(self, line: object) -> None:
        if isinstance(line, int) and not isinstance(line, bool) and line > 0:
            self.line = line

    def _on_output(self, frame: dict[str, Any]) -> None:
        """Check and keep one ``output`` frame; tell the run's watcher."""
        widgets, text = frame.get("widgets"), frame.get("stdout")
        if not isinstance(widgets, list) or not isinstance(text, str):
            raise ProtocolError("malformed output")
        check_widgets(widgets, self._check_function)
        shown = list(self.widgets)
        # The first widget may be the last one sent, grown by prints since: it replaces it.
        if merge_output(shown, widgets) and len(shown) > self._job.widgets.max_widgets:
            raise ProtocolError("too many widgets")
        self._stdout_chars += len(text)
        if self._stdout_chars > self._max_stdout:
            raise ProtocolError("stdout")
        self._take_line(frame.get("line"))
        self.widgets = shown
        if text:
            self._stdout.append(text)
        if (widgets or text) and self._control is not None:
            self._control.output(widgets, text, self.line)

    def _partial(self, status: Status, error: RunError, stats: RunStats) -> RunResult:
        """The result of a run the server ended: what it streamed before."""
        return RunResult(status, list(self.widgets), "".join(self._stdout), error, stats)

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
                async with asyncio.timeout(EXIT_GRACE_SECONDS):
                    return await asyncio.shield(handle.exited)
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

    async def _hold(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._hold_device is None:
            return _failure("failed", NO_DEVICE_MESSAGE)
        self._end_hold()  # one hold per run at a time (the worker does not nest them)
        try:
            self._release = await self._hold_device(request.get("seconds"))
        except InputError as exc:
            return _failure("invalid", exc.message)
        except RemotelabError as exc:
            return _failure("failed", exc.message)
        return {"type": "reply", "ok": True, "value": None}

    def _end_hold(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

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
        streamed = "".join(self._stdout)
        count = len(self.widgets)
        # The result repeats what was streamed, then the rest; or, when it was over
        # max_result_bytes, the worker dropped its widgets (and maybe its text) for an error.
        widgets_agree = _streamed_agrees(self.widgets, widgets)
        stdout_agrees = stdout.startswith(streamed)
        dropped = status == "error" and not widgets and (stdout_agrees or not stdout)
        if not (widgets_agree and stdout_agrees) and not dropped:
            text = "the worker sent a result that disagrees with its output"
            return RunResult("error", error=RunError(WORKER_ERROR, text), stats=stats)
        if widgets_agree and stdout_agrees and self._control is not None:
            tail_widgets, tail_text = widgets[count:], stdout[len(streamed) :]
            if count and widgets[count - 1] != self.widgets[-1]:
                tail_widgets.insert(0, widgets[count - 1])  # it grew: sent again whole
            if tail_widgets or tail_text:
                self._control.output(tail_widgets, tail_text, self.line)
        return RunResult(status, widgets, stdout, error, stats)


def _streamed_agrees(streamed: list[dict[str, Any]], final: list[Any]) -> bool:
    """Whether a result's ``final`` widgets begin with those ``streamed``; the last one
    streamed may have grown since (prints after its last batch): its name agrees."""
    if not streamed:
        return True
    head = len(streamed) - 1
    return (
        len(final) > head
        and final[:head] == streamed[:head]
        and isinstance(final[head], dict)
        and final[head].get("name") == streamed[head].get("name")
    )


MAX_USAGE_CPU_MS = 1e9
MAX_USAGE_RSS_KB = 1 << 40


def worker_usage(outcome: dict[str, Any] | None) -> tuple[float, int] | None:
    """``(cpu_ms, max_rss_kb)`` from a ``result`` message's ``usage``, or None when the
    message is not a result or its usage is missing or not plausible numbers (then the
    server waits for the worker's exit and takes the kernel's figures from ``wait4``)."""
    if outcome is None or outcome.get("type") != "result":
        return None
    usage = outcome.get("usage")
    if not isinstance(usage, dict):
        return None
    cpu_ms, max_rss_kb = usage.get("cpu_ms"), usage.get("max_rss_kb")
    if not (
        isinstance(cpu_ms, int | float)
        and not isinstance(cpu_ms, bool)
        and 0 <= cpu_ms <= MAX_USAGE_CPU_MS
        and isinstance(max_rss_kb, int)
        and not isinstance(max_rss_kb, bool)
        and 0 <= max_rss_kb <= MAX_USAGE_RSS_KB
    ):
        return None
    return float(cpu_ms), max_rss_kb


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
    check_widgets(widgets, check_function)
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
    return ("ok" if status == "ok" else "error"), widgets, stdout, error


def check_widgets(widgets: list[Any], check_function: Callable[[str], str | None]) -> None:
    """Each widget an object with a type; each button's function string valid again."""
    for widget in widgets:
        if not (isinstance(widget, dict) and isinstance(widget.get("type"), str)):
            raise ProtocolError("a widget is not an object with a type")
        if widget["type"] == "button":
            action = widget.get("action")
            endpoint = action.get("endpoint") if isinstance(action, dict) else None
            if not isinstance(endpoint, str) or check_function(endpoint) is not None:
                raise ProtocolError("a button's function string does not validate")


def _failure(kind: str, message: str) -> dict[str, Any]:
    return {"type": "reply", "ok": False, "kind": kind, "message": message}
