"""Framing and value conversion between server and worker (pure)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from remotelab.config import SandboxSettings, WidgetSettings
from remotelab.errors import ConfigError
from remotelab.sandbox.protocol import (
    HEADER,
    Job,
    ProtocolError,
    decode,
    encode,
    from_wire,
    recv_frame,
    send_frame,
    to_wire,
)


def test_frames_round_trip_over_a_socket() -> None:
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, {"type": "x", "value": [1, 2.5, "é", None, float("inf")]})
        message = recv_frame(b, 1000)
        assert message is not None
        assert message["value"][:4] == [1, 2.5, "é", None]
        a.close()
        assert recv_frame(b, 1000) is None


def test_oversized_frame_is_refused() -> None:
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, {"type": "x" * 100})
        with pytest.raises(ProtocolError, match="over the limit"):
            recv_frame(b, 10)


def test_truncated_frame_is_an_error() -> None:
    a, b = socket.socketpair()
    with a, b:
        a.sendall(HEADER.pack(10) + b"{}")
        a.close()
        with pytest.raises(ProtocolError):
            recv_frame(b, 100)


@pytest.mark.parametrize("body", [b"[1]", b"nope", b"[" * 100_000])
def test_decode_wants_an_object(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(body)


def test_encode_is_length_prefixed() -> None:
    frame = encode({"a": 1})
    assert HEADER.unpack(frame[:4]) == (len(frame) - 4,)


def test_to_wire_accepts_data() -> None:
    assert to_wire(("CH1", 100, 1.5, True, None, [1, 2], {"k": np.float64(2)})) == [
        "CH1",
        100,
        1.5,
        True,
        None,
        [1, 2],
        {"k": 2.0},
    ]
    assert to_wire(np.arange(3)) == [0, 1, 2]


@pytest.mark.parametrize(
    "value", [object(), print, np.array([None]), {1: 2}, b"bytes", 1j, np.array(["a"])]
)
def test_to_wire_refuses_everything_else(value: object) -> None:
    with pytest.raises(TypeError, match="instrument function arguments must be"):
        to_wire(value)


def test_to_wire_bounds_nesting() -> None:
    nested: list[object] = []
    for _ in range(100):
        nested = [nested]
    with pytest.raises(TypeError, match="nested too deeply"):
        to_wire(nested)


def test_from_wire_makes_arrays_of_number_lists() -> None:
    x, y = from_wire([[0, 1, 2], [0.5, 1.5, 2.5]])
    assert isinstance(x, np.ndarray) and x.dtype.kind == "i"
    assert isinstance(y, np.ndarray) and y.dtype == np.float64
    assert from_wire([]) == []
    assert from_wire(["a", 1]) == ["a", 1]
    assert from_wire([True, False]) == [True, False]
    assert from_wire({"a": [1.0]})["a"].tolist() == [1.0]
    assert from_wire([2**80]) == [2**80]  # too big for an int64 array: stays a list


def test_to_wire_converts_an_instrument_result_and_refuses_objects() -> None:
    assert to_wire((np.arange(2), np.float32(1.5), {"a": 1})) == [[0, 1], 1.5, {"a": 1}]
    assert to_wire([float("nan"), float("inf")])[1] == float("inf")
    with pytest.raises(TypeError):
        to_wire(object())
    with pytest.raises(TypeError):
        to_wire(np.array([object()]))


def test_a_job_crosses_the_wire_whole() -> None:
    job = Job(
        "print(1)",
        SandboxSettings(wall_seconds=2.5, memory_mb=300),
        ("get_voltage",),
        WidgetSettings(max_widgets=3, max_plot_points=64),
        1000,
    )
    message = decode(encode(job.to_message(device=True, validate=False))[HEADER.size :])
    assert message["type"] == "job"
    assert Job.from_message(message) == job


def test_a_job_with_limits_out_of_range_is_refused() -> None:
    message = Job("x = 1").to_message(device=False, validate=False)
    message["limits"]["nice"] = 40
    with pytest.raises(ConfigError, match="REMOTELAB_SANDBOX_NICE=40"):
        Job.from_message(message)
