"""Raw instrument results become JSON that json.dumps always accepts, with notes for inf/nan."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from remotelab.device.functions import ResultError, to_json_safe

CASES: list[tuple[Any, Any, list[str]]] = [
    (None, None, []),
    (True, True, []),
    (3, 3, []),
    (2.5, 2.5, []),
    ("PSLab V6", "PSLab V6", []),
    (np.float64(1.5), 1.5, []),
    (np.float32(0.5), 0.5, []),
    (np.int16(-7), -7, []),
    (np.uint64(2**40), 2**40, []),
    (np.bool_(True), True, []),
    (np.str_("LA1"), "LA1", []),
    ((1, 2.0), [1, 2.0], []),
    ([np.arange(3), np.array([0.5, 1.5])], [[0, 1, 2], [0.5, 1.5]], []),
    (np.array([[1, 2], [3, 4]], dtype=np.int8), [[1, 2], [3, 4]], []),
    (np.array([True, False]), [True, False], []),
    (np.array(2.0), 2.0, []),
    (np.array([], dtype=float), [], []),
    ({"LA1": np.bool_(False), "pv1": None}, {"LA1": False, "pv1": None}, []),
    ({1: "a"}, {"1": "a"}, []),
    (math.inf, None, ["result was inf"]),
    (-math.inf, None, ["result was -inf"]),
    (math.nan, None, ["result was nan"]),
    (np.float64("nan"), None, ["result was nan"]),
    ([1.0, 2.0, 3.0, math.nan], [1.0, 2.0, 3.0, None], ["result[3] was nan"]),
    (
        [np.arange(3.0), np.array([0.0, np.inf, -np.inf])],
        [[0.0, 1.0, 2.0], [0.0, None, None]],
        ["result[1][1] was inf", "result[1][2] was -inf"],
    ),
    (
        np.array([[1.0, np.nan], [np.nan, 4.0]]),
        [[1.0, None], [None, 4.0]],
        ["result[0][1] was nan", "result[1][0] was nan"],
    ),
    ({"pv1": math.nan}, {"pv1": None}, ["result['pv1'] was nan"]),
    (np.array([1, "x"], dtype=object), [1, "x"], []),
]


@pytest.mark.parametrize(
    ("value", "expected", "notes"), CASES, ids=[repr(c[0])[:40] for c in CASES]
)
def test_conversion(value: Any, expected: Any, notes: list[str]) -> None:
    data, got = to_json_safe(value)
    assert data == expected
    assert got == notes
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == expected
    assert _plain(data)


def _plain(value: Any) -> bool:
    """Only the types the json module writes natively, with no numpy subclasses."""
    if value is None or type(value) in (bool, int, float, str):
        return True
    if type(value) is list:
        return all(_plain(v) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def test_notes_are_bounded_and_counted() -> None:
    data, notes = to_json_safe(np.full(50, np.nan), max_notes=3)
    assert data == [None] * 50
    assert notes == [
        "result[0] was nan",
        "result[1] was nan",
        "result[2] was nan",
        "47 more values were not finite and became null",
    ]


def test_too_many_values_is_an_error() -> None:
    to_json_safe(np.zeros(100), max_items=100)
    with pytest.raises(ResultError, match="more than 100 values"):
        to_json_safe(np.zeros(101), max_items=100)
    with pytest.raises(ResultError, match=r"more than 5 values \(at result\[4\]\)"):
        to_json_safe(list(range(10)), max_items=5)


def test_too_deep_is_an_error() -> None:
    nested: Any = 1
    for _ in range(5):
        nested = [nested]
    to_json_safe(nested, max_depth=5)
    with pytest.raises(ResultError, match="nested more than 4 levels"):
        to_json_safe(nested, max_depth=4)
    with pytest.raises(ResultError, match="nested more than 2 levels"):
        to_json_safe([np.zeros((2, 2, 2))], max_depth=2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"raw", "holds a bytes at result"),
        ([1, 2j], r"holds a complex at result\[1\]"),
        (np.complex128(1j), "holds a numpy complex128 at result"),
        (np.array([1j]), "holds a numpy complex128 array at result"),
        ({(1, 2): 3}, "has a tuple key at result"),
        (object(), "holds a object at result"),
    ],
)
def test_what_json_cannot_carry_is_an_error(value: Any, message: str) -> None:
    with pytest.raises(ResultError, match=message) as caught:
        to_json_safe(value)
    assert caught.value.code == "bad_result"
