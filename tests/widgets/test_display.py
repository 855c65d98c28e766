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
    assert format_number(case["value"], case.get("unit")) == case["expected"]


def test_display_types_are_the_three_of_pslab_remote() -> None:
    assert DISPLAY_TYPES == ("display_number", "display", "update-plot")


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (math.nan, "V", "NaN"),
        (math.inf, "V", "∞ V"),
        (-math.inf, "Hz", "-∞ Hz"),
        (math.inf, None, "∞"),
        (10**400, None, "∞"),  # JavaScript reads it as Infinity
        (10**400, "V", "∞ V"),
        (-(10**400), "V", "-∞ V"),
        (np.float64(2.0), "V", "2.00 V"),
        (np.float32(0.1), "V", "100 mV"),
        (np.int64(-7), None, "-7"),
        (np.float64(1.004e-9), "F", "1.00 nF"),
        (5e-324, "V", "4.94e-324 V"),
    ],
)
def test_python_only_numbers(value: object, unit: str | None, text: str) -> None:
    assert format_number(value, unit) == text


def test_ties_round_away_from_zero_unlike_python_format() -> None:
    # 2.125 and 999.5 are exact in binary: true ties. JavaScript goes up, Python to even.
    assert f"{2.125:.2e}" == "2.12e+00"  # exact in binary: Python rounds to even
    assert format_number(2.125, "V") == "2.13 V"
    assert format_number(999.5, "V") == "1.00 kV"
    assert format_number(0.1255, "V") == "126 mV"  # 0.12550000000000000044 in binary
    assert format_number(9.995, "V") == "9.99 V"  # 9.99499999999999921840 in binary


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
