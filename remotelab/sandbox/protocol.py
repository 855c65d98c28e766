"""The sandbox protocol: what the server and the zygote or a worker say to each other.

Shared by both sides, and the only sandbox code (with :mod:`.result`) that
both import: the job description (:class:`Job`), the
constants both sides must agree on, the frame encoding and the conversion of
values for the wire. Pure: no processes, no sandbox policy, no server state.

Run socket (one stream socketpair per run, server <-> worker): frames of a
4-byte big-endian length and a UTF-8 JSON object with a ``"type"``::

    server -> worker  {"type": "job", "code", "limits", "widgets", "max_script_bytes",
                       "functions", "device", "validate", "live"}
                      (limits and widgets: the run's sections of the settings,
                       remotelab.config.SandboxSettings and WidgetSettings; live:
                       someone follows the run, its first output goes at once)
    worker -> server  {"type": "output", "widgets", "stdout", "line", "sample"}
                      (new widgets and text since the last one, batched; worker/live.py)
                      {"type": "call", "name", "args", "kwargs", "line"}
                      {"type": "validate", "function", "line"}
                      {"type": "hold", "seconds", "line"}   (``with hold(s):`` begins: the
                       reply comes when the device is held; ADR 0012)
                      {"type": "release", "line"}           (the block ended)
    server -> worker  {"type": "reply", "ok": true, "value"}
                      {"type": "reply", "ok": false, "kind": "invalid"|"failed"|"limit", "message"}
    worker -> server  {"type": "result", "status", "widgets", "stdout", "error",
                       "usage": {"cpu_ms", "max_rss_kb"}}
                      (usage: the worker's own getrusage after the script; with it the
                       server answers before the worker has exited, without it the
                       server waits for the exit and takes wait4's figures)
                      {"type": "fatal", "message"}     (the worker could not set itself up)

Control socket (one ``SOCK_SEQPACKET`` pair, server <-> zygote): one JSON object
per datagram, with an ``"op"``::

    zygote -> server  {"op": "ready", "pid", "isolation": {...}, "vm_kb"}
                      {"op": "error", "message"}     (instead of ready: it cannot serve)
    server -> zygote  {"op": "run", "id", "limits"}  + the worker's socket (SCM_RIGHTS);
                      the worker isolates itself under "limits" before it reads its job,
                      so it may be forked ahead of time and wait (a spare)
    zygote -> server  {"op": "started", "id", "pid"}
                      {"op": "failed", "id", "message"}   (fork failed)
                      {"op": "exit", "id", "code", "signal", "cpu_ms", "max_rss_kb",
                       "code_cache": {"entries", "bytes", "max_bytes", "hits", "misses"}}
    server -> zygote  {"op": "kill", "id"}
                      {"op": "sample", "id"}         (SIGUSR1: the worker sends its line)

Every message from a worker is untrusted: readers check types and sizes.
"""

from __future__ import annotations

import functools
import json
import socket
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from remotelab.config import SandboxSettings, ScriptSettings, WidgetSettings
from remotelab.sandbox.result import LIMIT_EXCEEDED, RunError

HEADER = struct.Struct(">I")
"""A frame's length prefix on the run socket."""
CONTROL_DATAGRAM_BYTES = 65_536
"""Largest control-socket datagram either end reads."""
MAX_WIRE_DEPTH = 32
"""Deepest nesting of lists and dicts :func:`to_wire` converts."""
MAX_MESSAGE_CHARS = 2_000
"""Longest exception message a worker reports (then cut and marked); the server accepts
some more (the mark, server paths replaced by ``<server>``), then cuts."""
TRUNCATION_MARKER = "\n[output truncated: more than {limit} bytes]\n"
"""Appended to printed text cut at ``stdout_bytes`` (``{limit}`` is that cap)."""
NO_DEVICE_MESSAGE = "the instrument is not available to this run"
"""What an instrument call says in a run that has no instrument."""


