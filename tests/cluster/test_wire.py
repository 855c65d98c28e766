"""The wire format between fronts and agents (pure)."""

from __future__ import annotations

import pytest

from remotelab.cluster import wire
from remotelab.device.rawjson import RawJSON, plain
from remotelab.errors import (
    DeviceBusy,
    DeviceTimeout,
    DeviceUnavailable,
    FunctionStringError,
    RateLimited,
    RemotelabError,
)


@pytest.mark.parametrize(
    "error",
    [
        DeviceBusy("the queue is full"),
        DeviceUnavailable("the device agent a1 is shutting down; try again"),
        DeviceTimeout("waited too long", details={"hold": {"by": "another user"}}),
        FunctionStringError("get_voltage() has no parameter 'x'", details={"parameter": "x"}),
    ],
)
def test_an_error_comes_back_as_its_own_class_with_its_message(error: RemotelabError) -> None:
    with pytest.raises(type(error)) as raised:
        wire.reply_value(wire.error(error))
    assert type(raised.value) is type(error)
    assert raised.value.message == error.message
    assert raised.value.details == error.details
    assert raised.value.code == error.code


def test_an_error_of_a_class_with_arguments_of_its_own_keeps_its_code() -> None:
    with pytest.raises(RemotelabError) as raised:
        wire.reply_value(wire.error(RateLimited("slow down", retry_after=2.0)))
    assert raised.value.code == "rate_limited"
    assert raised.value.message == "slow down"


def test_an_unknown_code_is_kept_on_a_plain_error() -> None:
    error = wire.error_from({"code": "from_the_future", "message": "new"})
    assert type(error) is RemotelabError
    assert error.code == "from_the_future"


def test_a_value_comes_back_as_sent() -> None:
    assert wire.reply_value(wire.ok({"result": [1.5, None], "notes": []})) == {
        "result": [1.5, None],
        "notes": [],
    }


def test_nan_is_refused_before_it_is_sent() -> None:
    with pytest.raises(ValueError):
        wire.encode({"args": {"v": float("nan")}})


def test_a_stream_id_names_the_configuration_whatever_the_order_of_its_fields() -> None:
    one = wire.stream_id("oscilloscope", {"channels": 1, "samples": 500, "timegap": 2})
    two = wire.stream_id("oscilloscope", {"timegap": 2, "samples": 500, "channels": 1})
    other = wire.stream_id("oscilloscope", {"channels": 1, "samples": 501, "timegap": 2})
    assert one == two != other
    assert len(one) == 16 and wire.frames_subject("a1", one) == f"remotelab.frames.a1.{one}"


def test_a_calls_result_crosses_as_json_text_beside_its_answer() -> None:
    answer = {"function": "capture1", "notes": [], "elapsed_ms": 1.5, "changed": []}
    result = [[0.0, 1e-06], [0.5, -3.25]]
    got, raw = wire.call_reply_value(wire.call_reply(answer, result))
    assert got == answer
    assert raw == RawJSON("[[0.0,1e-06],[0.5,-3.25]]")
    assert plain(raw) == result
    # A text result with a newline in it stays one JSON string (encoded as \n).
    _, text = wire.call_reply_value(wire.call_reply(answer, "a\nb"))
    assert plain(text) == "a\nb"


def test_a_calls_error_comes_back_as_its_class_and_a_reply_without_result_is_refused() -> None:
    with pytest.raises(DeviceBusy):
        wire.call_reply_value(wire.error(DeviceBusy("the queue is full")))
    with pytest.raises(ValueError, match="without its result"):
        wire.call_reply_value(wire.ok({"function": "get_voltage", "result": 1.0}))
    with pytest.raises(ValueError):
        wire.call_reply(answer={}, result=float("nan"))


@pytest.mark.parametrize(
    "reply",
    [
        b"[1, 2]",
        b"null",
        b"{}",
        b'{"error": "text, not an object"}',
        b"not json",
        b'{"ok": {}}\n[1]',
        b'{"ok": {"function": "f", "notes": [], "changed": []}}\n',
        b'{"ok": {"function": "f", "notes": [], "changed": []}}\n  ',
        b'{"ok": {"function": 1, "notes": [], "changed": []}}\n[1]',
    ],
)
def test_a_reply_of_another_shape_is_a_value_error(reply: bytes) -> None:
    """The front turns a ValueError into a 503 naming the device (never a 500)."""
    with pytest.raises(ValueError):
        wire.call_reply_value(reply)
