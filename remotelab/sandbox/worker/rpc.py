"""Worker side of the device RPC: instrument proxies and the button validator.

Inside the sandbox each instrument function is a plain function that sends
``{name, args, kwargs}`` to the server over the run's socket and blocks for
the reply. The server validates and schedules the call; the reply's value
comes back as data, an error comes back as a plain ``ValueError`` (the call
was invalid), ``RuntimeError`` (the instrument failed) or
:class:`~remotelab.sandbox.worker.errors.LimitExceeded` (too many calls). No host
object ever crosses.
"""

from __future__ import annotations

import math
import socket
import sys
from collections.abc import Callable, Iterable
from typing import Any

from remotelab.sandbox.protocol import (
    NO_DEVICE_MESSAGE,
    ProtocolError,
    from_wire,
    recv_frame,
    send_frame,
    to_wire,
)
from remotelab.sandbox.worker.errors import LimitExceeded
from remotelab.sandbox.worker.live import Live, script_line


class Channel:
    """The worker's end of the run socket (blocking; the server enforces the time limit)."""

    def __init__(self, sock: socket.socket, *, max_calls: int, max_frame_bytes: int) -> None:
        self._sock = sock
        self._max_calls = max_calls
        self._max_frame_bytes = max_frame_bytes
        self.calls = 0
        #: Whether the script is inside ``with hold(...)`` (holds do not nest).
        self.holding = False
        #: The run's output stream, once the script runs (pending output goes first, and
        #: its signal handlers wait while a request is out).
        self.live: Live | None = None

    def send(self, message: dict[str, Any]) -> None:
        send_frame(self._sock, message)

    def request(self, message: dict[str, Any]) -> Any:
        """Send ``message`` and return the reply's value, or raise the reply's error."""
        live = self.live
        if live is not None:
            line = script_line(sys._getframe(1))
            message["line"] = line
            live.before_request(line)
        try:
            send_frame(self._sock, message)
            reply = recv_frame(self._sock, self._max_frame_bytes)
        finally:
            if live is not None:
                live.after_request()
        if reply is None or reply.get("type") != "reply":
            raise ProtocolError("the server closed the run")
        if reply.get("ok") is True:
            return reply.get("value")
        kind = reply.get("kind")
        text = str(reply.get("message", "the call failed"))
        # Raised outside any except block: the exception carries no host context.
        if kind == "limit":
            raise LimitExceeded(text)
        if kind == "invalid":
            raise ValueError(text)
        raise RuntimeError(text)

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One instrument call; counts against ``max_calls`` before sending."""
        if self.calls >= self._max_calls:
            raise LimitExceeded(
                f"too many instrument calls: a run may make at most {self._max_calls}"
            )
        message = {"type": "call", "name": name, "args": to_wire(args), "kwargs": to_wire(kwargs)}
        self.calls += 1
        return from_wire(self.request(message))

    def validate(self, function_string: str) -> None:
        """Ask the server whether a button's function string is valid; ``ValueError`` if not."""
        self.request({"type": "validate", "function": function_string})


class Hold:
    """``with hold(seconds):`` — the device runs only this script's calls, in its context,
    for ``seconds`` at most (the server decides, waits for its turn, and releases it when
    the block ends, when the time is up, or when the run ends however it ends)."""

    __slots__ = ("_channel", "_seconds")

    def __init__(self, channel: Channel | None, seconds: float) -> None:
        self._channel = channel
        self._seconds = seconds

    def __enter__(self) -> None:
        channel = self._channel
        if channel is None:
            raise RuntimeError(NO_DEVICE_MESSAGE)
        if channel.holding:
            raise ValueError("hold: the script already holds the device (holds do not nest)")
        channel.request({"type": "hold", "seconds": self._seconds})
        channel.holding = True

    def __exit__(self, *exc_info: object) -> None:
        channel = self._channel
        if channel is not None and channel.holding:
            channel.holding = False
            channel.request({"type": "release"})

    def __repr__(self) -> str:
        return f"hold({self._seconds:g})"


def hold_function(channel: Channel | None) -> Callable[[float], Hold]:
    """The script's ``hold(seconds)``: a context manager holding the device."""

    def hold(seconds: float) -> Hold:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise TypeError(f"hold: seconds must be a number, not {type(seconds).__name__}")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError("hold: seconds must be a positive number")
        return Hold(channel, float(seconds))

    hold.__module__ = "instrument"
    return hold


def device_functions(
    names: Iterable[str], channel: Channel | None
) -> dict[str, Callable[..., Any]]:
    """One proxy per instrument function name (identifiers not starting with ``_``)."""
    functions: dict[str, Callable[..., Any]] = {}
    for name in names:
        if name.isidentifier() and not name.startswith("_"):
            functions[name] = _proxy(name, channel)
    return functions


def _proxy(name: str, channel: Channel | None) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if channel is None:
            raise RuntimeError(NO_DEVICE_MESSAGE)
        return channel.call(name, args, kwargs)

    call.__name__ = call.__qualname__ = name
    call.__module__ = "instrument"
    return call
