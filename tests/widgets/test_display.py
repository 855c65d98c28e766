"""format_number(): the shared cases, plus values only Python can produce."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import remotelab.widgets
from remotelab.widgets import DISPLAY_TYPES, format_number

TABLE_PATH = Path(remotelab.widgets.__file__).parent / "stacking_cases.json"
CASES: list[dict[str, Any]] = json.loads(TABLE_PATH.read_text(encoding="utf-8"))[
    "format_number_cases"
]


@pytest.mark.parametrize("case", CASES, ids=[repr(case["value"]) for case in CASES])
def test_table_case(case: dict[str, Any]) -> None:
    assert format_number(case["value"]) == case["expected"]


def test_display_types_are_the_three_of_pslab_remote() -> None:
    assert DISPLAY_TYPES == ("display_number", "display", "update-plot")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (10**400, "Infinity"),
        (-(10**400), "-Infinity"),
        (np.float64(2.0), "2.000"),
        (np.float32(0.1), "0.100"),
        (np.int64(-7), "-7.000"),
    ],
)
def test_python_only_numbers(value: object, text: str) -> None:
    assert format_number(value) == text


def test_ties_round_away_from_zero_unlike_python_format() -> None:
    # 0.0625 is exact in binary: a true tie. toFixed goes up, Python's format to even.
    assert f"{0.0625:.3f}" == "0.062"
    assert format_number(0.0625) == "0.063"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1, 2], "[1,2]"),
        ({"a": "b"}, '{"a":"b"}'),
        ([math.nan], "[nan]"),
        (object, str(object)),
    ],
)
def test_other_values_show_as_text_without_raising(value: object, text: str) -> None:
    assert format_number(value) == text
