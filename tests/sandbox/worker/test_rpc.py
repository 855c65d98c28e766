"""The worker side of the device RPC, driven over a real socket pair.

The test plays the server: it queues the reply before the call (the socket
buffers it), then reads what the worker sent.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import numpy as np
import pytest

from remotelab.sandbox.protocol import recv_frame, send_frame
from remotelab.sandbox.worker.errors import LimitExceeded
from remotelab.sandbox.worker.rpc import Channel, device_functions, hold_function


@pytest.fixture
def pair() -> Iterator[tuple[Channel, socket.socket]]:
    worker, server = socket.socketpair()
    with worker, server:
        yield Channel(worker, max_calls=2, max_frame_bytes=1 << 20), server


def test_call_sends_name_and_arguments_and_returns_the_value(
    pair: tuple[Channel, socket.socket],
) -> None:
    channel, server = pair
    send_frame(server, {"type": "reply", "ok": True, "value": [[0, 1], [0.5, 0.25]]})
    _x, y = channel.call("capture1", ("CH1", np.int64(2)), {"timegap": 1.5})
    assert isinstance(y, np.ndarray) and y.tolist() == [0.5, 0.25]
    assert recv_frame(server, 1 << 20) == {
        "type": "call",
        "name": "capture1",
        "args": ["CH1", 2],
        "kwargs": {"timegap": 1.5},
    }


@pytest.mark.parametrize(
    ("kind", "error"), [("invalid", ValueError), ("failed", RuntimeError), ("limit", LimitExceeded)]
)
def test_errors_come_back_as_plain_exceptions(
    pair: tuple[Channel, socket.socket], kind: str, error: type[BaseException]
) -> None:
    channel, server = pair
    send_frame(server, {"type": "reply", "ok": False, "kind": kind, "message": "no"})
    with pytest.raises(error, match=r"^no$") as info:
        channel.call("get_voltage", (), {})
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_calls_are_capped_before_sending(pair: tuple[Channel, socket.socket]) -> None:
    channel, server = pair
    for _ in range(2):
        send_frame(server, {"type": "reply", "ok": True, "value": 1.0})
        channel.call("get_voltage", (), {})
    with pytest.raises(LimitExceeded, match=r"at most 2"):
        channel.call("get_voltage", (), {})
    server.setblocking(False)
    recv_frame(server, 1 << 20)
    recv_frame(server, 1 << 20)
    with pytest.raises(BlockingIOError):
        recv_frame(server, 1 << 20)  # the third call never left the worker


def test_validate(pair: tuple[Channel, socket.socket]) -> None:
    channel, server = pair
    send_frame(server, {"type": "reply", "ok": False, "kind": "invalid", "message": "bad"})
    with pytest.raises(ValueError, match=r"^bad$"):
        channel.validate("nope()")
    assert recv_frame(server, 1 << 20) == {"type": "validate", "function": "nope()"}


def test_arguments_that_are_not_data_never_leave(pair: tuple[Channel, socket.socket]) -> None:
    channel, _server = pair
    with pytest.raises(TypeError):
        channel.call("get_voltage", (print,), {})
    assert channel.calls == 0


def test_device_functions_are_plain_named_functions() -> None:
    functions = device_functions(["get_voltage", "_hidden", "not a name"], None)
    assert list(functions) == ["get_voltage"]
    assert functions["get_voltage"].__name__ == "get_voltage"


def test_hold_sends_hold_then_release_and_does_not_nest(
    pair: tuple[Channel, socket.socket],
) -> None:
    channel, server = pair
    hold = hold_function(channel)
    send_frame(server, {"type": "reply", "ok": True, "value": None})
    send_frame(server, {"type": "reply", "ok": True, "value": None})
    with hold(2):
        assert channel.holding
        with pytest.raises(ValueError, match="do not nest"), hold(1):
            pass
    assert not channel.holding
    assert recv_frame(server, 1 << 20) == {"type": "hold", "seconds": 2.0}
    assert recv_frame(server, 1 << 20) == {"type": "release"}


def test_hold_refused_by_the_server_is_a_value_error(pair: tuple[Channel, socket.socket]) -> None:
    channel, server = pair
    message = "hold: 30 s is more than the 10 s (REMOTELAB_DEVICE_HOLD_MAX_SECONDS)"
    send_frame(server, {"type": "reply", "ok": False, "kind": "invalid", "message": message})
    with (
        pytest.raises(ValueError, match="REMOTELAB_DEVICE_HOLD_MAX_SECONDS"),
        hold_function(channel)(30),
    ):
        pass
    assert not channel.holding


def test_hold_checks_its_argument_and_needs_the_instrument() -> None:
    hold = hold_function(None)
    for bad, error in (
        (True, TypeError),
        ("2", TypeError),
        (0, ValueError),
        (float("inf"), ValueError),
    ):
        with pytest.raises(error):
            hold(bad)
    with pytest.raises(RuntimeError, match="not available"), hold(1):
        pass
