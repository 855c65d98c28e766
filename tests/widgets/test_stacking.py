"""stack(): the shared table of cases, plus what only Python inputs can show."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import remotelab.widgets
from remotelab.errors import InputError
from remotelab.widgets import STACKED, StackingError, series_count, stack

TABLE_PATH = Path(remotelab.widgets.__file__).parent / "stacking_cases.json"
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = TABLE["cases"]


def test_the_table_is_big_enough_and_well_formed() -> None:
    assert len(CASES) >= 25
    assert sum("error" in case for case in CASES) >= 10
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in CASES:
        assert set(case) in (
            {"name", "result", "stacking", "expected"},
            {"name", "result", "stacking", "error"},
        ), case["name"]
        if "error" in case:
            assert case["error"] in TABLE["error_reasons"], case["name"]
    # Every documented reason is exercised by at least one case.
    assert {case["error"] for case in CASES if "error" in case} == set(TABLE["error_reasons"])


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_table_case(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(StackingError) as info:
            stack(case["result"], case["stacking"])
        assert info.value.reason == case["error"]
        assert info.value.details == {"reason": case["error"]}
        assert info.value.message  # a sentence for the user, not empty
    else:
        assert stack(case["result"], case["stacking"]) == case["expected"]


def test_stacking_error_is_an_input_error_with_its_own_code() -> None:
    with pytest.raises(InputError) as info:
        stack(None, "xy")
    assert info.value.code == "bad_stacking"
    assert info.value.to_dict() == {
        "code": "bad_stacking",
        "message": info.value.message,
        "details": {"reason": "result_not_list"},
    }


@pytest.mark.parametrize(
    ("result", "stacking", "needle"),
    [
        ([[1, 2]], "xyy", "stacking 'xyy' needs 3 arrays (x and 2 y), but the result has 1"),
        ([[0, 1], [2]], "xy", "result[1] has 1 values but x (result[0]) has 2"),
        ([[0, "a"], [1, 2]], "xy", "result[0][1] is a string ('a'), not a number"),
        ("device not found", "xy", "but the result is a string ('device not found')"),
        ([[0, 1], None], "xy", "result[1] should be an array of numbers, but it is null"),
        ([[[0, True]]], STACKED, "result[0][0][1] is a boolean (true), not a number"),
        ([[[0, 1, 2]]], "foo", "stacking 'foo' is not 'x' followed by 'y's"),
    ],
)
def test_messages_say_what_is_wrong_and_where(result: Any, stacking: str, needle: str) -> None:
    with pytest.raises(StackingError) as info:
        stack(result, stacking)
    assert needle in info.value.message


def test_numbers_come_back_as_floats() -> None:
    series = stack([[0, 1], [2, 3]], "xy")
    assert series == [[[0.0, 2.0], [1.0, 3.0]]]
    assert all(type(v) is float for point in series[0] for v in point)


def test_nan_and_infinities_become_null() -> None:
    result = [[0.0, 1.0, 2.0], [math.nan, math.inf, -math.inf]]
    assert stack(result, "xy") == [[[0.0, None], [1.0, None], [2.0, None]]]
    assert stack([[[math.nan, 1.0]]], STACKED) == [[[None, 1.0]]]


def test_an_int_too_large_for_a_float_becomes_null() -> None:
    assert stack([[0], [10**400]], "xy") == [[[0.0, None]]]


def test_tuples_and_numpy_arrays_are_lists() -> None:
    x = np.array([0, 1, 2], dtype=np.int64)
    y = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    assert stack((x, y), "xy") == [[[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]]]
    assert stack(np.array([[0, 1], [2, 3]]), "xy") == [[[0.0, 2.0], [1.0, 3.0]]]
    assert stack(np.array([[[0, 1], [2, 3]]]), STACKED) == [[[0.0, 1.0], [2.0, 3.0]]]


def test_numpy_odd_values_are_rejected_not_crashed() -> None:
    with pytest.raises(StackingError) as info:
        stack(np.float64(3.0), "xy")
    assert info.value.reason == "result_not_list"
    with pytest.raises(StackingError) as info:
        stack([np.array(1.0), [1]], "xy")
    assert info.value.reason == "array_not_list"
    with pytest.raises(StackingError) as info:
        stack([[np.bool_(True)], [1]], "xy")
    assert info.value.reason == "not_a_number"


@pytest.mark.parametrize(
    ("stacking", "count"),
    [("xy", 1), ("xyy", 2), ("xyyyy", 4), ("x" + "y" * 16, 16)],
)
def test_series_count_of_x_then_ys(stacking: str, count: int) -> None:
    assert series_count(stacking) == count


@pytest.mark.parametrize("stacking", ["", "x", "yx", "XY", "xyx", " xy", "xy ", STACKED])
def test_series_count_is_none_for_anything_else(stacking: str) -> None:
    assert series_count(stacking) is None


def test_general_x_then_n_ys_gives_n_series() -> None:
    n = 7
    result = [[0, 1]] + [[i, i + 1] for i in range(1, n + 1)]
    series = stack(result, "x" + "y" * n)
    assert len(series) == n
    assert series[6] == [[0.0, 7.0], [1.0, 8.0]]


def _garbage(rng: random.Random, depth: int) -> Any:
    choice = rng.randrange(9)
    if depth <= 0 or choice < 3:
        return rng.choice([None, True, 0, 1.5, -2, "x", "", {}, {"a": 1}, math.nan])
    length = rng.randrange(5)
    return [_garbage(rng, depth - 1) for _ in range(length)]


@pytest.mark.parametrize("stacking", ["xy", "xyy", "xyyyy", STACKED])
def test_nested_garbage_gives_series_or_a_stacking_error_never_a_crash(stacking: str) -> None:
    rng = random.Random(f"garbage-{stacking}")  # seeded: the same inputs every run
    outcomes = {"ok": 0, "error": 0}
    for _ in range(2000):
        result = _garbage(rng, 4)
        try:
            series = stack(result, stacking)
        except StackingError:
            outcomes["error"] += 1
        else:
            outcomes["ok"] += 1
            json.dumps(series, allow_nan=False)  # always valid JSON
    assert outcomes["error"] > 0