@dataclass(frozen=True)
class Job:
    """What the server sends a worker: the script and how to run it."""

    code: str
    limits: SandboxSettings = field(default_factory=SandboxSettings)
    functions: tuple[str, ...] = ()
    widgets: WidgetSettings = field(default_factory=WidgetSettings)
    max_script_bytes: int = ScriptSettings().max_script_bytes

    def to_message(self, *, device: bool, validate: bool, live: bool = True) -> dict[str, Any]:
        return {
            "type": "job",
            "code": self.code,
            "limits": section_fields(self.limits),
            "widgets": section_fields(self.widgets),
            "max_script_bytes": self.max_script_bytes,
            "functions": list(self.functions),
            "device": device,
            "validate": validate,
            "live": live,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Job:
        """Raises ``KeyError``, ``TypeError``, ``ValueError`` or ``ConfigError`` (limits
        out of range) for a malformed job."""
        code = message["code"]
        functions = message["functions"]
        if not isinstance(code, str) or not isinstance(functions, list):
            raise TypeError("malformed job")
        return cls(
            code,
            SandboxSettings(**message["limits"]),
            tuple(map(str, functions)),
            WidgetSettings(**message["widgets"]),
            int(message["max_script_bytes"]),
        )


@functools.lru_cache(maxsize=16)
def _section_fields(section: SandboxSettings | WidgetSettings) -> dict[str, Any]:
    return asdict(section)


def section_fields(section: SandboxSettings | WidgetSettings) -> dict[str, Any]:
    """``asdict(section)``, a copy of a cached one (every run of a pool sends the same)."""
    return dict(_section_fields(section))


def source_size_error(source: str, max_source_bytes: int) -> RunError | None:
    """A ``LimitExceeded`` error when ``source`` is over the cap (UTF-8 bytes), else None.

    The server checks before it starts a worker, the worker again before it compiles.
    """
    size = len(source.encode("utf-8", "surrogatepass"))
    if size <= max_source_bytes:
        return None
    return RunError(
        LIMIT_EXCEEDED, f"the script is {size} bytes long; the limit is {max_source_bytes}", None
    )


class ProtocolError(Exception):
    """A malformed or oversized message."""


def encode(message: dict[str, Any]) -> bytes:
    """A length-prefixed frame. NaN and infinities are allowed (both ends are ours)."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    """The JSON object in a frame body. Raises :class:`ProtocolError`."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {type(exc).__name__}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message


def send_frame(sock: socket.socket, message: dict[str, Any]) -> None:
    """Blocking send of one frame (worker side)."""
    sock.sendall(encode(message))


def recv_frame(sock: socket.socket, max_bytes: int) -> dict[str, Any] | None:
    """Blocking receive of one frame (worker side); ``None`` at end of stream."""
    header = _recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise ProtocolError(f"frame of {length} bytes is over the limit of {max_bytes}")
    body = _recv_exactly(sock, length)
    if body is None:
        raise ProtocolError("end of stream inside a frame")
    return decode(body)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            if chunks:
                raise ProtocolError("end of stream inside a frame")
            return None
        chunks += chunk
    return bytes(chunks)


def to_wire(value: object, depth: int = 0) -> Any:
    """An instrument call's value as JSON data, or ``TypeError``: both directions.

    A worker converts a script's arguments (the message is the script's
    ``TypeError``); the server converts the instrument's result (the device
    service has already made it JSON data; anything else is refused and logged).
    Accepts None, bools, ints, floats (NaN and infinities travel as JSON
    extensions between our processes), strings, lists and tuples of these,
    dicts with string keys, numpy scalars and (non-object) numpy arrays.
    """
    if depth > MAX_WIRE_DEPTH:
        raise TypeError("instrument call arguments are nested too deeply")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, bool | int | float | str):
            return item
    elif isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return value.tolist()
    elif isinstance(value, list | tuple):
        return [to_wire(item, depth + 1) for item in value]
    elif isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: to_wire(item, depth + 1) for key, item in value.items()}
    raise TypeError(
        "instrument function arguments must be numbers, strings, booleans, None "
        f"or lists of these, not {type(value).__name__}"
    )


def from_wire(value: Any) -> Any:
    """An instrument result as a script sees it: lists of numbers become arrays.

    pslab returns numpy arrays from its captures; JSON carried them as lists.
    A list of plain numbers becomes a numpy array (int or float), other lists
    stay lists (their items converted), dicts keep their keys.
    """
    if isinstance(value, list):
        if value and all(type(item) in (int, float) for item in value):
            array = np.array(value)
            if array.dtype.kind in "iuf":
                return array
        return [from_wire(item) for item in value]
    if isinstance(value, dict):
        return {key: from_wire(item) for key, item in value.items()}
    return value
