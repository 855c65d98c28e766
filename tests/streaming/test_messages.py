"""The stream protocol with no I/O: message validation and the frame format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from remotelab.streaming.messages import (
    HEADER,
    MeterConfig,
    Ping,
    ProtocolError,
    ScopeConfig,
    Subscribe,
    Unsubscribe,
    decode_frame,
    encode_frame,
    parse_client_message,
)


def parse(message: object) -> object:
    raw = message if isinstance(message, str | bytes) else json.dumps(message)
    return parse_client_message(raw, max_bytes=4096, max_rate=20)


def test_good_messages() -> None:
    sub = parse(
        {
            "type": "subscribe",
            "id": "s1",
            "instrument": "oscilloscope",
            "config": {"channels": 1, "samples": 1000, "timegap": 1, "trigger": 0},
        }
    )
    assert sub == Subscribe("s1", "oscilloscope", ScopeConfig(1, 1000, 1.0, 0.0, None, None))
    meter = parse(
        {
            "type": "subscribe",
            "id": "m",
            "instrument": "multimeter",
            "config": {"channel": "ch3", "rate": 5},
        }
    )
    assert meter == Subscribe("m", "multimeter", MeterConfig("CH3", 5.0))
    assert parse({"type": "unsubscribe", "id": "s1"}) == Unsubscribe("s1")
    assert parse({"type": "ping", "data": 7}) == Ping(7)


def test_equal_configurations_share_a_key() -> None:
    a = parse(
        {
            "type": "subscribe",
            "id": "a",
            "instrument": "multimeter",
            "config": {"channel": "CH1", "rate": 2},
        }
    )
    b = parse(
        {
            "type": "subscribe",
            "id": "b",
            "instrument": "multimeter",
            "config": {"channel": "ch1", "rate": 2.0},
        }
    )
    assert isinstance(a, Subscribe) and isinstance(b, Subscribe)
    assert a.key == b.key


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("{nope", "malformed JSON"),
        ("[1, 2]", "a message must be a JSON object"),
        ("null", "a message must be a JSON object"),
        (b"\x00\x01", "binary messages are not accepted"),
        ({"type": "dance"}, "unknown message type 'dance'"),
        ({"type": "subscribe"}, "subscribe: 'id' is missing"),
        ({"type": "subscribe", "id": ""}, "'id' must have 1 to 64 characters"),
        ({"type": "subscribe", "id": 5}, "'id' must be text"),
        ({"type": "subscribe", "id": "\ud800"}, "'id' must be valid Unicode"),
        ({"type": "unsubscribe", "id": "a\udfffb"}, "'id' must be valid Unicode"),
        ({"type": "subscribe", "id": "x", "instrument": "laser"}, "unknown instrument 'laser'"),
        (
            {"type": "subscribe", "id": "x", "instrument": "oscilloscope"},
            "oscilloscope config must be an object",
        ),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "oscilloscope",
                "config": {"channels": 1, "timegap": 1},
            },
            "'samples' is missing",
        ),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "oscilloscope",
                "config": {"channels": True, "samples": 10, "timegap": 1},
            },
            "not a boolean",
        ),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "multimeter",
                "config": {"channel": "CH1", "rate": 1000},
            },
            "'rate' must be above 0 and at most 20",
        ),
        ({"type": "unsubscribe"}, "unsubscribe: 'id' is missing"),
        ("x" * 5000, "message too long"),
        ("[" * 2000 + "]" * 2000, "nested too deeply"),
        ('{"type": "ping", "data": ' + "[" * 40 + "]" * 40 + "}", "nested too deeply"),
        # Found by the stream fuzzer: echoed back, these made answers that are not JSON, and
        # integers too large for a float closed the connection (OverflowError).
        ('{"type": "ping", "data": [Infinity]}', "Infinity is not a JSON number"),
        ('{"type": "ping", "data": NaN}', "NaN is not a JSON number"),
        ('{"type": "ping", "data": -1e400}', "-1e400 is out of range"),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "oscilloscope",
                "config": {"channels": 1, "samples": 10, "timegap": 10**400},
            },
            "'timegap' is out of range",
        ),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "oscilloscope",
                "config": {"channels": 1, "samples": 10, "timegap": 1, "trigger": -(10**400)},
            },
            "'trigger' is out of range",
        ),
        (
            {
                "type": "subscribe",
                "id": "x",
                "instrument": "multimeter",
                "config": {"channel": "CH1", "rate": 10**400},
            },
            "'rate' is out of range",
        ),
    ],
)
def test_bad_messages_name_the_problem(message: object, error: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(message)
    assert error in info.value.message


def test_frames_round_trip_compactly() -> None:
    t = np.linspace(0, 1e-3, 1000)
    y = 3.3 * np.sin(2 * np.pi * 1000 * t)
    data = encode_frame("scope", 42, 1700000000.5, 0.0, 1.0, [y])
    frame = decode_frame(data)
    assert (frame.id, frame.seq, frame.timestamp, frame.x0, frame.dx) == (
        "scope",
        42,
        1700000000.5,
        0.0,
        1.0,
    )
    assert np.max(np.abs(frame.channels[0] - y)) < 6.6 / 65535
    assert len(data) == HEADER.size + len("scope") + 8 + 2 * 1000
    assert len(data) / 1000 <= 2.2


def test_float_frames_and_flat_signals() -> None:
    frame = decode_frame(encode_frame("m", 0, 1.0, 0, 0, [[1.25]], compact=False))
    assert frame.channels[0].tolist() == [1.25]
    flat = decode_frame(encode_frame("f", 0, 1.0, 0, 1, [np.full(10, 2.0), np.zeros(10)]))
    assert np.allclose(flat.channels[0], 2.0) and np.allclose(flat.channels[1], 0.0)


def test_not_a_frame() -> None:
    with pytest.raises(ProtocolError, match="not a remotelab frame"):
        decode_frame(b"hello")
