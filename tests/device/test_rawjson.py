"""JSON text relayed as a value (remotelab/device/rawjson.py)."""

from __future__ import annotations

import json

import pytest

from remotelab.device.rawjson import RawJSON, dumps, plain


def test_raw_values_are_written_as_their_text_wherever_they_are() -> None:
    body = {
        "result": RawJSON("[[0.0,1e-06],[1.5,2.5]]"),
        "notes": ["x"],
        "nested": [RawJSON("1.25"), {"again": RawJSON('{"a":null}')}],
    }
    text = dumps(body, allow_nan=False)
    assert '"result": [[0.0,1e-06],[1.5,2.5]]' in text
    assert json.loads(text) == {
        "result": [[0.0, 1e-06], [1.5, 2.5]],
        "notes": ["x"],
        "nested": [1.25, {"again": {"a": None}}],
    }


def test_a_string_that_looks_like_the_marker_stays_a_string() -> None:
    # The marker is a NUL and a random token: a user's text cannot name it in advance.
    lookalike = "\x00" + "0" * 16 + ":0"
    text = dumps({"note": lookalike, "result": RawJSON("[1]")})
    assert json.loads(text) == {"note": lookalike, "result": [1]}


def test_without_raw_values_it_is_json_dumps_and_other_types_are_refused() -> None:
    value = {"a": [1, 2.5, "é", None]}
    assert dumps(value) == json.dumps(value)
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        dumps({"a": {1}})
    with pytest.raises(ValueError):
        dumps({"a": float("inf")}, allow_nan=False)


def test_plain_parses_raw_values_only() -> None:
    assert plain(RawJSON('{"x": [1, 2]}')) == {"x": [1, 2]}
    assert plain([1, 2]) == [1, 2]
    assert RawJSON("[1]") == RawJSON("[1]") != RawJSON("[2]")
    assert repr(RawJSON("[1]")) == "RawJSON('[1]')"


def test_the_same_raw_value_twice_and_a_raw_text_that_names_a_marker() -> None:
    same = RawJSON("[1,2]")
    # A raw text holding what looks like a marker is put in once and never searched again.
    tricky = RawJSON('"\\u0000abc:0"')
    text = dumps({"a": same, "b": same, "c": tricky})
    assert json.loads(text) == {"a": [1, 2], "b": [1, 2], "c": "\x00abc:0"}
